"""SIGTERM and SIGHUP handled as Ctrl-C (docs/reliability.md, "Signals"). A leaf module (standard library and
`dreamcli.errors` only), so the entry point (`dreamcli.cli.app.main`) installs the handlers before it
imports anything else.

    with signals_as_interrupt():
        result = run_agent(...)

Inside the block either signal raises `Terminated` (a KeyboardInterrupt) in the main thread, so the
work stops the way Ctrl-C stops it: a run's tools close (each shell's process group gets SIGTERM, then
SIGKILL), session.end is written with status `interrupted`, locks are released and staged files
removed, and the exit code is 128 + the signal. A repeat of either signal while that cleanup runs is
ignored, so it cannot cut the cleanup short (SIGKILL still can); blocks nest (`run` inside the entry
point's), and a signal one of them takes counts for every block around it (`stopped_by`). SIGHUP (the
terminal went away) also points the terminal's standard streams at /dev/null, so the last lines
written to them cannot fail. Off the main thread (a test runner, a worker) the block changes nothing.

Python raises a signal's KeyboardInterrupt in whatever code runs when it comes; when that is a
finaliser (a weakref callback, a `__del__`, which the garbage collector may run at any instruction),
the interpreter prints "Exception ignored in ..." with a traceback and goes on, and the command would
finish as if no signal had come (exit 0). Inside the block such a swallowed interrupt is taken again
(`redeliver`): the signal is raised anew, so the work stops at its next instruction, as it would have.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

from dreamcli.errors import EXIT_INTERRUPTED

HANDLED = (signal.SIGTERM, signal.SIGHUP)
# a stop named in an error's message as a library writes an exception (`KeyboardInterrupt: `, `Terminated: SIGTERM`,
# `Terminated('SIGTERM')`), not the word in a file's name (`Terminated.txt`)
_NAMED_STOP = re.compile(r"\bKeyboardInterrupt\b|\bTerminated(?:: |\(')(?:SIG[A-Z]+|signal \d+)")


class Terminated(KeyboardInterrupt):
    """The process got SIGTERM or SIGHUP: stop as for Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal_name(signum))
        self.signum = signum

    def __reduce__(self) -> tuple[type[Terminated], tuple[int]]:
        # a forked pool worker inherits the handler (SIGHUP to the terminal's process group): its
        # Terminated comes back to this process pickled, and must keep its signal number
        return (Terminated, (self.signum,))


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def wraps_stop(e: BaseException) -> bool:
    """Whether `e` can be a stop (KeyboardInterrupt, `Terminated`) that a library turned into an error of its
    own: raised from one (Python 3.11 wraps what a class's `__set_name__` raises, a pydantic model's field built
    as a module is imported, in a RuntimeError whose cause it is), or naming one in its message (pydantic-core's
    panic and its SchemaError write `KeyboardInterrupt: `), itself or a cause of it. Only for a caller that knows
    the signal came (`stopped_by`, `ctrl_c_came`): the same words from a bug are no stop."""
    seen: list[BaseException] = []
    cause: BaseException | None = e
    while cause is not None and len(seen) < 16 and all(cause is not s for s in seen):
        if isinstance(cause, KeyboardInterrupt):
            return True
        try:
            said = str(cause)
        except Exception:  # a broken __str__ says nothing
            said = ""
        if _NAMED_STOP.search(said):
            return True
        seen.append(cause)
        cause = cause.__cause__
    return False


def interrupt_reason(e: BaseException) -> tuple[str, int]:
    """The session.end error and the exit code of an interrupted run."""
    if isinstance(e, Terminated):
        return f"interrupted by {signal_name(e.signum)}", 128 + e.signum
    return "interrupted by the user", EXIT_INTERRUPTED


def stop_line(e: BaseException | None = None) -> tuple[str, int]:
    """The one line (after `error: `) and the exit code of a command that a KeyboardInterrupt `e` (None: one
    the command did not see) stopped: `interrupted`, 130 for Ctrl-C; `interrupted by SIGTERM`, 143 when
    that signal stopped it (also when the work turned its KeyboardInterrupt into a plain one)."""
    signum = e.signum if isinstance(e, Terminated) else stopped_by()
    if signum is None:
        return "interrupted", EXIT_INTERRUPTED
    return f"interrupted by {signal_name(signum)}", 128 + signum


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
    caller whose work turns the KeyboardInterrupt into an error of its own can still exit 128 + it);
    `ctrl_c`, whether SIGINT came while the block was in force (Python's own KeyboardInterrupt, so a
    library's error that names one can be told from a bug's)."""

    signum: int | None = None
    ctrl_c: bool = False


_blocks: list[Caught] = []  # the blocks in force in the main thread, the outermost first
_swallowed: list[int] = []  # signals whose Terminated a finaliser swallowed: taken again though stopping
_pending: dict[int, threading.Timer] = {}  # swallowed signals to send again, not sent yet
_sending = threading.Lock()


def stopped_by() -> int | None:
    """The signal that stopped the outermost block in force (the entry point's, for a command), if any."""
    return _blocks[0].signum if _blocks else None


def ctrl_c_came() -> bool:
    """Whether SIGINT came while the outermost block in force (the entry point's) was (`Caught.ctrl_c`)."""
    return bool(_blocks) and _blocks[0].ctrl_c


@contextlib.contextmanager
def signals_as_interrupt(signums: tuple[int, ...] = HANDLED) -> Iterator[Caught]:
    """SIGTERM and SIGHUP raise `Terminated` inside the block (main thread only), but one this process
    started with ignored (SIG_IGN: `nohup dreamcli …` ignores SIGHUP) stays ignored; the previous handlers
    come back after it."""
    caught = Caught()
    if threading.current_thread() is not threading.main_thread():
        yield caught
        return

    def handler(signum: int, _frame: FrameType | None) -> None:
        if signum == signal.SIGHUP:
            _detach_terminal()
        lost = signum in _swallowed  # the stop itself was lost in a finaliser: this is it, sent again
        if lost:
            _swallowed.remove(signum)
        if _blocks and _blocks[0].signum is not None and not lost:  # already stopping: let the cleanup finish
            return
        for block in (*_blocks, caught):
            if block.signum is None:
                block.signum = signum
        raise Terminated(signum)

    def on_ctrl_c(signum: int, frame: FrameType | None) -> None:
        for block in (*_blocks, caught):
            block.ctrl_c = True
        signal.default_int_handler(signum, frame)  # Python's own: KeyboardInterrupt

    previous: dict[int, Any] = {}
    for signum in signums:
        if signal.getsignal(signum) is signal.SIG_IGN:  # started ignoring it (`nohup` ignores SIGHUP): it stays so
            continue
        with contextlib.suppress(ValueError, OSError):
            previous[signum] = signal.signal(signum, handler)
    outermost = not _blocks
    if outermost and signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not one ignored
        with contextlib.suppress(ValueError, OSError):
            previous[signal.SIGINT] = signal.signal(signal.SIGINT, on_ctrl_c)
    hook = sys.unraisablehook
    if outermost:
        sys.unraisablehook = redeliver(hook)
    _blocks.append(caught)
    late: int | None = None
    ending: BaseException | None = None
    try:
        yield caught
    except BaseException as e:
        ending = e
        raise
    finally:
        if outermost:
            late = _cancel_pending()
        _blocks.remove(caught)
        if outermost:
            sys.unraisablehook = hook
            _swallowed.clear()
        for signum, old in previous.items():
            with contextlib.suppress(ValueError, OSError):
                signal.signal(signum, old if old is not None else signal.SIG_DFL)
        # swallowed as the block ended (its work done, or exiting), not sent again yet: the block was stopped
        if late is not None and (ending is None or isinstance(ending, SystemExit)):
            caught.signum = late
            raise Terminated(late) if late in HANDLED else KeyboardInterrupt()


def redeliver(previous: Callable[[Any], object]) -> Callable[[Any], None]:
    """A `sys.unraisablehook` that sends again the signal whose KeyboardInterrupt a finaliser swallowed
    in the main thread (silently: the stop's own line follows); anything else goes to `previous`."""

    def hook(unraisable: Any) -> None:
        exc = unraisable.exc_value
        if not isinstance(exc, KeyboardInterrupt) or threading.current_thread() is not threading.main_thread():
            previous(unraisable)
            return
        signum = exc.signum if isinstance(exc, Terminated) else signal.SIGINT
        try:
            _send_later(signum)
        except KeyboardInterrupt:  # a signal came while in here: sent again, it is not lost either
            _send_later(signum)

    return hook


def _send_later(signum: int) -> None:
    """Send `signum` to the main thread from another thread, a moment from now. Sent from here, its
    handler would run at once (`signal.raise_signal`, `os.kill` check for it before they return), still
    inside the finaliser's hook, and its raise be swallowed again. A real signal, not a flag, so a main
    thread that waits (on a lock, a pool's result) wakes up to it. The outermost block, ending before
    it is sent, cancels it and raises it itself (`_cancel_pending`)."""
    if not callable(signal.getsignal(signum)):  # ignored meanwhile (a stop's cleanup), or not Python's
        return
    main = threading.main_thread().ident
    if main is None or not hasattr(signal, "pthread_kill"):
        return
    if signum in HANDLED:
        _swallowed.append(signum)

    def send() -> None:
        with _sending:
            if _pending.pop(signum, None) is timer:
                signal.pthread_kill(main, signum)

    timer = threading.Timer(0.01, send)
    timer.daemon = True
    with _sending:
        _pending[signum] = timer
    with contextlib.suppress(RuntimeError):  # the interpreter is shutting down: nothing left to stop
        timer.start()


def _cancel_pending() -> int | None:
    """Cancel the signals `_send_later` has not sent yet; the first of them, if any."""
    with _sending:
        pending = list(_pending.items())
        _pending.clear()
    for _, timer in pending:
        timer.cancel()
    return pending[0][0] if pending else None
