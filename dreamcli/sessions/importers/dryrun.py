"""`sessions import --dry-run`: read every transcript as an import would, write nothing, and report per
file what would be imported and what this importer does not know (line types it has never seen), so a
user can check what a new release of their agent writes before trusting a dream on it. A transcript that
grew since it was imported is reported as the import would treat it (`updated`, or `changed_since_import`):
its conversion is staged to be compared with the stored session, as the import does, then deleted."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path
from typing import Any

from dreamcli.redaction import for_patterns
from dreamcli.sessions.importers.common import Transcript
from dreamcli.sessions.importers.context import UnitResult
from dreamcli.sessions.importers.journal import staging_dir
from dreamcli.sessions.importers.lines import LineCounts
from dreamcli.sessions.importers.plan import format_module, plan_import
from dreamcli.sessions.importers.units import Converter
from dreamcli.workspace.home import Workspace

NAME_LIMIT = 80  # a line type read from a file is untrusted text: shortened and redacted before it is shown


def dry_run_import(ws: Workspace, source: str, path: Path | None = None, *,
                   redaction_patterns: tuple[str, ...] | list[str] = ()) -> dict[str, Any]:
    """What `import_transcripts` would do, file by file, without writing anything. Every string is redacted
    (the paths read, as the import records them in each session's `import.path`; the line types)."""
    fmt = format_module(source)
    root = Path(path).expanduser() if path is not None else fmt.default_path()
    plan = plan_import(source, root)
    redactor = for_patterns(tuple(redaction_patterns))
    staging = staging_dir(ws)  # only a grown transcript is staged here (swept like an import's if killed)
    conv = Converter(ws, staging, redactor, source, fmt, dry_run=True)
    by_path: dict[str, dict[str, Any]] = {}
    replaced: dict[str, list[str]] = {}
    for f in plan.empty:
        by_path[str(f)] = {"path": str(f), "transcript": False, "empty": True, "lines": _lines(LineCounts(), redactor)}
    try:
        for unit in plan.units:
            for r in conv.unit(unit):
                if r.transcript is None:
                    by_path[r.path] = {"path": r.path, "transcript": False, "empty": r.counts.lines == 0,
                                       "lines": _lines(r.counts, redactor)}
                else:
                    by_path[r.path] = _report(r.transcript, r, redactor)
                    replaced[r.path] = r.replacing
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        with contextlib.suppress(OSError):
            staging.parent.rmdir()
    reports = [by_path[str(f)] for f in plan.files if str(f) in by_path]
    updated = [sid for f in plan.files for sid in replaced.get(str(f), [])]
    unknown: dict[str, int] = {}
    for report in reports:
        for name, n in report["lines"]["unknown"].items():
            unknown[name] = unknown.get(name, 0) + n
    would = [r for r in reports if r.get("sessions")]
    return redactor.redact_obj({
        "version": 1, "dry_run": True, "source": source, "path": str(root), "files": len(plan.files),
        "transcripts": sum(1 for r in reports if r["transcript"]),
        "sessions": sum(r.get("sessions", 0) for r in reports),
        "already_imported": sum(1 for r in reports if r.get("already_imported")),
        "updated": len(updated), "updated_session_ids": updated[:1000],  # sessions it would replace, as the import
        "changed_since_import": sum(1 for r in reports if r.get("changed_since_import")),
        "files_with_unknown_lines": sum(1 for r in reports if r["lines"]["unknown"]),
        "unknown": dict(sorted(unknown.items(), key=lambda kv: -kv[1])),
        "would_import": len(would), "reports": reports,
        "skipped_files": [s.to_json() for s in plan.skipped],  # files that are not transcripts of the format
    })


def _report(t: Transcript, r: UnitResult, redactor: Any) -> dict[str, Any]:
    totals = r.totals
    return {
        "path": str(t.path), "transcript": True, "source_id": redactor.redact_text(t.source_id)[:200],
        "session_id": t.session_id, "start": t.start_ts, "format_version": t.version,
        "already_imported": bool(r.existing) and t.session_id in r.existing,
        "updated": len(r.replacing), "changed_since_import": r.changed,
        "sessions": len(r.planned), "children": len(r.children), "events": r.events,
        "statuses": dict(r.statuses),
        "totals": {"turns": totals.turns, "tool_calls": totals.tool_calls, "tool_errors": totals.tool_errors,
                   "tool_unanswered": r.tool_unanswered, "input_tokens": totals.input_tokens,
                   "output_tokens": totals.output_tokens},
        "lines": _lines(r.counts, redactor),
    }


def _lines(c: LineCounts, redactor: Any) -> dict[str, Any]:
    def names(counter: Any) -> dict[str, int]:
        return {redactor.redact_text(str(k)[:NAME_LIMIT]): v for k, v in sorted(counter.items())}

    return {"read": c.lines, "imported": c.imported, "ignored": names(c.ignored), "unknown": names(c.unknown),
            "corrupt": c.corrupt, "truncated": c.truncated, "malformed": c.malformed}
