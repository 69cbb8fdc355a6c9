"""`dreamcli doctor`: check the installation, workspace, model settings and agent tools."""

from __future__ import annotations

import sys
import traceback

import typer

from dreamcli.cli.common import print_json, state
from dreamcli.errors import EXIT_FAILED

HELP = ("Check that dreamcli can work here: its version, Python and dependencies, the workspace (which one, "
        "how it was found, its permissions; its disk: a FAIL when a small file cannot be written in state/, a "
        "WARN below 100 MB or 1% free, of space or inodes; its nightly dream: a WARN when an earlier dreamcli "
        "installed it, with the `schedule install` that refreshes it), the model endpoint (one cheap call, "
        "models.list, through the model client's own route and proxy, 3 s at most; a WARN when it does not "
        "answer) and whether a key is set "
        "(never the key; a FAIL when the endpoint refuses it), and "
        "a real no-op call of each agent tool in a temp directory. One line per check: OK, WARN or FAIL with "
        "the fix. With sessions in object storage (sessions.url), the sessions whose upload failed or was cut "
        "by a kill wait in the workspace: the `uploads` line counts them (no network call) and --fix sends "
        "them. Exit 0 when nothing FAILed (warnings do not fail), 1 otherwise.")
EPILOG = """Examples:

\b
  dreamcli doctor
  dreamcli --home ~/projects/contracts/.dreamcli doctor --json
  dreamcli doctor --fix     send the sessions waiting to upload
  dreamcli --debug doctor   tracebacks of the checks that crashed
"""


def register(app: typer.Typer, sub: str | None = None) -> None:
    """Add the command to `app` (`sub`, the word after it, only matters to a group)."""
    @app.command("doctor", help=HELP, epilog=EPILOG, short_help="Check that dreamcli can work here.")
    def doctor_cmd(
        ctx: typer.Context,
        as_json: bool = typer.Option(False, "--json", help='Print {"ok": ..., "checks": [...]} as JSON.'),
        fix: bool = typer.Option(False, "--fix", help="Send the sessions waiting to upload to sessions.url "
                                 "(ObjectStore.resume; docs/scaling.md); the uploads line says what was sent."),
    ) -> None:
        from dreamcli.doctor import passed, report, run_checks

        st = state(ctx)
        checks = run_checks(st.home, fix=fix)
        if st.debug:
            for c in checks:
                if c.error is not None:
                    print(f"--- {c.name}:", file=sys.stderr)
                    traceback.print_exception(c.error, file=sys.stderr)
        if as_json:
            print_json(report(checks))
        else:
            from dreamcli.ui.doctor_view import render_checks, render_summary

            render_checks(checks)
            render_summary(checks)
        if not passed(checks):
            raise typer.Exit(EXIT_FAILED)
