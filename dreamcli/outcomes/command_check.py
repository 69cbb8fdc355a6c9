"""The `command` check (docs/outcomes.md, "Specs"): `run_command_check` runs the spec's command in the
session's workdir, in its own process group, and keeps the redacted tail of its output as evidence
(dreamcli/outcomes/command_output.py); `RunningCommands` holds the commands running now, so an interrupt
of the grade can kill them."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading

from dreamcli.outcomes.command_output import OutputTail, drain, read_output, tail_evidence
from dreamcli.outcomes.evidence import RunView
from dreamcli.outcomes.spec import Check
from dreamcli.redaction import Redactor


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
    """Run `check.run` in its own process group, reading its output from a pipe while it runs and keeping only
    its end (command_output.py): a command that prints without end fills neither the disk nor memory. The read
    stops when the shell ends, so a daemon that keeps the pipe open does not block it. The group is always
    killed at the end, so nothing the command started in the background outlives the check. Returns
    (passed | None, reason, evidence), as every check runner does (checks.Outcome)."""
    if not run.workdir or not os.path.isdir(run.workdir):
        return None, "the session's workdir does not exist", ""
    if running is not None and running.closed:
        return None, f"`{check.run}` not run: grading was interrupted", ""
    read_end, write_end = os.pipe()
    try:
        os.set_blocking(read_end, False)
        try:
            proc = subprocess.Popen(
                check.run or "", shell=True, cwd=run.workdir, stdin=subprocess.DEVNULL, stdout=write_end,
                stderr=subprocess.STDOUT, start_new_session=True,
            )
        except OSError as e:
            return None, f"cannot start the command: {e.strerror}", ""
        finally:
            os.close(write_end)
        return _finish(check, proc, read_end, running, red)
    finally:
        os.close(read_end)


def _finish(check: Check, proc: subprocess.Popen[bytes], read_end: int, running: RunningCommands | None,
            red: Redactor) -> tuple[bool | None, str, str]:
    """Wait for the started command `proc` (reading its output from `read_end`), kill its group, and judge it."""
    if running is not None and not running.add(proc):
        proc.wait()
        return None, f"`{check.run}` not run: grading was interrupted", ""
    out = OutputTail()
    try:
        ended = read_output(read_end, proc, out, check.timeout)
        if not ended:
            _kill_group(proc)  # before the leader is reaped, so its group id cannot be reused yet
            proc.wait()
    finally:
        _kill_group(proc)  # background children left in the group
        if running is not None:
            running.discard(proc)
    if running is not None and running.closed and proc.returncode is not None and proc.returncode < 0:
        return None, f"`{check.run}` killed: grading was interrupted", ""
    if not ended:
        return None, f"`{check.run}` timed out after {check.timeout:g} s", ""
    drain(read_end, out)
    tail = tail_evidence(out, red)
    if proc.returncode == 0:
        return True, f"`{check.run}` exited 0", tail
    return False, f"`{check.run}` exited {proc.returncode}", tail
