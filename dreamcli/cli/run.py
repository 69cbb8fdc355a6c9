"""`dreamcli run` (placeholder until its issue lands)."""

from __future__ import annotations

import typer

from dreamcli.cli.common import not_available

HELP = "Run an agent on a task in a working directory, with tools, memory and playbooks."
EPILOG = """Examples:

  dreamcli run sample_tasks/contract-review.yaml

  dreamcli run -p "summarise the failing tests" --workdir .
"""


def register(app: typer.Typer) -> None:
    @app.command(
        "run", help=HELP, epilog=EPILOG,
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )
    def run_cmd(ctx: typer.Context) -> None:
        not_available("`dreamcli run`")
