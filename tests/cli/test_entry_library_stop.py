"""A signal the entry point took, which a library turned into an error of its own that is not an Exception
(pydantic-core panics when SIGTERM lands while it builds a validator: PanicException, a BaseException),
still ends the command as the signal does: one line and 128 + the signal, no Python traceback (CI saw exit 1
and a traceback). Ctrl-C too: Python's own KeyboardInterrupt, which the panic names in its message (CI saw
that on the lowest pydantic), and an error raised from it (Python 3.11 wraps what a class's `__set_name__`
raises in a RuntimeError: CI saw a pydantic model's field do so on the lowest leg)."""

from __future__ import annotations

import itertools
import subprocess
import sys
from typing import Any

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


@pytest.mark.parametrize("signum", [2, 1], ids=["INT", "HUP"])
def test_a_signal_ignored_at_start_stays_ignored(signum: int) -> None:
    """Started with SIGINT ignored (a background job of a script), Ctrl-C does nothing: the entry point only
    records Ctrl-C where Python's own handler was in force, and never installs one. Started with SIGHUP ignored
    (`nohup dreamcli dream &`), the terminal that hangs up does not stop the command: the entry point takes
    SIGTERM and SIGHUP, but leaves a signal it found ignored as it is."""
    script = SCRIPT.replace("signal.signal(signal.SIGINT, signal.default_int_handler)",
                            f"signal.signal({signum}, signal.SIG_IGN)")
    script = script.replace("def run(*a, **k):",
                            f"def run(*a, **k):\n    print(signal.getsignal({signum}) is signal.SIG_IGN)")
    script = script.replace("os.kill(os.getpid(), int(sys.argv.pop(1)))", f"os.kill(os.getpid(), {signum}); return")
    done = subprocess.run([sys.executable, "-c", script, str(signum)], env=_env(), capture_output=True, text=True,
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


IN_COMMAND = """
import os, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, whatever started this test
import dreamcli.cli.common as common
def opened(*a, **k):  # the command's first step, as a pydantic model built while a module is imported
    try:
        HOW
    except KeyboardInterrupt as e:
        raise RuntimeError("Error calling __set_name__ on 'Field' instance 'episodes' in 'Recovery'") from e
    raise RuntimeError("no stop came")
common.open_workspace = opened
sys.argv = ["dreamcli", "--home", os.environ["HOME_DIR"], "dream", "--offline"]
from dreamcli.cli.app import main
main()
"""


MAPPED = IN_COMMAND.replace(
    """        raise RuntimeError("Error calling __set_name__ on 'Field' instance 'episodes' in 'Recovery'") from e""",
    """        try:  # pydantic-core builds a response model's validator lazily, then the model call's error mapping
            raise ValueError(f"Error building schema validator:\\n  {type(e).__name__}: {e}") from e
        except ValueError as v:
            from dreamcli.modelclient import api_error
            raise api_error(v, what="dreamer") from None""")


@pytest.mark.parametrize(("how", "code", "said"), [
    ("os.kill(os.getpid(), signal.SIGINT)", 130, "error: interrupted"),
    ("os.kill(os.getpid(), signal.SIGTERM)", 143, "error: interrupted by SIGTERM"),
], ids=["INT", "TERM"])
def test_a_stop_our_error_mapping_took_for_a_model_error_is_the_stop(tmp_path: Any, how: str, code: int,
                                                                    said: str) -> None:
    """`api_error` makes any error of a model call a DreamError (exit 3), its cause dropped: one that names the
    stop is still the stop when the signal came."""
    assert MAPPED != IN_COMMAND
    done = subprocess.run([sys.executable, "-c", MAPPED.replace("HOW", how)],
                          env={**_env(), "HOME_DIR": str(tmp_path / "home")}, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    assert (done.returncode, done.stderr.strip().splitlines()[-1]) == (code, said), done.stderr


@pytest.mark.parametrize(("how", "code", "said"), [
    ("os.kill(os.getpid(), signal.SIGINT)", 130, "error: interrupted"),
    ("os.kill(os.getpid(), signal.SIGTERM)", 143, "error: interrupted by SIGTERM"),
    ("raise KeyboardInterrupt", 1, "error: internal error: RuntimeError: Error calling __set_name__"),
], ids=["INT", "TERM", "raised"])
def test_an_error_the_command_raised_from_a_stop_is_the_stop(tmp_path: Any, how: str, code: int, said: str) -> None:
    """Inside the command (CI saw it in `dream`'s imports on the lowest leg), where the root reports errors: one
    line and 128 + the signal when the signal came; raised by code, an internal error as before."""
    script = IN_COMMAND.replace("HOW", how)
    done = subprocess.run([sys.executable, "-c", script], env={**_env(), "HOME_DIR": str(tmp_path / "home")},
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == code, done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith(said), done.stderr


def test_what_can_be_a_stop_a_library_turned_into_its_own_error() -> None:
    """Raised from one, at any depth; naming one (pydantic-core's SchemaError, an Exception, writes the type's
    name); not any other error, nor a cause chain a bug made circular."""
    from dreamcli.interrupts import Terminated, wraps_stop

    def chained(*errors: BaseException) -> BaseException:
        for outer, inner in itertools.pairwise(errors):
            outer.__cause__ = inner
        return errors[0]

    assert wraps_stop(chained(RuntimeError("set_name"), ValueError("x"), KeyboardInterrupt()))
    assert wraps_stop(chained(RuntimeError("set_name"), Terminated(15)))
    assert wraps_stop(ValueError("Error building schema: KeyboardInterrupt: "))
    assert wraps_stop(ValueError(f"Error building schema: Terminated: {Terminated(15)}"))
    assert wraps_stop(ValueError(f"x: {Terminated(15)!r}"))
    assert not wraps_stop(ValueError("cannot read Terminated.txt")) and not wraps_stop(OSError("connection Terminated"))
    assert not wraps_stop(chained(RuntimeError("a"), ValueError("b")))
    loop = chained(RuntimeError("a"), ValueError("b"))
    assert loop.__cause__ is not None
    loop.__cause__.__cause__ = loop
    assert not wraps_stop(loop)
