"""`dreamcli sessions import claude-code|codex [PATH]`: other agents' transcripts as sessions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from dreamcli.cli.common import command_prefix, config, open_workspace, print_json
from dreamcli.cli.group import Group

import_group = Group(help="Import transcripts of other agents (Claude Code, Codex) as sessions.",
                     short_help="Import Claude Code and Codex transcripts.",
                     epilog="Examples:\n\n\b\n  dreamcli sessions import claude-code\n"
                            "  dreamcli sessions import codex --dry-run", no_args_is_help=True)

_PATH_HELP = "A transcript file or a directory searched recursively for *.jsonl (default: {default})."
_JSON_HELP = "Print the import summary as JSON."
_WORKERS_HELP = ("Worker processes converting transcripts in parallel (default: one per core for imports over "
                 "8 MB; 1 = no workers). The output is the same with any number.")
_DRY_RUN_HELP = ("Read every transcript, write nothing: report per file what would be imported and which "
                 "line types are unknown (docs/importers.md).")
SKIPPED_SHOWN = 10  # files that are not transcripts: one warning each up to this many, then a count


def _warn_skipped(skipped: list[dict[str, Any]]) -> None:
    """One line on stderr per file that was skipped as not a transcript (the first few, then a count)."""
    from dreamcli.ui.console import warn

    for s in skipped[:SKIPPED_SHOWN]:
        where = s["file"] if s["line"] is None else f"{s['file']}:{s['line']}"
        warn(f"skipped {where}: {s['reason']}")
    if len(skipped) > SKIPPED_SHOWN:
        warn(f"{len(skipped) - SKIPPED_SHOWN} more files skipped, not transcripts ({len(skipped)} in all; "
             "--json lists them)")


def _run(ctx: typer.Context, source: str, path: str | None, as_json: bool, workers: int | None,
         dry_run: bool = False) -> None:
    from dreamcli.portability.arrivals import Publisher
    from dreamcli.sessions.importers.runner import import_transcripts
    from dreamcli.ui.portability_view import import_progress, render_import_summary

    ws = open_workspace(ctx)
    patterns = tuple(config(ctx).redaction.patterns)
    if dry_run:
        from dreamcli.sessions.importers.dryrun import dry_run_import
        from dreamcli.ui.portability_view import render_import_dry_run

        report = dry_run_import(ws, source, Path(path) if path else None, redaction_patterns=patterns)
        _warn_skipped(report["skipped_files"])
        if as_json:
            print_json(report)
        else:
            render_import_dry_run(report)
        return
    publish = Publisher(ws, config(ctx), strict=True)  # a sessions.url a run refuses is refused here too
    with import_progress(f"importing {source} transcripts") as progress:
        summary = import_transcripts(ws, source, Path(path) if path else None, redaction_patterns=patterns,
                                     progress=progress, workers=workers, on_commit=publish)
    upload = publish.finish()  # sends what earlier imports left waiting; says what is not uploaded
    _warn_skipped(summary.skipped_files)
    if upload is not None:
        from dreamcli.ui.console import info, warn

        for say, line in ((warn, upload.warning(f"{command_prefix(ctx)} doctor --fix")), (info, upload.note())):
            if line:
                say(line)
    if as_json:
        print_json({"version": 1, **summary.to_json(), "upload": upload.to_json() if upload else None})
        return
    render_import_summary(summary, command_prefix(ctx))


@import_group.command(
    "claude-code",
    short_help="Import Claude Code transcripts.",
    epilog="Examples:\n\n\b\n  dreamcli sessions import claude-code\n"
           "  dreamcli sessions import claude-code ~/.claude/projects/-home-ana-shop\n"
           "  dreamcli sessions import claude-code --dry-run --json",
)
def claude_code_cmd(
    ctx: typer.Context,
    path: str = typer.Argument(None, help=_PATH_HELP.format(default="~/.claude/projects")),
    as_json: bool = typer.Option(False, "--json", help=_JSON_HELP),
    workers: int = typer.Option(None, "--workers", min=1, max=64, help=_WORKERS_HELP),
    dry_run: bool = typer.Option(False, "--dry-run", help=_DRY_RUN_HELP),
) -> None:
    """Import Claude Code transcripts: each session file becomes a session (source claude-code);
    sidechains and subagents/agent-*.jsonl files become child sessions. Re-running skips what is
    already imported."""
    _run(ctx, "claude-code", path, as_json, workers, dry_run)


@import_group.command(
    "codex",
    short_help="Import Codex CLI rollouts.",
    epilog="Examples:\n\n\b\n  dreamcli sessions import codex\n"
           "  dreamcli sessions import codex ~/.codex/sessions/2026/11 --json",
)
def codex_cmd(
    ctx: typer.Context,
    path: str = typer.Argument(None, help=_PATH_HELP.format(default="$CODEX_HOME/sessions or ~/.codex/sessions")),
    as_json: bool = typer.Option(False, "--json", help=_JSON_HELP),
    workers: int = typer.Option(None, "--workers", min=1, max=64, help=_WORKERS_HELP),
    dry_run: bool = typer.Option(False, "--dry-run", help=_DRY_RUN_HELP),
) -> None:
    """Import Codex CLI rollouts: each rollout file becomes a session (source codex); sub-agent
    rollouts become child sessions. Re-running skips what is already imported."""
    _run(ctx, "codex", path, as_json, workers, dry_run)
