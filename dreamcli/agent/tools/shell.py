"""A persistent bash process that runs one command at a time, with a timeout and bounded output.

Each command is written to a private file (0600, in a 0700 directory) and sourced by the shell
with stdin from /dev/null, followed by a `printf` of a random end marker and the exit status:
so cwd, variables and jobs persist between commands, a syntax error is an ordinary exit status 2,
and nothing the command prints can be mistaken for the marker. stdout and stderr come combined.

The shell runs in a process group of its own. `stop()` (any thread, even while `run()` waits)
sends the whole group SIGTERM, then SIGKILL after KILL_GRACE_S, and wakes the waiting `run()`,
which raises `ShellStopped`; then the processes that left the group (`setsid`, a daemon) but carry
the shell's tag in their environment (`dreamcli.shell_records.stop_members`). A command that outlives its
timeout is stopped the same way and `run()` raises TimeoutError. Output is kept as a head and a
tail of at most `max_bytes` each, so a command that prints gigabytes costs bounded memory.

With `groups` (a folder: the workspace's `state/live/shells/`), each shell is recorded there while it
runs (`dreamcli.shell_records.record_group`): if dreamcli is killed with -9, the next command's sweep stops
what the shell still runs (`stop_orphaned_groups`). Not a parent-death signal: it would reach bash
alone (a command it runs, or left in the background, would go on), and it fires when the thread that
started the shell ends, not the process.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from dreamcli.procinfo import process_start
from dreamcli.shell_records import GROUP_TAG_VAR, forget_group, record_group, stop_members

KILL_GRACE_S = 0.5  # SIGTERM to the shell's process group, then SIGKILL after this long
POLL_S = 0.2  # how often a waiting run() checks that the shell is still there
READ_CHUNK = 65536


class ShellStopped(RuntimeError):
    """stop() ran while a command was running, or before it started."""


def stop_process_group(pgid: int, grace_s: float = KILL_GRACE_S, reap: Callable[[], object] | None = None) -> None:
    """SIGTERM every process of group `pgid`; SIGKILL those still there after `grace_s`. `reap`
    collects our own child (the group's leader): a zombie still counts as a member of its group."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if reap is not None:
            reap()
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return
        time.sleep(0.01)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


class CappedBuffer:
    """The first and the last `limit` bytes of a stream, and how long it was."""

    def __init__(self, limit: int) -> None:
        self.limit = max(0, limit)
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def add(self, data: bytes) -> None:
        self.total += len(data)
        room = self.limit - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            if len(self.tail) > self.limit:
                del self.tail[: len(self.tail) - self.limit]

    @property
    def complete(self) -> bool:
        """True while nothing was dropped between head and tail."""
        return self.total == len(self.head) + len(self.tail)


@dataclass
class ShellOutput:
    output: CappedBuffer
    exit_code: int
    shell_exited: bool = False  # the command ended the shell itself (`exit 3`)


class Shell:
    """One bash process in `workdir` with environment `env`."""

    def __init__(self, workdir: Path, env: Mapping[str, str], max_bytes: int, *, umask: int = -1,
                 groups: Path | None = None) -> None:
        self.workdir = workdir
        self.umask = umask  # the shell's umask (-1: this process's)
        self.env = dict(env)
        self.max_bytes = max_bytes
        self.groups = groups  # where each shell is recorded while it runs (None: nowhere)
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir: str | None = None
        self._record: Path | None = None
        self._mark: tuple[int, int, str] | None = None  # the shell's pid, start time and tag (`stop_members`)
        self._stopped = False
        self._busy = False
        self._wake_r, self._wake_w = os.pipe()

    @property
    def running(self) -> bool:
        proc = self._proc
        return proc is not None and proc.poll() is None

    def start(self) -> None:
        with self._lock:
            if self._stopped:
                raise ShellStopped("the session was stopped")
            self._dir = tempfile.mkdtemp(prefix="dreamcli-sh-")
            tag = secrets.token_hex(12)  # what the sweep knows this shell's processes by
            self._proc = subprocess.Popen(
                ["/bin/bash", "--noprofile", "--norc"], cwd=str(self.workdir), env={**self.env, GROUP_TAG_VAR: tag},
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                start_new_session=True, close_fds=True, umask=self.umask,
            )
            start = process_start(self._proc.pid, zombies=False)
            self._mark = None if start is None else (self._proc.pid, start, tag)
            if self.groups is not None:
                self._record = record_group(self.groups, self._proc.pid, tag)

    def run(self, command: str, timeout: float) -> ShellOutput:
        """Run `command`; raises TimeoutError (the shell is then gone) or ShellStopped."""
        with self._lock:
            if self._stopped:
                raise ShellStopped("the session was stopped")
            self._busy = True
        try:
            return self._run(command, timeout)
        finally:
            with self._lock:
                self._busy = False
                stopped = self._stopped
            if stopped:
                self._release()

    def _run(self, command: str, timeout: float) -> ShellOutput:
        if not self.running:
            self._discard()
            self.start()
        proc, folder = self._proc, self._dir
        assert proc is not None and proc.stdin is not None and proc.stdout is not None and folder is not None
        script = Path(folder) / "command"
        fd = os.open(script, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write(command if command.endswith("\n") else command + "\n")
        marker = f"__dreamcli_done_{secrets.token_hex(12)}__".encode()
        line = f". '{script}' </dev/null; printf '%s%d\\n' '{marker.decode()}' \"$?\"\n"
        try:
            proc.stdin.write(line.encode())
            proc.stdin.flush()
        except (BrokenPipeError, OSError):
            if self._stopped:
                raise ShellStopped("the session was stopped") from None
        return self._collect(proc, marker, time.monotonic() + timeout, f"{script}: ".encode())

    def _collect(self, proc: subprocess.Popen[bytes], marker: bytes, deadline: float, noise: bytes) -> ShellOutput:
        assert proc.stdout is not None
        out = CappedBuffer(self.max_bytes)
        pending = b""
        keep = len(marker) + len(noise) + 16  # bytes that may start the marker (or the script's name)
        fd = proc.stdout.fileno()
        while True:
            if self._stopped:
                raise ShellStopped("the session was stopped")
            left = deadline - time.monotonic()
            if left <= 0:
                self.stop_shell()
                raise TimeoutError
            ready = _readable((fd, self._wake_r), min(left, POLL_S))
            if fd not in ready:
                if proc.poll() is not None and fd not in _readable((fd,), 0):
                    return self._exited(proc, out, pending)
                continue
            chunk = os.read(fd, READ_CHUNK)
            if not chunk:
                if self._stopped:
                    raise ShellStopped("the session was stopped")
                return self._exited(proc, out, pending)
            pending += chunk
            if noise in pending:
                pending = pending.replace(noise, b"")
            at = pending.find(marker)
            if at >= 0:
                end = pending.find(b"\n", at)
                if end < 0:
                    continue
                out.add(pending[:at])
                status = pending[at + len(marker):end]
                return ShellOutput(out, int(status) if status.isdigit() else 1)
            if len(pending) > keep:
                out.add(pending[:-keep])
                pending = pending[-keep:]

    def _exited(self, proc: subprocess.Popen[bytes], out: CappedBuffer, pending: bytes) -> ShellOutput:
        out.add(pending)
        code = proc.wait()
        self.stop_shell()  # what it left running in its group
        return ShellOutput(out, code if code >= 0 else 128 - code, shell_exited=True)

    def stop_shell(self) -> None:
        """Stop the current shell and everything it started; a later run() starts a new one."""
        with self._lock:
            proc, record, mark = self._proc, self._record, self._mark
        if proc is not None:
            stop_process_group(proc.pid, reap=proc.poll)
            with contextlib.suppress(Exception):
                proc.wait(timeout=2)
        if mark is not None:  # what left the group (`setsid`) and still carries the shell's tag
            stop_members([mark], KILL_GRACE_S)
        forget_group(record)
        self._discard()

    def _discard(self) -> None:
        with self._lock:
            proc, folder = self._proc, self._dir
            # a record left (a shell gone by itself) is the sweep's
            self._proc = self._dir = self._record = self._mark = None
        if proc is not None:
            for stream in (proc.stdin, proc.stdout):
                with contextlib.suppress(OSError):
                    if stream is not None:
                        stream.close()
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)

    def stop(self) -> None:
        """Stop for good (any thread): a waiting run() raises ShellStopped, and so do later ones."""
        with self._lock:
            self._stopped = True
            proc, busy = self._proc, self._busy
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")
        if proc is not None:
            stop_process_group(proc.pid, reap=proc.poll)
        if not busy:  # else the run() in flight releases everything on its way out
            self._release()

    close = stop

    def _release(self) -> None:
        self.stop_shell()
        with self._lock:
            fds, self._wake_r, self._wake_w = (self._wake_r, self._wake_w), -1, -1
        for fd in fds:
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)


def _readable(fds: tuple[int, ...], timeout_s: float) -> set[int]:
    """The fds of `fds` that can be read (data, or the end of the pipe) within `timeout_s`. poll, not select:
    select() refuses a descriptor numbered 1024 or more, which a long-lived process holding many files
    (a test runner, a busy lead agent) reaches."""
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN | select.POLLPRI)
    return {fd for fd, _events in poller.poll(max(0, int(timeout_s * 1000)))}
