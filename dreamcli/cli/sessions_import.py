"""`dreamcli sessions import claude-code|codex` (placeholder until the portability issue lands)."""

from __future__ import annotations

import typer

from dreamcli.cli.common import not_available

import_app = typer.Typer(help="Import transcripts of other agents (Claude Code, Codex) as sessions.",
                         no_args_is_help=True)


@import_app.command("claude-code", help="Import Claude Code transcripts (default: ~/.claude/projects).")
def claude_code_cmd() -> None:
    not_available("`dreamcli sessions import`")


def register(sessions_app: typer.Typer) -> None:
    sessions_app.add_typer(import_app, name="import")
