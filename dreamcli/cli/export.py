"""`dreamcli export` and `dreamcli import` (placeholders until their issue lands)."""

from __future__ import annotations

import typer

from dreamcli.cli.common import not_available

EXPORT_HELP = "Export playbooks (and optionally sessions) in portable formats: bundle, json, claude-md, agents-md, memory-dir."
IMPORT_HELP = "Import a playbook bundle made by `dreamcli export` (checksums verified, audit logged)."
_EXTRA = {"allow_extra_args": True, "ignore_unknown_options": True}


def register(app: typer.Typer) -> None:
    @app.command("export", help=EXPORT_HELP, epilog="Example:\n\n  dreamcli export --format bundle -o playbooks.tar.gz",
                 context_settings=_EXTRA)
    def export_cmd(ctx: typer.Context) -> None:
        not_available("`dreamcli export`")

    @app.command("import", help=IMPORT_HELP, epilog="Example:\n\n  dreamcli import playbooks.tar.gz",
                 context_settings=_EXTRA)
    def import_cmd(ctx: typer.Context) -> None:
        not_available("`dreamcli import`")
