"""The `command` check (docs/outcomes.md, "Specs"): `run_command_check` runs the spec's command in the
session's workdir, in its own process group, and keeps the redacted tail of its output as evidence;
`RunningCommands` holds the commands running now, so an interrupt of the grade can kill them."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import threading
from typing import Any

from dreamcli.outcomes.evidence import RunView
from dreamcli.outcomes.spec import Check
from dreamcli.redaction import Redactor

OUTPUT_TAIL = 400
OUTPUT_SCAN = 256 * 1024  # the end of a command's output that is redacted before its tail is kept


class RunningCommands:
    """The `command` checks running now (one per Grader), so an interrupt can kill them: they run in
    their own session, which shields them from the terminal's SIGINT. Once closed, no command starts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._procs: set[subprocess.Popen[bytes]] = set()
        self.closed = False

    def add(self, proc: subprocess.Popen[bytes]) -> bool:
        with self._lock:
            if self.closed:
                _kill_group(proc)
                return False
            self._procs.add(proc)
            return True

    def discard(self, proc: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._procs.discard(proc)

    def kill_all(self) -> int:
        """Close (no command starts after this) and kill every running command's process group."""
        with self._lock:
            self.closed = True
            procs = list(self._procs)
        for proc in procs:
            _kill_group(proc)
        return len(procs)

    def __len__(self) -> int:
        with self._lock:
            return len(self._procs)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(OSError):
        os.killpg(proc.pid, signal.SIGKILL)


def run_command_check(check: Check, run: RunView, running: RunningCommands | None,
                      red: Redactor) -> tuple[bool | None, str, str]:
    """Run `check.run` in its own process group with its output in a temporary file (not a pipe: a
    daemon that keeps a pipe open would block the read). The group is always killed at the end, so
    nothing the command started in the background outlives the check. Returns (passed | None, reason,
    evidence), as every check runner does (checks.Outcome)."""
    if not run.workdir or not os.path.isdir(run.workdir):
        return None, "the session's workdir does not exist", ""
    if running is not None and running.closed:
        return None, f"`{check.run}` not run: grading was interrupted", ""
    with tempfile.TemporaryFile() as out:
        try:
            proc = subprocess.Popen(
                check.run or "", shell=True, cwd=run.workdir, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
            )
        except OSError as e:
            return None, f"cannot start the command: {e.strerror}", ""
        if running is not None and not running.add(proc):
            proc.wait()
            return None, f"`{check.run}` not run: grading was interrupted", ""
        timed_out = False
        try:
            proc.wait(timeout=check.timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc)  # before the leader is reaped, so its group id cannot be reused yet
            proc.wait()
        finally:
            _kill_group(proc)  # background children left in the group
            if running is not None:
                running.discard(proc)
        if running is not None and running.closed and proc.returncode is not None and proc.returncode < 0:
            return None, f"`{check.run}` killed: grading was interrupted", ""
        if timed_out:
            return None, f"`{check.run}` timed out after {check.timeout:g} s", ""
        tail = _tail(out, red)
    if proc.returncode == 0:
        return True, f"`{check.run}` exited 0", tail
    return False, f"`{check.run}` exited {proc.returncode}", tail


def _tail(f: Any, red: Redactor) -> str:
    """The last OUTPUT_TAIL characters of the output, cut from its last OUTPUT_SCAN bytes redacted (from
    a line start, so no secret begins before what is redacted)."""
    size = f.seek(0, os.SEEK_END)
    f.seek(max(0, size - OUTPUT_SCAN))
    data = f.read()
    if size > OUTPUT_SCAN:
        data = data[data.find(b"\n") + 1:] if b"\n" in data else b""
    return red.redact_text(data.decode("utf-8", errors="replace"))[-OUTPUT_TAIL:].strip()
