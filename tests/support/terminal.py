"""Running the installed command on a real terminal (a pty) of a given width, for the tests of what
dreamcli draws there (tests/ui, tests/cli):

    text = in_pty([DREAMCLI, "sessions", "list"], columns=80, env=env)   # its whole output, "\\n" lines

A module that imports this one is skipped where the platform has no `pty`."""

from __future__ import annotations

import fcntl
import os
import struct
import subprocess
import termios

import pytest

pty = pytest.importorskip("pty")


def in_pty(argv: list[str], *, columns: int, env: dict[str, str]) -> str:
    """Run `argv` with stdin, stdout and stderr on a pty `columns` wide; its whole output."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    try:
        proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
    finally:
        os.close(slave)
    shown = read_all(master)
    assert proc.wait(timeout=60) == 0, shown.decode(errors="replace")
    return shown.decode().replace("\r\n", "\n")


def read_all(master: int) -> bytes:
    """Everything a child writes to the pty whose master side is `master`, until it closes its side; `master`
    is closed then."""
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed its side
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return b"".join(chunks)
