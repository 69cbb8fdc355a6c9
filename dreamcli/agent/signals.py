"""SIGTERM and SIGHUP during a run, handled as Ctrl-C (docs/reliability.md, "Signals").

    with signals_as_interrupt():
        result = run_agent(...)

Inside the block either signal raises `Terminated` (a KeyboardInterrupt) in the main thread, so the
run stops the way Ctrl-C stops it: the tools close (each shell's process group gets SIGTERM, then
SIGKILL), session.end is written with status `interrupted`, and the run's exit code is 128 + the
signal. A repeat of either signal while that cleanup runs is ignored, so it cannot cut the cleanup
short (SIGKILL still can). SIGHUP (the terminal went away) also points the terminal's standard
streams at /dev/null, so the last lines written to them cannot fail. Off the main thread (a test
runner, a worker) the block changes nothing.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

from dreamcli.errors import EXIT_INTERRUPTED

HANDLED = (signal.SIGTERM, signal.SIGHUP)


class Terminated(KeyboardInterrupt):
    """The process got SIGTERM or SIGHUP: stop as for Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal_name(signum))
        self.signum = signum


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def interrupt_reason(e: BaseException) -> tuple[str, int]:
    """The session.end error and the exit code of an interrupted run."""
    if isinstance(e, Terminated):
        return f"interrupted by {signal_name(e.signum)}", 128 + e.signum
    return "interrupted by the user", EXIT_INTERRUPTED


def _detach_terminal() -> None:
    """Point stdin, stdout and stderr at /dev/null where they were the (hung-up) terminal."""
    try:
        devnull = os.open(os.devnull, os.O_RDWR)
    except OSError:
        return
    try:
        for fd in (0, 1, 2):
            with contextlib.suppress(OSError):
                if os.isatty(fd):
                    os.dup2(devnull, fd)
    finally:
        os.close(devnull)


class Caught:
    """What `signals_as_interrupt` yields: `signum` is the signal that stopped the block, if any (a
    caller whose work turns the KeyboardInterrupt into an error of its own can still exit 128 + it)."""

    signum: int | None = None


@contextlib.contextmanager
def signals_as_interrupt(signums: tuple[int, ...] = HANDLED) -> Iterator[Caught]:
    """SIGTERM and SIGHUP raise `Terminated` inside the block (main thread only); the previous
    handlers come back after it."""
    caught = Caught()
    if threading.current_thread() is not threading.main_thread():
        yield caught
        return

    def handler(signum: int, _frame: FrameType | None) -> None:
        if signum == signal.SIGHUP:
            _detach_terminal()
        if caught.signum is not None:  # already stopping: let the cleanup finish
            return
        caught.signum = signum
        raise Terminated(signum)

    previous: dict[int, Any] = {}
    for signum in signums:
        with contextlib.suppress(ValueError, OSError):
            previous[signum] = signal.signal(signum, handler)
    try:
        yield caught
    finally:
        for signum, old in previous.items():
            with contextlib.suppress(ValueError, OSError):
                signal.signal(signum, old if old is not None else signal.SIG_DFL)
