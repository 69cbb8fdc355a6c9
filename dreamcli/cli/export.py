"""`dreamcli export` and `dreamcli import`: approved playbooks out in portable formats, bundles back in."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from dreamcli.cli.common import config, open_workspace, print_json
from dreamcli.cli.waits import check_wait
from dreamcli.errors import UsageError, WorkFailed

if TYPE_CHECKING:
    from dreamcli.portability.parquet_lines import LeftOut

# What `-o -` does not write to a terminal, as gzip does not: bytes that would garble it (parquet never goes
# to stdout: `export sessions` needs a DIR).
BINARY_FORMATS = ("bundle",)
EXPORT_HELP = ("Export approved playbooks (and optionally the sessions behind their entries) in portable "
               "formats: bundle, json, claude-md, agents-md, memory-dir.")
IMPORT_HELP = ("Import a playbook bundle made by `dreamcli export`: checksums verified, nothing changed "
               "unless all of it is good, entries linted, recorded in the audit log.")
EXPORT_EPILOG = """Formats:

\b
  bundle      directory, or .tar.gz when -o ends in .tar.gz/.tgz (or -o -;
              a plain .tar name is refused):
              playbooks/*.md as they are, manifest.json with versions,
              sha256 of every file and provenance
  json        one JSON document: entries with their metadata and each
              playbook's markdown
  claude-md   a CLAUDE.md-ready file (entry texts by section, no ids);
              --into FILE updates only dreamcli's block in an existing file
  agents-md   the same for AGENTS.md
  memory-dir  memories/index.md plus one small file per section, for a
              memory store

Examples:

\b
  dreamcli export -o playbooks.tar.gz --history --include-sessions
  dreamcli export --format claude-md --into CLAUDE.md
  dreamcli export --format claude-md --playbook legal -o -  >> CLAUDE.md
  dreamcli export --format memory-dir -o ./memory-export
"""
IMPORT_EPILOG = """\b
--merge (default): new entries are added; for entries both sides have, the
local text is kept (a different incoming text is reported as a conflict) and
counts and sources are combined.
--replace: each playbook in the bundle replaces the local one of the same name
(as a new version; the old one stays in history). Playbooks the bundle does
not mention are left alone.
What would go live is linted as a dream's proposals are (lint: in
config.yaml): an entry with a blocking finding is left out, named on one line
with its findings, and the import exits 1; the rest still imports. A blocking
finding in a playbook's description or a section heading refuses that whole
playbook. --force imports them anyway (recorded as forced in the audit log).

Examples:

\b
  dreamcli import playbooks.tar.gz
  dreamcli import ./bundle-dir --replace --json
  dreamcli import playbooks.tar.gz --force
"""


def _terminal(stream: Any) -> bool:
    """Whether `stream` (stdout: None when the command starts with it closed) is a terminal."""
    try:
        return stream is not None and bool(stream.isatty())
    except (ValueError, OSError):  # closed, or not a real file
        return False


def _export_sessions(ctx: typer.Context, what: list[str], fmt: str, output: str | None, force: bool,
                     as_json: bool) -> None:
    """`dreamcli export sessions --format parquet DIR` (docs/session-log.md, "Parquet export")."""
    if what[0] != "sessions" or len(what) > 2:
        raise UsageError(f"export: unexpected argument {' '.join(what)!r} (did you mean `export sessions DIR`?)")
    if fmt != "parquet":
        raise UsageError("export sessions: --format parquet is the one format for sessions")
    target = what[1] if len(what) == 2 else output
    if not target or target == "-":
        raise UsageError("export sessions: name the output directory (export sessions --format parquet DIR)")
    from dreamcli.portability.parquet import export_parquet
    from dreamcli.redaction import for_config
    from dreamcli.ui.grade_view import progress

    ws = open_workspace(ctx, create=False)
    # thousands of sessions from a bucket take minutes: a bar on a terminal, as `dream` has; nothing on a
    # pipe, and none with --json (as `dream --json`)
    with contextlib.ExitStack() as stack:
        bar: Any = None if as_json else stack.enter_context(progress("export: reading sessions"))

        def advance(done: int, total: int) -> None:
            bar.update(completed=done, total=total)

        result = export_parquet(ws, Path(target), for_config(config(ctx)), force=force,
                                progress=None if as_json else advance)
    if as_json:
        print_json({"version": 1, "format": "parquet", **result.to_json()})
    else:
        from dreamcli.ui.console import info

        info(f"Exported {result.events} events of {result.sessions} sessions to {result.output} "
             f"({result.partitions} date partitions)")
    _note_left_out(result.left_out)


def _note_left_out(left: LeftOut) -> None:
    """What the dataset lacks, on stderr (with --json too, as `sessions list` notes what it skips): lines
    by reason, sessions with no line kept, and the first place, so a reader can look."""
    from dreamcli.portability.parquet_lines import REASONS
    from dreamcli.ui.console import note

    if not left.lines and not left.sessions:
        return
    said = []
    if left.lines:
        reasons = ", ".join(f"{n} {REASONS[r]}" for r in REASONS if (n := getattr(left, r)))
        said.append(f"{left.lines} line{'' if left.lines == 1 else 's'} ({reasons})")
    if left.sessions:
        said.append(f"{left.sessions} session{'' if left.sessions == 1 else 's'} with no event to export")
    note(f"note: left out of the dataset: {'; '.join(said)}, e.g. {left.example}")


def _export_into(ctx: typer.Context, into: Path, fmt: str, names: list[str] | None, as_json: bool) -> None:
    from dreamcli.portability.into import export_into

    ws = open_workspace(ctx, create=False)
    result = export_into(ws, into.expanduser(), fmt=fmt, names=names)
    if as_json:
        print_json({"version": 1, **result.to_json()})
        return
    from dreamcli.ui.console import info

    what = "created" if result.created else ("updated" if result.changed else "already up to date:")
    info(f"{what} {result.path} (dreamcli block, {len(result.playbooks)} playbook(s))")


def register(app: typer.Typer, sub: str | None = None) -> None:
    """Add the command to `app` (`sub`, the word after it, only matters to a group)."""
    @app.command("export", help=EXPORT_HELP, epilog=EXPORT_EPILOG,
                 short_help="Export approved playbooks (and sessions).")
    def export_cmd(
        ctx: typer.Context,
        what: list[str] = typer.Argument(None, metavar="[sessions DIR]", help="`sessions DIR` with --format "
                                         "parquet: every session event as a row, partitioned by date."),
        playbook: list[str] = typer.Option(None, "--playbook", metavar="NAME",
                                           help="Export this playbook (repeat for more; default: all)."),
        fmt: str = typer.Option("bundle", "--format", "-f", metavar="FORMAT",
                                help="bundle, json, claude-md, agents-md or memory-dir (parquet: `export "
                                     "sessions`)."),
        output: str = typer.Option(None, "--output", "-o", metavar="PATH",
                                   help="Where to write; '-' for stdout (default: a file or directory "
                                        "named after the format in the current directory)."),
        history: bool = typer.Option(False, "--history", help="Bundle: include every approved version."),
        include_sessions: bool = typer.Option(False, "--include-sessions",
                                              help="Bundle or json: add the sessions the entries came from "
                                                   "(redacted)."),
        force: bool = typer.Option(False, "--force", help="Overwrite an existing output file (parquet: replace "
                                   "a previous dataset in DIR)."),
        into: Path = typer.Option(None, "--into", metavar="FILE", help="claude-md or agents-md: update only "
                                  "dreamcli's marked block in FILE (e.g. CLAUDE.md), keeping your text."),
        as_json: bool = typer.Option(False, "--json", help="Print what was exported as JSON."),
    ) -> None:
        if into is not None:
            if output is not None or what:
                raise UsageError("--into FILE writes into that file; it does not go with -o or `sessions`")
            _export_into(ctx, into, fmt, playbook or None, as_json)
            return
        if what:
            _export_sessions(ctx, what, fmt, output, force, as_json)
            return
        from dreamcli.portability import export_playbooks
        from dreamcli.ui.portability_view import render_export_result

        if as_json and output == "-":
            raise UsageError("--json and -o - both want stdout; write the export to a file")
        if output == "-" and fmt in BINARY_FORMATS and _terminal(sys.stdout):
            raise UsageError("refusing to write a binary bundle to a terminal; redirect stdout or give -o FILE")
        ws = open_workspace(ctx, create=False)
        result = export_playbooks(ws, fmt=fmt, output=output, names=playbook or None,
                                  include_history=history, include_sessions=include_sessions, force=force,
                                  redaction_patterns=tuple(config(ctx).redaction.patterns))
        if as_json:
            print_json({"version": 1, **result.to_json()})
            return
        render_export_result(result)

    @app.command("import", help=IMPORT_HELP, epilog=IMPORT_EPILOG,
                 short_help="Import a playbook bundle made by export.")
    def import_cmd(
        ctx: typer.Context,
        bundle: str = typer.Argument(..., help="A bundle directory or .tar.gz."),
        merge: bool = typer.Option(True, "--merge/--replace",
                                   help="Merge into local playbooks (default) or replace them."),
        wait: float = typer.Option(None, "--wait", metavar="SECONDS", callback=check_wait,
                                   help="Wait this long for another playbook change to finish (-1: forever; "
                                        "default: fail at once with exit 75)."),
        force: bool = typer.Option(False, "--force", help="Import entries, descriptions and headings despite "
                                   "blocking lint findings (injected instructions, control characters, ...); "
                                   "audited as forced."),
        as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    ) -> None:
        from dreamcli.portability import import_bundle
        from dreamcli.ui.portability_view import render_bundle_import

        ws = open_workspace(ctx)
        result = import_bundle(ws, Path(bundle), mode="merge" if merge else "replace", wait=wait, force=force)
        from dreamcli.cli.playbooks_decide import warn_hand_edit

        for p in result.playbooks:  # a live file edited by hand, taken in or dropped: said as approve, revert say it
            kept = str(ws.root / p.hand_edit_kept) if p.hand_edit_kept else None
            warn_hand_edit(p.name, p.hand_edit.to_json() if p.hand_edit else None, p.version_after, "import", kept)
        if as_json:
            print_json({"version": 1, **result.to_json()})
        else:
            render_bundle_import(result)
        refused = result.refused()
        if refused:
            raise WorkFailed(refusal_message(refused))


def refusal_message(refused: list[tuple[str, Any]]) -> str:
    """One line for what lint refused: entries, and playbooks refused as a whole (description, heading)."""
    whole = sorted({name for name, f in refused if f.part != "entry"})
    entries = [f for name, f in refused if f.part == "entry" and name not in whole]
    what = []
    if whole:
        what.append(f"playbook{'s' if len(whole) > 1 else ''} {', '.join(whole)} (as a whole: a description or "
                    "section heading)")
    if entries:
        what.append(f"{len(entries)} {'entry' if len(entries) == 1 else 'entries'} of the bundle")
    it = "it" if len(whole) + len(entries) == 1 else "them"
    return (f"{' and '.join(what)} refused by lint (nothing of {it} imported); review, then import with --force "
            f"to take {it} anyway")
