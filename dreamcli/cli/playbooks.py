"""`dreamcli playbooks` (placeholder until its issue lands)."""

from __future__ import annotations

import typer

from dreamcli.cli.common import not_available

HELP = "Review, approve, reject and revert what the agent learned; history and audit trail."
EPILOG = """Examples:

  dreamcli playbooks diff

  dreamcli playbooks approve DREAM_ID --entry pb-3f9k2x
"""

playbooks_app = typer.Typer(help=HELP, epilog=EPILOG, no_args_is_help=True)


@playbooks_app.command("list", help="List playbooks.")
def list_cmd() -> None:
    not_available("`dreamcli playbooks`")


def register(app: typer.Typer) -> None:
    app.add_typer(playbooks_app, name="playbooks")
