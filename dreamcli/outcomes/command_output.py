"""What a `command` check keeps of its command's output (docs/outcomes.md, "Specs"): `read_output` reads the
pipe while the command runs, keeping only the last OUTPUT_SCAN bytes in memory (`OutputTail`), so a command
that prints without end costs neither disk nor memory; `tail_evidence` is the check's evidence, the last
OUTPUT_TAIL characters of that end redacted."""

from __future__ import annotations

import contextlib
import os
import selectors
import subprocess
import time
from collections import deque

from dreamcli.redaction import Redactor

OUTPUT_TAIL = 400  # characters of a command's output kept as the check's evidence
OUTPUT_SCAN = 256 * 1024  # the end of a command's output that is kept, and redacted before its tail is cut
# Characters dropped from the start of a kept end that is not the whole output: a secret the cut went through
# shows its unredacted part there. Longer than any secret the redaction rules leave unmatched when cut, a
# private key (8192-bit RSA: 6.4 KB) included; what is kept is the last OUTPUT_TAIL of the rest, far from it.
CUT_GUARD = 8192
READ_CHUNK = 65536
POLL_S = 0.05  # how often a wait on a quiet pipe checks that the command is still running
DRAIN_S = 0.5  # how long to wait, once the command ended, for a pipe a process outside its group holds open


class OutputTail:
    """The last `limit` bytes of a stream, and how many bytes it had in all."""

    def __init__(self, limit: int = OUTPUT_SCAN) -> None:
        self.limit = limit
        self.total = 0
        self._chunks: deque[bytes] = deque()
        self._held = 0

    def add(self, data: bytes) -> None:
        self.total += len(data)
        self._chunks.append(data)
        self._held += len(data)
        while self._held - len(self._chunks[0]) >= self.limit:
            self._held -= len(self._chunks.popleft())

    @property
    def cut(self) -> bool:
        """Whether bytes before the kept end were dropped."""
        return self.total > self.limit

    def data(self) -> bytes:
        return b"".join(self._chunks)[-self.limit:] if self.limit else b""


def read_output(fd: int, proc: subprocess.Popen[bytes], out: OutputTail, timeout: float) -> bool:
    """Read the pipe `fd` into `out` until `proc` (the command's shell) ends; False when it is still running after
    `timeout` seconds. The read stops when the shell ends, not at the pipe's end: a process it left in the
    background may hold the pipe open (the caller kills its group, then `drain`s the pipe)."""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        open_ = True
        while proc.poll() is None:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if not open_:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(min(left, POLL_S))
            elif sel.select(min(left, POLL_S)) and not _read(fd, out):
                sel.unregister(fd)
                open_ = False
    return True


def drain(fd: int, out: OutputTail, wait: float = DRAIN_S) -> None:
    """What is left in the pipe `fd` once the command's group is killed: up to its end, or what comes in `wait`
    seconds when a process outside the group (`setsid`) still holds it open (its later output is not read)."""
    deadline = time.monotonic() + wait
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while (left := deadline - time.monotonic()) > 0:
            if sel.select(left) and not _read(fd, out):
                return


def _read(fd: int, out: OutputTail) -> bool:
    """One read from the non-blocking pipe `fd` into `out`; False at its end."""
    try:
        data = os.read(fd, READ_CHUNK)
    except BlockingIOError:
        return True
    if not data:
        return False
    out.add(data)
    return True


def tail_evidence(out: OutputTail, red: Redactor) -> str:
    """The last OUTPUT_TAIL characters of the output, trailing blank space left out, cut from its kept end redacted
    whole (less CUT_GUARD characters at its start when that end is not the whole output)."""
    text = red.redact_text(out.data().decode("utf-8", errors="replace")).rstrip()
    if out.cut:
        text = text[CUT_GUARD:]
    return text[-OUTPUT_TAIL:].lstrip()
