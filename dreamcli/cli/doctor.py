"""`dreamcli doctor`: check the installation, workspace, model settings and agent tools."""

from __future__ import annotations

import contextlib
import sys
import traceback
from collections.abc import Callable
from typing import Any

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
        with contextlib.ExitStack() as bars:  # --fix sending thousands of sessions takes minutes: a bar
            checks = run_checks(st.home, fix=fix, progress=None if as_json else _sending_bar(bars))
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


def _sending_bar(bars: contextlib.ExitStack) -> Callable[[int, int], None]:
    """The `progress` of `doctor --fix` sending the sessions that wait to upload: a bar on a terminal (as
    `dream` reads sessions), opened when the sending starts and gone when it ends; nothing on a pipe."""
    shown: list[Any] = []  # the bar, once the sending started; None once it ended

    def update(done: int, total: int) -> None:
        if not shown:
            from dreamcli.ui.grade_view import progress

            label = f"doctor --fix: sending {total} session{'' if total == 1 else 's'} waiting to upload"
            shown.append(bars.enter_context(progress(label, total=total)))
        if shown[0] is None:
            return
        shown[0].update(completed=done, total=total)
        if done >= total:
            bars.close()  # the bar (transient) leaves the terminal before the check lines print
            shown[0] = None

    return update
