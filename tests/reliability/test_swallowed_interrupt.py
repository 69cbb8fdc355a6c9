"""A signal whose KeyboardInterrupt lands in a finaliser (a weakref callback, a `__del__`: Python prints
"Exception ignored in ..." and goes on) still stops the command: it is sent again, so the work stops
where it is, in one line and with the signal's exit code. Before, the command finished as if no signal
had come (CI: an import stopped by Ctrl-C exited 0 with a weakref traceback on stderr).
docs/reliability.md, "Signals"."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from dreamcli.sessions.paths import iter_session_files
from dreamcli.workspace.home import Workspace
from tests.reliability.test_orphaned_workers import _env
from tests.support.transcripts import claude_transcript, utc

pytestmark = pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="POSIX signals")

SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP]
IDS = ["INT", "TERM", "HUP"]

# a finaliser in which the signal comes (its handler raises there), then work that would finish
BLOCK = """
import signal, sys, threading, time
from dreamcli.interrupts import signals_as_interrupt
signum, wait = int(sys.argv[1]), sys.argv[2]
class Finaliser:
    def __del__(self):
        signal.raise_signal(signum)
        sum(range(1000))
try:
    with signals_as_interrupt():
        Finaliser()
        if wait == "event":
            threading.Event().wait(30)  # a main thread that waits (on a lock) wakes up to it
        else:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                pass
        print("finished")
except KeyboardInterrupt as e:
    print("stopped", type(e).__name__, getattr(e, "signum", None))
"""


def _python(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", script, *args], env=_env(), capture_output=True, text=True,
                          timeout=25, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("wait", ["busy", "event"])
@pytest.mark.parametrize("signum", SIGNALS, ids=IDS)
def test_a_signal_a_finaliser_swallows_still_stops_the_block(signum: int, wait: str) -> None:
    done = _python(BLOCK, str(signum), wait)
    expected = "stopped KeyboardInterrupt None" if signum == signal.SIGINT else f"stopped Terminated {signum}"
    assert done.stdout.strip() == expected, done.stderr
    assert done.stderr == ""  # no "Exception ignored in" traceback


def test_other_exceptions_a_finaliser_swallows_are_still_shown_and_the_hook_is_put_back() -> None:
    script = """
import sys
from dreamcli.interrupts import signals_as_interrupt
before = sys.unraisablehook
class Finaliser:
    def __del__(self):
        raise ValueError("a bug in a finaliser")
with signals_as_interrupt():
    Finaliser()
    print("went on")
print("hook back:", sys.unraisablehook is before)
"""
    done = _python(script)
    assert done.stdout.split("\n")[:2] == ["went on", "hook back: True"]
    assert "Exception ignored in" in done.stderr and "ValueError: a bug in a finaliser" in done.stderr


# `sessions import` (one process): on its third transcript a finaliser takes the signal
IMPORT = """
import signal, sys, time
from dreamcli.sessions.importers import units
signum = int(sys.argv.pop(1))
real, calls, swallowed = units.Converter.unit, [], []
class Finaliser:
    def __del__(self):
        signal.raise_signal(signum)
def unit(self, *a, **k):
    calls.append(1)
    if len(calls) == 3:
        Finaliser()
        swallowed.append(1)
    if swallowed:  # the signal sent again lands within the next units, not after the last (a busy machine's thread)
        time.sleep(0.2)
    return real(self, *a, **k)
units.Converter.unit = unit
from dreamcli.cli.app import main
sys.argv = ["dreamcli", *sys.argv[1:]]
main()
"""


@pytest.mark.parametrize(("signum", "code", "line"), [
    (signal.SIGINT, 130, "error: interrupted"),
    (signal.SIGTERM, 143, "error: interrupted by SIGTERM"),
], ids=["INT", "TERM"])
def test_an_import_whose_signal_a_finaliser_swallows_stops_and_the_next_finishes(
        tmp_path: Path, signum: int, code: int, line: str) -> None:
    src = tmp_path / "projects"
    for i in range(12):
        sid = f"{i:04d}-aaaa"
        claude_transcript(src / "-p" / f"{sid}.jsonl", session_id=sid, start=utc(2026, 4, 1 + i, 9))
    home = tmp_path / "ws"
    args = ["--home", str(home), "sessions", "import", "claude-code", str(src), "--workers", "1"]

    stopped = _python(IMPORT, str(signum), *args)
    assert (stopped.returncode, stopped.stderr.strip()) == (code, line)
    ws = Workspace(root=home, source="option")
    assert len(list(iter_session_files(ws))) < 12  # stopped part-way, not finished

    again = _python(IMPORT.replace("len(calls) == 3", "False"), str(signum), *args)
    assert again.returncode == 0, again.stderr
    assert len(list(iter_session_files(ws))) == 12  # nothing lost


# the signal comes in a finaliser as the block ends: it is raised by the block itself, not lost
AT_END = """
import signal, sys, time
from dreamcli.interrupts import signals_as_interrupt
signum, how = int(sys.argv[1]), sys.argv[2]
class Finaliser:
    def __del__(self):
        signal.raise_signal(signum)
try:
    with signals_as_interrupt():
        Finaliser()
        print("work done")
        if how == "exit":
            sys.exit(0)
except KeyboardInterrupt as e:
    print("stopped", type(e).__name__, getattr(e, "signum", None))
time.sleep(0.1)  # a signal sent late would land here, outside the block
print("after")
"""


@pytest.mark.parametrize("how", ["end", "exit"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["INT", "TERM"])
def test_a_signal_swallowed_as_the_block_ends_stops_the_block(signum: int, how: str) -> None:
    done = _python(AT_END, str(signum), how)
    expected = "stopped KeyboardInterrupt None" if signum == signal.SIGINT else f"stopped Terminated {signum}"
    assert (done.returncode, done.stdout.split("\n")[:3]) == (0, ["work done", expected, "after"]), done.stderr
    assert done.stderr == ""


NESTED = """
import os, signal, time
from dreamcli.interrupts import Terminated, signals_as_interrupt
class Finaliser:
    def __del__(self):
        signal.raise_signal(signal.SIGTERM)
with signals_as_interrupt():  # the entry point's
    Finaliser()  # swallowed: sent again a moment later
    try:
        with signals_as_interrupt():  # the command's own, entered at once (as `run` does)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                pass
            print("finished")
    except Terminated:
        try:
            os.kill(os.getpid(), signal.SIGTERM)  # a repeat during the cleanup
            time.sleep(0.2)
            print("cleanup finished")
        except Terminated:
            print("cleanup cut short")
"""


def test_a_repeat_after_a_redelivered_signal_is_ignored_during_the_cleanup() -> None:
    done = _python(NESTED)
    assert done.stdout.strip() == "cleanup finished", done.stderr
