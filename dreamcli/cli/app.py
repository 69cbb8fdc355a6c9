"""The `dreamcli` entry point: the console script and `python -m dreamcli` call `main`.

This module imports nothing at its top, and the first thing `main` does is take the signals: Ctrl-C
while the imports run (Typer, Rich, pydantic: the first few tenths of a second), while the options are
parsed or while the command works ends with `error: interrupted` and exit 130, SIGTERM and SIGHUP with
`error: interrupted by SIGTERM` (SIGHUP) and 128 + the signal, every command alike, after the same
cleanup as Ctrl-C (docs/architecture.md, "Exit codes"), never with a traceback. Then the standard streams
(`dreamcli.cli.streams`: a closed stdout is refused, exit 2, before any work). The command tree itself
is `dreamcli.cli.root`.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not typing's: importing typing takes milliseconds before the signals are taken
if TYPE_CHECKING:
    from typing import Any, NoReturn


def main() -> None:
    try:
        _main()
    except SystemExit as e:
        _leave_past_busy_workers(e.code)
        raise
    _leave_past_busy_workers(None)


def _leave_past_busy_workers(code: Any) -> None:
    """End the process at once with `code` when a pool worker still runs a call (a grade stopped by Ctrl-C or
    by an endpoint it cannot reach, while the other calls go on): the interpreter's finalisation would unwind
    a worker inside RE2 and the C++ runtime abort the process (dreamcli.daemonpool.busy). What the command
    wrote is flushed first; the call the worker was in is abandoned, as finalisation would abandon it."""
    pool = sys.modules.get("dreamcli.daemonpool")
    if pool is None or not pool.busy() or not (code is None or isinstance(code, int)):
        return
    import contextlib
    import os

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe (`| head`), a closed stream
            stream.flush()
    logging = sys.modules.get("logging")
    if logging is not None:
        logging.shutdown()
    os._exit(code or 0)


def _main() -> None:
    caught = None
    try:
        from dreamcli.interrupts import signals_as_interrupt

        with signals_as_interrupt() as caught:  # SIGTERM, SIGHUP: a KeyboardInterrupt, as Ctrl-C, in every command
            from dreamcli.cli import streams

            streams.take()  # a closed stdout refused (exit 2), a closed stderr sent to /dev/null: before any work
            from dreamcli.cli import root

            root.run(globals().get("app"))
    except KeyboardInterrupt as e:  # before or after the command (imports, building the tree)
        _stopped(e)
    except SystemExit:
        raise
    except BaseException as e:
        # a library turned the signal's KeyboardInterrupt into its own error (pydantic-core, interrupted while
        # it builds a validator, panics: PanicException, a BaseException): still the signal's stop
        if caught is not None and caught.signum is not None:  # SIGTERM, SIGHUP: known by the block
            from dreamcli.interrupts import Terminated

            _stopped(Terminated(caught.signum))
        if caught is not None and caught.ctrl_c:
            from dreamcli.interrupts import wraps_stop

            if wraps_stop(e):  # Ctrl-C came, and this is what it became
                _stopped(KeyboardInterrupt())
        raise


def _stopped(e: KeyboardInterrupt) -> NoReturn:
    """One line on stderr and the exit code of a stop that the command did not see."""
    import contextlib
    import signal

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # a repeat cannot cut the line short
        with contextlib.suppress(ValueError):  # not the main thread: nothing to take
            signal.signal(signum, signal.SIG_IGN)
    from dreamcli.interrupts import stop_line
    from dreamcli.ui.console import error_line

    message, code = stop_line(e)
    error_line(message)
    sys.exit(code)


def __getattr__(name: str) -> Any:
    """`app`, the whole command tree (tests, tools), built on first use (`main` builds only what it runs);
    the other public names of dreamcli.cli.root (`build_app`, `MODULES`, `DreamGroup`) as they were here."""
    if name.startswith("_"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from dreamcli.cli import root

    if name == "app":
        whole = root.build_app()
        globals()["app"] = whole
        return whole
    try:
        return getattr(root, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None


if __name__ == "__main__":
    main()
