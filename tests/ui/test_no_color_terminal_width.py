"""NO_COLOR turns colour off, nothing else: on a real terminal (a pty, COLUMNS not exported, as bash
leaves it) tables still fit the terminal's width, with no escape sequence in the output."""

from __future__ import annotations

import fcntl
import os
import struct
import subprocess
import termios
from pathlib import Path

import pytest

from tests.support.outcomes import make_session, workspace
from tests.support.run import DREAMCLI

pty = pytest.importorskip("pty")


def _in_pty(argv: list[str], *, columns: int, env: dict[str, str]) -> str:
    """Run `argv` with stdin, stdout and stderr on a pty `columns` wide; its whole output."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    try:
        proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
    finally:
        os.close(slave)
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
    assert proc.wait(timeout=60) == 0, b"".join(chunks).decode(errors="replace")
    return b"".join(chunks).decode().replace("\r\n", "\n")


@pytest.mark.parametrize("columns", [60, 80])
def test_no_color_on_a_terminal_fits_the_terminal(tmp_path: Path, columns: int) -> None:
    ws = workspace(tmp_path)
    make_session(ws, task="contract-review-with-a-long-task-name", turns=12, cost=1.2345)
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES") and not k.startswith("DREAMCLI_")}
    env.update(DREAMCLI_HOME=str(ws.root), NO_COLOR="1", TERM="xterm-256color")
    text = _in_pty([DREAMCLI, "sessions", "list"], columns=columns, env=env)
    lines = [ln for ln in text.split("\n") if ln]
    assert lines and lines[0].split()[0] == "id", text
    assert "\x1b" not in text  # no colour, no other sequence
    assert max(len(ln) for ln in lines) <= columns, text
    assert max(len(ln) for ln in lines) > columns - 20, text  # it used the width, not a narrow default
