"""`dreamcli dream` (placeholder until its issue lands)."""

from __future__ import annotations

import typer

from dreamcli.cli.common import not_available

HELP = "Review past sessions and propose playbook entries with their evidence (never live until approved)."
EPILOG = """Examples:

  dreamcli dream --offline

  dreamcli dream --playbook legal --since 7d --json
"""


def register(app: typer.Typer) -> None:
    @app.command(
        "dream", help=HELP, epilog=EPILOG,
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )
    def dream_cmd(ctx: typer.Context) -> None:
        not_available("`dreamcli dream`")
