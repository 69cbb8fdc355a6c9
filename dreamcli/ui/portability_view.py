"""Rendering for transcript imports and playbook export/import: progress and summaries."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from dreamcli.ui.console import err, is_interactive, neutralise_controls, note, out, print_block, safe_markup
from dreamcli.ui.plural import count, plural
from dreamcli.ui.prose import print_hanging


@contextmanager
def import_progress(title: str) -> Iterator[Callable[[Any], None] | None]:
    """A progress callback drawing a bar on stderr when it is a terminal; None otherwise."""
    import sys

    if not (sys.stderr.isatty() and is_interactive()):
        yield None
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TextColumn("{task.fields[files]}"),
                  TimeRemainingColumn(), console=err(), transient=True) as bar:
        task = bar.add_task(title, total=None, files="")

        def update(p: Any) -> None:
            bar.update(task, total=p.bytes_total, completed=min(p.bytes_done, p.bytes_total),
                       files=f"{p.files_done}/{p.files_total} files")

        yield update


def _size(n: int) -> str:
    for unit, div in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= div:
            return f"{n / div:,.1f} {unit}"
    return f"{n} B"


def _n(value: int) -> str:
    return f"{value:,}"


def _plain(value: Any) -> str:
    """A value from a bundle (untrusted) on one line, its control characters shown as escapes."""
    return neutralise_controls("" if value is None else str(value), one_line=True)


def render_import_summary(s: Any, prefix: str = "dreamcli") -> None:
    """The end-of-import summary: what was imported, skipped, and why (line types and statuses are named
    by the transcripts, untrusted: markup escaped, control characters shown as escapes, one line each).
    `prefix` starts the commands of the "next:" hint (`dreamcli --home ROOT` when --home chose the
    workspace, so the hint works when copied)."""
    from rich.table import Table

    con = out()
    lines = s.lines
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("source", f"{safe_markup(s.source, one_line=True)}  ({safe_markup(s.path, one_line=True)})")
    table.add_row("transcripts", f"{_n(s.transcripts)} of {_n(s.files)} files ({_n(s.empty)} empty, "
                                 f"{_n(getattr(s, 'without_messages', 0))} without messages)")
    table.add_row("sessions", f"{_n(s.sessions)} imported ({_n(s.children)} sub-agent sessions); "
                              f"{_n(s.already_imported)} transcripts were imported before")
    updated = getattr(s, "updated", 0)
    if updated:
        table.add_row("", f"{_n(updated)} {plural(updated, 'session')} updated: "
                          f"{'its transcript' if updated == 1 else 'their transcripts'} grew since "
                          f"{'it was' if updated == 1 else 'they were'} imported (re-imported whole)")
    if s.changed_since_import:
        table.add_row("", f"[yellow]{_n(s.changed_since_import)} transcripts changed since they were imported "
                          "(kept as imported: not a continuation of the stored session)[/]")
    table.add_row("lines", f"{_n(lines.lines)} read, {_n(lines.imported)} imported, "
                           f"{_n(sum(lines.ignored.values()))} without content (summaries, snapshots, …)")
    skipped = lines.corrupt + lines.truncated + lines.malformed + sum(lines.unknown.values())
    if skipped:
        detail = []
        if lines.corrupt:
            detail.append(f"{_n(lines.corrupt)} corrupt")
        if lines.truncated:
            detail.append(f"{_n(lines.truncated)} cut off")
        if lines.malformed:
            detail.append(f"{_n(lines.malformed)} malformed")
        if lines.unknown:
            kinds = safe_markup(", ".join(f"{k} ×{v}" for k, v in sorted(lines.unknown.items(),
                                                                          key=lambda kv: -kv[1])[:5]), one_line=True)
            detail.append(f"{_n(sum(lines.unknown.values()))} of unknown types ({kinds})")
        table.add_row("skipped", "[yellow]" + "; ".join(detail) + "[/]")
    t = s.totals
    table.add_row("usage", f"{_n(t.turns)} model turns, {_n(t.input_tokens)} input + {_n(t.output_tokens)} "
                           f"output tokens, {_n(t.cache_read_tokens)} cache reads")
    unanswered = getattr(s, "tool_unanswered", 0)
    table.add_row("tools", f"{_n(t.tool_calls)} {plural(t.tool_calls, 'call')}, "
                           f"{_n(t.tool_errors)} {plural(t.tool_errors, 'error')}"
                           + (f", {_n(unanswered)} without a result" if unanswered else ""))
    statuses = getattr(s, "statuses", None)
    if statuses:
        table.add_row("ended", safe_markup(", ".join(f"{k} {_n(v)}" for k, v in sorted(statuses.items(),
                                                                                      key=lambda kv: -kv[1])),
                                           one_line=True))
    table.add_row("read", f"{_size(s.bytes)} in {s.seconds:.1f} s ({s.mb_per_s:.1f} MB/s)")
    print_block(con, table)
    if s.sessions:
        note(f"next: {prefix} sessions list --limit 20   ·   {prefix} dream --offline")


def render_import_dry_run(report: dict[str, Any]) -> None:
    """`sessions import --dry-run`: one line per file (what would be imported, unknown line types). File
    names, statuses and line types come from the transcripts: each shown on its one line, as text."""
    con = out()
    for r in report["reports"]:
        unknown = r["lines"]["unknown"]
        note = ("  [yellow]unknown: " + safe_markup(", ".join(f"{k} ×{v}" for k, v in unknown.items()),
                                                    one_line=True) + "[/]"
                if unknown else "")
        if not r["transcript"]:
            what = "empty" if r["empty"] else f"no messages ({_n(r['lines']['read'])} lines)"
        elif r["already_imported"]:
            what = "imported before" + (" (changed since: kept as imported)" if r.get("changed_since_import") else "")
        else:
            t = r["totals"]
            lead = f"{r['sessions']} session(s)"
            if r.get("updated"):  # grew since it was imported: re-imported whole, as the import would
                lead = (f"{r['updated']} session(s) updated, grew since imported"
                        + (f", and {r['sessions']} new" if r["sessions"] else "") + ":")
            what = (f"{lead} {', '.join(r['statuses'])}; {_n(t['turns'])} turns, "
                    f"{_n(t['tool_calls'])} tool {plural(t['tool_calls'], 'call')} ({_n(t['tool_errors'])} "
                    f"{plural(t['tool_errors'], 'error')}, "
                    f"{_n(t['tool_unanswered'])} unanswered)")
        print_hanging(con, f"{safe_markup(r['path'], one_line=True)}: {safe_markup(what, one_line=True)}{note}")
    updated = report.get("updated", 0)
    also = f"; {count(updated, 'session')} would be updated (grew since imported)" if updated else ""
    err().print(f"dry run: {report['sessions']} sessions would be imported from {report['would_import']} files{also}; "
                f"{report['files_with_unknown_lines']} files have unknown line types; nothing was written",
                style="dim")


def render_export_result(r: Any) -> None:
    """What an export wrote (a message on stderr: the export itself may be on stdout)."""
    names = ", ".join(f"{p['name']} v{p['version']} ({count(p['entries'], 'entry')})" for p in r.playbooks)
    where = "stdout" if r.output == "-" else str(r.output)
    extra = []
    if r.history:
        extra.append("with history")
    if r.sessions or r.missing_sessions:
        extra.append(count(r.sessions, "session") + (f", {len(r.missing_sessions)} not found"
                                                 if r.missing_sessions else ""))
    tail = f" ({'; '.join(extra)})" if extra else ""
    files = f"{r.files} file{'' if r.files == 1 else 's'}"
    err().print(_plain(f"exported {names} as {r.format} to {where}: {files}, {_size(r.bytes)}{tail}"),
                markup=False, highlight=False)


_SHOWN = 10  # entry ids named per line; --json and the audit record have them all
_ACTION_STYLE = {"added": "green", "merged": "cyan", "replaced": "yellow", "unchanged": "dim", "refused": "red"}


def render_bundle_import(r: Any) -> None:
    """One row per playbook of the bundle: what happened, versions, entries added, combined (metadata widened),
    folded (the same text under another id), removed (a replace) and in conflict; then a line for each fold,
    each replace that removed entries or put an older version live, and each conflict."""
    from rich.table import Table

    m = r.manifest
    err().print(f"bundle {_plain(r.bundle)} (playbooks as of {_plain(m.get('created'))}, exported by dreamcli "
                f"{_plain(m.get('dreamcli_version'))}), mode {_plain(r.mode)}", markup=False, highlight=False)
    table = Table(box=None, header_style="bold", pad_edge=False)
    counted = ("added", "combined", "folded", "removed", "conflicts")
    for col in ("playbook", "result", "version", *counted):
        table.add_column(col, justify="right" if col in counted else "left")
    for p in r.playbooks:
        folded, removed = getattr(p, "folded", []), getattr(p, "removed", [])
        style = _ACTION_STYLE.get(p.action, "")
        before = "-" if p.version_before is None else f"v{p.version_before}"
        after = "-" if p.version_after is None else f"v{p.version_after}"
        action = safe_markup(p.action, one_line=True)
        table.add_row(safe_markup(p.name, one_line=True), f"[{style}]{action}[/]" if style else action,
                      safe_markup(f"{before} → {after}", one_line=True), str(len(p.added)),
                      str(len(p.updated)), str(len(folded)), f"[yellow]{len(removed)}[/]" if removed else "0",
                      f"[yellow]{len(p.conflicts)}[/]" if p.conflicts else "0")
    print_block(out(), table)
    for p in r.playbooks:
        for f in getattr(p, "folded", []):
            err().print(f"folded in {_plain(p.name)}: the bundle's [{_plain(f['id'])}] has the text of the local "
                        f"[{_plain(f['local_id'])}] (kept as [{_plain(f['local_id'])}])", markup=False,
                        highlight=False)
        removed, older = getattr(p, "removed", []), getattr(p, "older", False)
        if removed or older:
            bundle = (f" with the bundle's v{p.bundle_version}, older than the live v{p.version_before}"
                      if older else "")
            gone = (f": removed {count(len(removed), 'entry')} ({', '.join(removed[:_SHOWN])}"
                    f"{f' +{len(removed) - _SHOWN}' if len(removed) > _SHOWN else ''})" if removed else "")
            err().print(_plain(f"replaced {p.name}{bundle}{gone}"), markup=False, highlight=False)
        for c in p.conflicts:
            err().print(f"conflict in {_plain(p.name)} [{_plain(c['id'])}]: kept the local text; the bundle has: "
                        f"{_plain(c['incoming'][:200])}", markup=False, highlight=False)
    for p in r.playbooks:
        for label, key in (("refused", "refused"), ("forced", "forced"), ("lint warning in", "lint_warnings")):
            for f in getattr(p, key, ()):
                err().print(_flagged_line(label, p.name, f), markup=False, highlight=False)
    redacted = sum(p.secrets_redacted for p in r.playbooks)
    if redacted:
        err().print(f"secrets redacted in {count(redacted, 'file')} of the bundle's playbooks (live and history)",
                    markup=False, highlight=False)
    if r.sessions_added or r.sessions_present:
        err().print(f"sessions: {r.sessions_added} added, {r.sessions_present} already here",
                    markup=False, highlight=False)


def _flagged_line(label: str, playbook: str, f: Any) -> str:
    """One line for what lint flagged: playbook (refused as a whole for its description or a heading),
    entry or part, where in the bundle (older versions), findings."""
    where = ""
    if f.history:
        versions = ", ".join(f"v{v}" for v in f.history)
        where = f" ({'also in ' if f.live else ''}history {versions})"
    whole = " (the whole playbook):" if label == "refused" and f.part != "entry" else ""
    return _plain(f"{label} {playbook}{whole} {f.where()}{where}: {f.reason()}")
