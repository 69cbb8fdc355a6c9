"""The `dreamcli` command tree: global options, command groups, and error handling (one line, exit code).
The entry point that runs it is `dreamcli.cli.app.main`."""

from __future__ import annotations

import errno
import os
import re
import sys
import traceback
from collections.abc import Iterable
from typing import Any

import typer
from typer.core import TyperGroup

from dreamcli import __version__
from dreamcli.cli.streams import STDOUT
from dreamcli.errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_PIPE,
    DreamError,
    Interrupted,
    StorageError,
    storage_error,
)
from dreamcli.interrupts import ctrl_c_came, stop_line, stopped_by, wraps_stop

EXAMPLES = """\
Examples:

\b
  dreamcli init                                   ./.dreamcli for a project
  dreamcli run sample_tasks/contract-review.yaml  run an agent on a task
  dreamcli sessions list --since 7d               what ran this week
  dreamcli grade --last 20 --outcome spec.yaml    grade recent runs (CI)
  dreamcli dream --offline                        propose playbook entries
  dreamcli playbooks diff                         review what was learned
  dreamcli pilot task.yaml --proposal 01JD3Z      measure a proposal's lift
  dreamcli export --format bundle -o out.tar.gz   take playbooks elsewhere
  dreamcli import out.tar.gz                      bring a bundle in
  dreamcli schedule install                       dream every night (cron)
  dreamcli doctor                                 something off? check set-up
"""


class DreamGroup(TyperGroup):
    """Root group that renders dreamcli errors as one line on stderr with the documented exit code."""

    told = False  # the command ended with its own line (or exit): `main` adds none
    argv: tuple[str, ...] = ()  # the command line's words, as `main` was given them

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from dreamcli.cli.metavars import apply

        apply(self)  # help synopses in words (`--limit N`, `[DREAM_ID]`), not Python types

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Typer's `main`, and one line for a stop that `invoke` did not see: Ctrl-C (or SIGTERM) while the
        options are parsed or the context closes, which Typer ends with a silent exit 130."""
        self.told = False
        given = kwargs.get("args", args[0] if args else None)
        self.argv = tuple(str(a) for a in (sys.argv[1:] if given is None else given))  # shortened in `error:` lines
        try:
            return super().main(*args, **kwargs)
        except SystemExit as e:
            if self.told or (e.code != EXIT_INTERRUPTED and stopped_by() is None):
                raise
            message, code = stop_line()
            _error_line(message)
            raise SystemExit(code) from None

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any) -> Any:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except _click_exception_types() as e:  # a usage error of the root's own options: Typer shows it
            _shorten_usage(e, self.argv)
            raise

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort):
            self.told = True
            raise
        except (Exception, KeyboardInterrupt) as e:
            if isinstance(e, _click_exception_types()):  # a usage error: Typer shows it
                _shorten_usage(e, self.argv)
                self.told = True
                raise
            code = _say_why(ctx, e)
            self.told = True
            raise typer.Exit(code) from None


def _say_why(ctx: Any, e: BaseException) -> int:
    """Say on stderr, in one line, why the command stopped; its exit code."""
    if not isinstance(e, Interrupted) and (stopped_by() is not None or ctrl_c_came()) and wraps_stop(e):
        message, code = stop_line()  # a library made the signal's stop its error, or ours did (`api_error`)
        _error_line(message)
        return code
    if isinstance(e, DreamError):
        if isinstance(e, Interrupted):
            from dreamcli.cli.common import named_stop

            named_stop(e)  # the work turned SIGTERM's KeyboardInterrupt into its own error: the signal said
        _report(ctx, e)
        _silence_stdout_after(e)
        return e.exit_code
    if isinstance(e, BrokenPipeError):  # `dreamcli ... | head`: the reader left; stop quietly, as Unix tools do
        _silence_stdout()
        return EXIT_PIPE
    if isinstance(e, EOFError):  # Ctrl-D at a prompt no command handled: stop as Ctrl-C would, in one line
        _error_line("no answer (end of input); stopped")
        return EXIT_INTERRUPTED
    if isinstance(e, KeyboardInterrupt):  # Ctrl-C: 130; SIGTERM, SIGHUP (dreamcli.interrupts): 128 + the signal
        message, code = stop_line(e)
        _error_line(message)
        return code
    stored = storage_error(e, workspace=_workspace_root(ctx)) if isinstance(e, OSError) else None
    if stored is not None:  # the machine (a full or read-only disk, ...), not a bug: the file, what to do; 74
        _report(ctx, e, message=str(stored))
        _silence_stdout_after(e)
        return stored.exit_code
    _report(ctx, e, internal=True)  # an unexpected bug: one line, the traceback only with --debug
    return EXIT_FAILED


def _workspace_root(ctx: Any) -> str | None:
    """The root of the workspace the command opened (its files are dreamcli's own), if it opened one."""
    ws = getattr(ctx.find_root().obj, "_workspace", None)
    return str(ws.root) if ws is not None else None


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail on the closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # not a real file (a test runner's buffer): nothing will be flushed to a closed pipe


def _silence_stdout_after(e: BaseException) -> None:
    """Stdout, when it is what failed (`> /dev/full`; a StorageError says it), pointed at /dev/null: what its
    buffer still holds would fail again at the end (`_deliver`), or when the interpreter flushes it at exit."""
    failed = e.os_error if isinstance(e, StorageError) else e
    if isinstance(failed, OSError) and failed.filename == STDOUT:
        _silence_stdout()


def _click_exception_types() -> tuple[type[BaseException], ...]:
    # Typer re-exports click's exception base through typer.BadParameter's MRO; avoid importing click.
    base = typer.BadParameter.__mro__
    return tuple(c for c in base if c.__name__ == "ClickException")


def _shorten_usage(e: BaseException, argv: Iterable[str]) -> None:
    """A usage error (`No such command '<100 KB>'`) quoting a long value of the command line as `error:`
    lines do (`shortened`): its message is what Typer prints after `Error: `."""
    message = getattr(e, "message", None)
    if isinstance(message, str):
        setattr(e, "message", shortened(message, argv))  # noqa: B010 (click's attribute, not declared here)


def _report(ctx: Any, e: BaseException, *, internal: bool = False, message: str | None = None) -> None:
    """`message` (by default the error's own) as the one `error:` line; with --debug, the traceback first."""
    obj = ctx.find_root().obj
    debug = bool(getattr(obj, "debug", False) or os.environ.get("DREAMCLI_DEBUG"))
    if debug:
        traceback.print_exception(e, file=sys.stderr)
    message = shortened(message or str(e) or type(e).__name__, getattr(ctx.find_root().command, "argv", ()))
    if internal:
        message = f"internal error: {type(e).__name__}: {message}" + ("" if debug else " (rerun with --debug)")
    _error_line(message)


_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")


def _error_line(message: str) -> None:
    """The `error:` line (dreamcli.ui), or a plain one when what it needs cannot be imported: with not one file
    descriptor left (EMFILE), a module not loaded yet cannot be read, and the line must still come out."""
    try:
        from dreamcli.ui.console import error_line

        error_line(message)
    except (ImportError, OSError) as e:
        if isinstance(e, OSError) and e.errno not in (errno.EMFILE, errno.ENFILE):
            raise  # stderr itself failed: no plainer line would get out
        escaped = _CONTROLS.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), message)
        sys.stderr.write(f"error: {escaped}\n")
        sys.stderr.flush()


SHOWN_MAX = 200  # characters of a value from the command line quoted in an `error:` line
RUN_MAX = 1000  # characters without a space in an `error:` line (a value quoted as something else)


def shortened(message: str, argv: Iterable[str], limit: int = SHOWN_MAX) -> str:
    """`message` with each long value of the command line it quotes (as typed, as `repr` or an escape shows
    it; `--opt=VALUE` too) cut to its first and last `limit / 2` characters (a long path keeps its file name),
    `…` between and its length; then any other run of more than RUN_MAX characters without a space, so a
    100 KB argument is never echoed whole."""
    values = {a.partition("=")[2] if a.startswith("--") and "=" in a else a for a in argv}
    for value in sorted((v for v in values if len(v) > limit), key=len, reverse=True):
        for form in _forms(value):
            if len(form) > limit and form in message:
                message = message.replace(form, _cut(form, limit))
    if len(message) > RUN_MAX:
        message = re.sub(rf"\S{{{RUN_MAX + 1},}}", lambda m: _cut(m.group(), limit), message)
    return message


def _forms(value: str) -> tuple[str, ...]:
    """The ways a message may quote `value`: as typed, as `repr` shows it, as dreamcli.textnorm escapes it (that
    one left out when textnorm cannot be imported: no file descriptor left to read it with)."""
    forms = [value, repr(value)[1:-1]]
    try:
        from dreamcli.textnorm import escaped
    except (ImportError, OSError):
        pass
    else:
        forms.append(escaped(value))
    return tuple(dict.fromkeys(forms))


def _cut(text: str, limit: int) -> str:
    """`text` as its first and last `limit / 2` characters (at most), cut between whole graphemes and whole
    escapes (`👨‍👩‍👧‍👦` and `\\u200d` never in two), `…` between and its length."""
    head = limit // 2
    try:
        from dreamcli.ui.graphemes import head_and_tail, show_joiners
    except (ImportError, OSError):  # no file descriptor left to read it with: cut where the count says
        first, last = text[:head], text[len(text) - (limit - head):]
    else:
        first, last = head_and_tail(show_joiners(text), head, limit - head)
    return f"{first}…{last} ({len(text)} characters)"


def _version(value: bool) -> None:
    if value:
        print(f"dreamcli {__version__}")
        raise typer.Exit()


SETTINGS: dict[str, Any] = {
    "cls": DreamGroup,
    "name": "dreamcli",
    "help": "Run Claude agents locally and make them better over time, without retraining.\n\n"
    "Every run is logged; `dream` proposes playbook entries from past sessions; a person reviews them "
    "with `playbooks diff/approve`; `grade` checks runs against outcome specs.",
    "epilog": EXAMPLES,
    "no_args_is_help": True,
    "pretty_exceptions_enable": False,
    "rich_markup_mode": None,
    "add_completion": True,  # --install-completion / --show-completion (Typer's own)
    "context_settings": {"help_option_names": ["-h", "--help"]},
}


def _root(
    ctx: typer.Context,
    home: str = typer.Option(
        None, "--home", metavar="PATH", help="Workspace directory (default: $DREAMCLI_HOME, the nearest "
        ".dreamcli/, or the user data dir)."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
    version: bool = typer.Option(
        False, "--version", "-V", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    from dreamcli.cli.common import AppState

    ctx.obj = AppState(home=home, debug=debug or bool(os.environ.get("DREAMCLI_DEBUG")))


# The modules of dreamcli/cli that register commands, in the order `--help` lists them, and the
# top-level command names each one registers (tests/cli/test_start_up_imports.py checks the names).
MODULES: dict[str, tuple[str, ...]] = {
    "init": ("init",), "run": ("run",), "sessions": ("sessions",), "grade": ("grade",), "dream": ("dream",),
    "playbooks": ("playbooks",), "pilot": ("pilot",), "export": ("export", "import"), "schedule": ("schedule",),
    "config_show": ("config",), "doctor": ("doctor",), "cloud": ("cloud",),
}


def build_app(command: str | None = None, sub: str | None = None) -> typer.Typer:
    """The `dreamcli` command tree: every command; or, to run `command`, only the module that
    registers it (dreamcli/cli/tree.py, whose ROOT_ONLY and ROOT_HELP are `command`s too), and of a
    group only the command `sub` names (dreamcli/cli/group.py)."""
    import importlib

    from dreamcli.cli import tree

    new = typer.Typer(**SETTINGS)
    new.callback()(_root)
    for module, names in MODULES.items():
        if command in (None, tree.ROOT_HELP) or command in names:
            importlib.import_module(f"dreamcli.cli.{module}").register(new, sub if command in names else None)
    return new


def run(whole: typer.Typer | None = None) -> None:
    """Run the command that `sys.argv` names, building only what it needs (or `whole`, the tree built)."""
    from dreamcli.cli.tree import route

    runnable = whole or build_app(*route(sys.argv[1:], [n for ns in MODULES.values() for n in ns]))
    try:
        try:
            runnable()  # ends with SystemExit (Typer's standalone mode)
        except SystemExit:
            _deliver()
            raise
        _deliver()
    except BrokenPipeError:  # raised while Typer itself wrote (help, --version) to a closed pipe, or at the end
        _silence_stdout()
        sys.exit(EXIT_PIPE)
    except OSError as e:  # the same to a stdout that cannot take it (`> /dev/full`): the one line of exit 74
        stored = storage_error(e)
        if stored is None:
            raise
        _silence_stdout_after(e)
        _error_line(str(stored))
        sys.exit(stored.exit_code)


def _deliver() -> None:
    """Flush what the command left in stdout's buffer now, while a failure is still the command's one line (a
    full disk: exit 74), rather than the interpreter's `Exception ignored` at exit with exit 120."""
    if sys.stdout is not None:
        sys.stdout.flush()
