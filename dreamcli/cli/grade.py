"""`dreamcli grade` (placeholder until its issue lands)."""

from __future__ import annotations

import typer

from dreamcli.cli.common import not_available

HELP = "Grade sessions against an outcome spec (deterministic checks + a grader model); a CI step."
EPILOG = """Examples:

  dreamcli grade --last 20 --outcome sample_outcomes/contract-review.yaml

  dreamcli grade SESSION_ID --junit grades.xml
"""


def register(app: typer.Typer) -> None:
    @app.command(
        "grade", help=HELP, epilog=EPILOG,
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )
    def grade_cmd(ctx: typer.Context) -> None:
        not_available("`dreamcli grade`")
