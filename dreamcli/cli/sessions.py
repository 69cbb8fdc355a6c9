"""`dreamcli sessions`: list and show logged sessions (importers are registered by their module)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from dreamcli.cli.common import open_workspace, print_json
from dreamcli.cli.group import Group
from dreamcli.cli.sessions_import import import_group
from dreamcli.errors import UsageError

if TYPE_CHECKING:
    from dreamcli.sessions.summary import SkippedKind

HELP = "List and show logged sessions; import transcripts from other agents."
EPILOG = """Examples:

\b
  dreamcli sessions list --since 7d --status error
  dreamcli sessions show 01JD3
  dreamcli sessions import claude-code
"""

sessions_group = Group(help=HELP, epilog=EPILOG, no_args_is_help=True,
                       short_help="List, show and import logged sessions.")


@sessions_group.command("list", short_help="List sessions, newest first.", epilog="Examples:\n\n\b\n"
                        "  dreamcli sessions list --task contract-review --limit 20 --json\n"
                        "  dreamcli sessions list --status error --since 7d --no-children")
def list_cmd(
    ctx: typer.Context,
    since: str = typer.Option(None, "--since", help="Only sessions started after this (7d, 12h, 2026-11-01)."),
    status: str = typer.Option(None, "--status", help="completed, error, interrupted, max_turns or incomplete."),
    task: str = typer.Option(None, "--task", help="Only sessions of this task name."),
    limit: int = typer.Option(50, "--limit", min=1, help="At most this many (newest first; sub-agents "
                              "are listed under their lead and not counted)."),
    children: bool = typer.Option(True, "--children/--no-children", help="Show sub-agent sessions under "
                                  "their lead, or hide them."),
    include_pilot: bool = typer.Option(False, "--include-pilot", help="Also list `dreamcli pilot` trials, "
                                       "marked as such (left out by default: they are no real runs)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    strict: bool = typer.Option(False, "--strict", help="Exit 1 when a session file was skipped "
                                "(unreadable, or a corrupt or wrong-typed first line)."),
) -> None:
    """List sessions, newest first: id, start, task, status, turns, tokens, cost, outcome."""
    from dreamcli.sessions.schema import END_STATUSES
    from dreamcli.sessions.summary import SessionFilter, skipped_kinds
    from dreamcli.timeutil import parse_since

    statuses = tuple(dict.fromkeys((*END_STATUSES, "incomplete")))
    if status is not None and status not in statuses:
        raise UsageError(f"--status: {status!r} is not one of {', '.join(statuses)}")
    ws = open_workspace(ctx, create=False)
    flt = SessionFilter(since=parse_since(since) if since else None, status=status, task=task,
                        include_children=children, include_pilot=include_pilot)
    if as_json:  # streamed from the index: what print_json gives for [r.to_json() for r in rows] below
        import sys

        from dreamcli.store.listing import write_json_listing

        write_json_listing(ws, flt, limit, sys.stdout.write)
    else:
        from dreamcli.store.tree import list_with_children
        from dreamcli.ui.sessions_view import render_session_list

        rows = list_with_children(ws, flt, limit)  # children under their lead
        if rows:  # the listed ones' grades only (none listed: the grades stay unread, their codec unloaded)
            from dreamcli.outcomes.grade_index import latest_grades
            from dreamcli.sessions.summary import apply_grades

            rows = apply_grades(rows, latest_grades(ws, [r.session_id for r in rows]))

        render_session_list(rows)
    if flt.skipped_pilot:  # as `grade` says it; --json names them in `skipped_pilot`
        from dreamcli.ui.console import note
        from dreamcli.ui.plural import count

        note(f"left out {count(len(flt.skipped_pilot), 'pilot trial')} (--include-pilot lists them)")
    kinds = skipped_kinds(flt.skipped)
    if kinds and strict:
        from dreamcli.errors import WorkFailed

        raise WorkFailed("; ".join(f"{n} session file{' was' if n == 1 else 's were'} skipped ({why}), e.g. {eg}"
                                   for n, why, eg in kinds))
    _note_skipped(kinds)


def _note_skipped(kinds: list[SkippedKind]) -> None:
    for n, why, eg in kinds:
        typer.echo(f"note: {n} session file{'' if n == 1 else 's'} skipped ({why}), e.g. {eg}", err=True)


@sessions_group.command("show", short_help="Show one session as a readable transcript.",
                        epilog="Examples:\n\n\b\n  dreamcli sessions show 01JD3\n"
                               "  dreamcli sessions show 01JD3 --json\n  dreamcli sessions show 01JD3 --html page.html")
def show_cmd(
    ctx: typer.Context,
    session_id: str = typer.Argument(..., help="Session id or a unique prefix of it."),
    as_json: bool = typer.Option(False, "--json", help="Print the events as JSON."),
    html: str = typer.Option(None, "--html", metavar="FILE", help="Write the transcript as a self-contained "
                             "HTML page (- for stdout), tool calls folded."),
) -> None:
    """Show one session as a readable transcript (or its events with --json)."""
    if html:
        from dreamcli.cli.html_out import refuse_json, write_transcript_html

        refuse_json(html, as_json)
        write_transcript_html(open_workspace(ctx, create=False), session_id, html)
        return
    from dreamcli.config import workspace_redactor
    from dreamcli.store.tree import read_session

    ws = open_workspace(ctx, create=False)
    shown = read_session(ws, session_id)  # with its grades and sub-agents (summary, brief, error, answer)
    # redacted again with today's rules (a pattern added since the log was written), as the exports are
    redact = workspace_redactor(ws.config_path).redact_obj
    path, sid, stats = shown.path, shown.session_id, shown.stats
    events, grades, children = redact(shown.events), redact(shown.grades), redact(shown.children)
    if as_json:
        print_json({
            "version": 1, "session_id": sid, "path": str(path), "events": events, "grades": grades,
            "children": children,
            "skipped_lines": {"corrupt": stats.corrupt, "truncated": stats.truncated,
                              "unsupported": stats.unsupported},
        })
        return
    from dreamcli.ui.sessions_view import render_transcript

    render_transcript(events, stats, grades, children)


@sessions_group.command("reindex", short_help="Rebuild the session index from the logs.",
                        epilog="Examples:\n\n\b\n  dreamcli sessions reindex\n"
                               "  dreamcli sessions reindex --json")
def reindex_cmd(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Rebuild the session index (state/sessions-index.sqlite) from the session files."""
    import time

    from dreamcli.sessions.summary import skipped_kinds
    from dreamcli.store.index import index_path, rebuild, unlisted

    ws = open_workspace(ctx, create=False)
    t0 = time.perf_counter()
    n = rebuild(ws)
    seconds = round(time.perf_counter() - t0, 3)
    skipped = unlisted(ws)  # files `sessions list` skips: unreadable, or no readable session.start
    if as_json:
        print_json({"version": 1, "sessions": n, "index": str(index_path(ws)), "seconds": seconds,
                    "skipped_files": skipped})
        return
    from dreamcli.ui.console import info

    info(f"Indexed {n} sessions in {seconds} s: {index_path(ws)}")
    _note_skipped(skipped_kinds(skipped))


sessions_group.add_group(import_group, "import")


def register(app: typer.Typer, sub: str | None = None) -> None:
    app.add_typer(sessions_group.build(sub), name="sessions")
