"""A signal the entry point took, which a library turned into an error of its own that is not an Exception
(pydantic-core panics when SIGTERM lands while it builds a validator: PanicException, a BaseException),
still ends the command as the signal does: one line and 128 + the signal, no Python traceback (CI saw exit 1
and a traceback). Ctrl-C too: Python's own KeyboardInterrupt, which the panic names in its message (CI saw
that on the lowest pydantic), and an error raised from it (Python 3.11 wraps what a class's `__set_name__`
raises in a RuntimeError: CI saw a pydantic model's field do so on the lowest leg)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.reliability.test_orphaned_workers import _env

SCRIPT = """
import os, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, whatever started this test
from dreamcli.cli import root
from dreamcli.interrupts import Terminated
class Panic(BaseException):  # as pydantic_core.PanicException
    pass
def run(*a, **k):
    try:
        os.kill(os.getpid(), int(sys.argv.pop(1)))
    except KeyboardInterrupt as e:  # Terminated is one; pydantic-core writes the type's name, then the message
        raise Panic(f"Error building schema validator:\\n  {type(e).__name__}: {e}") from None
root.run = run
from dreamcli.cli.app import main
main()
"""


@pytest.mark.parametrize(("signum", "line"), [(15, "error: interrupted by SIGTERM"),
                                              (1, "error: interrupted by SIGHUP"),
                                              (2, "error: interrupted")], ids=["TERM", "HUP", "INT"])
def test_a_signal_a_library_turned_into_its_own_error_ends_in_one_line(signum: int, line: str) -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(signum)], env=_env(), capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    assert (done.returncode, done.stderr.strip()) == (128 + signum, line)


@pytest.mark.parametrize("raised", ["Terminated(15)", "KeyboardInterrupt()"], ids=["TERM", "INT"])
def test_the_same_error_without_a_signal_is_not_hidden(raised: str) -> None:
    """Code that raises the stop itself, or a bug whose panic merely quotes the word: no signal came, so
    the traceback stays (exit 1)."""
    script = SCRIPT.replace("os.kill(os.getpid(), int(sys.argv.pop(1)))", f"raise {raised}")
    done = subprocess.run([sys.executable, "-c", script, "15"], env=_env(), capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 1 and "Panic: Error building schema validator" in done.stderr


def test_a_signal_ignored_at_start_stays_ignored() -> None:
    """Started with SIGINT ignored (`nohup`, a background job of a script), Ctrl-C does nothing: the
    entry point only records Ctrl-C where Python's own handler was in force, and never installs one."""
    script = SCRIPT.replace("signal.signal(signal.SIGINT, signal.default_int_handler)",
                            "signal.signal(signal.SIGINT, signal.SIG_IGN)")
    script = script.replace("def run(*a, **k):", "def run(*a, **k):\n    print(signal.getsignal(2) is signal.SIG_IGN)")
    script = script.replace("os.kill(os.getpid(), int(sys.argv.pop(1)))", "os.kill(os.getpid(), 2); return")
    done = subprocess.run([sys.executable, "-c", script, "2"], env=_env(), capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, "True", "")


WRAPPED = SCRIPT.replace('raise Panic(f"Error building schema validator:\\n  {type(e).__name__}: {e}") from None',
                         'raise RuntimeError("Error calling __set_name__ on \'Field\' instance") from e')


@pytest.mark.parametrize(("how", "code"), [("os.kill(os.getpid(), 2)", 130), ("raise KeyboardInterrupt", 1)],
                         ids=["signal", "raised"])
def test_an_error_raised_from_ctrl_c_is_the_stop_only_when_sigint_came(how: str, code: int) -> None:
    """Python 3.11 raises a RuntimeError from the KeyboardInterrupt that lands in a `__set_name__`: with
    SIGINT come, one line and 130; raised by code, no signal, the traceback stays."""
    assert WRAPPED != SCRIPT
    script = WRAPPED.replace("os.kill(os.getpid(), int(sys.argv.pop(1)))", how)
    done = subprocess.run([sys.executable, "-c", script, "2"], env=_env(), capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    if code == 130:
        assert (done.returncode, done.stderr.strip()) == (130, "error: interrupted")
    else:
        assert done.returncode == 1 and "RuntimeError: Error calling __set_name__" in done.stderr
