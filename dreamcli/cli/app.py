"""The `dreamcli` command: global options, command groups, and error handling (one line, exit code)."""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any

import typer
from typer.core import TyperGroup

from dreamcli import __version__
from dreamcli.errors import EXIT_FAILED, EXIT_INTERRUPTED, DreamError

EXAMPLES = """\
Examples:

\b
  dreamcli init                                  create ./.dreamcli for this project
  dreamcli run sample_tasks/contract-review.yaml run an agent on a task file
  dreamcli sessions list --since 7d              what ran this week
  dreamcli grade --last 20 --outcome spec.yaml   grade recent runs (CI step)
  dreamcli dream --offline                       propose playbook entries from past sessions
  dreamcli playbooks diff                        review what the agent learned
  dreamcli pilot task.yaml --proposal 01JD3Z     measure a proposal's lift before approving
  dreamcli export --format bundle -o out.tar.gz  take playbooks elsewhere
  dreamcli import out.tar.gz                     bring a bundle in
  dreamcli doctor                                something is off? check the set-up, one line each
"""


class DreamGroup(TyperGroup):
    """Root group that renders dreamcli errors as one line on stderr with the documented exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except DreamError as e:
            _report(ctx, e)
            raise typer.Exit(e.exit_code) from None
        except KeyboardInterrupt:
            from dreamcli.ui.console import error_line

            error_line("interrupted")
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except (typer.Exit, typer.Abort):
            raise
        except Exception as e:  # an unexpected bug: one line, the traceback only with --debug
            if isinstance(e, _click_exception_types()):
                raise
            _report(ctx, e, internal=True)
            raise typer.Exit(EXIT_FAILED) from None


def _click_exception_types() -> tuple[type[BaseException], ...]:
    # Typer re-exports click's exception base through typer.BadParameter's MRO; avoid importing click.
    base = typer.BadParameter.__mro__
    return tuple(c for c in base if c.__name__ == "ClickException")


def _report(ctx: Any, e: BaseException, *, internal: bool = False) -> None:
    from dreamcli.ui.console import error_line

    obj = ctx.find_root().obj
    debug = bool(getattr(obj, "debug", False) or os.environ.get("DREAMCLI_DEBUG"))
    if debug:
        traceback.print_exception(e, file=sys.stderr)
    message = str(e) or type(e).__name__
    if internal:
        message = f"internal error: {type(e).__name__}: {message}" + ("" if debug else " (rerun with --debug)")
    error_line(message)


def _version(value: bool) -> None:
    if value:
        print(f"dreamcli {__version__}")
        raise typer.Exit()


app = typer.Typer(
    cls=DreamGroup,
    name="dreamcli",
    help="Run Claude agents locally and make them better over time, without retraining.\n\n"
    "Every run is logged; `dream` proposes playbook entries from past sessions; a person reviews them "
    "with `playbooks diff/approve`; `grade` checks runs against outcome specs.",
    epilog=EXAMPLES,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _root(
    ctx: typer.Context,
    home: str = typer.Option(
        None, "--home", metavar="PATH", help="Workspace directory (default: $DREAMCLI_HOME, the nearest "
        ".dreamcli/, or the user data dir)."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    from dreamcli.cli.common import AppState

    ctx.obj = AppState(home=home, debug=debug or bool(os.environ.get("DREAMCLI_DEBUG")))


def _register() -> None:
    from dreamcli.cli import cloud, doctor, dream, export, grade, init, pilot, playbooks, run, sessions

    init.register(app)
    run.register(app)
    sessions.register(app)
    grade.register(app)
    dream.register(app)
    playbooks.register(app)
    pilot.register(app)
    export.register(app)
    doctor.register(app)
    cloud.register(app)


_register()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
