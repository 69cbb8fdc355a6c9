"""On a terminal (a pseudo-TTY), `approve` without --entry/--all asks about each pending entry."""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dreamcli.playbooks import load_playbook
from tests.support.playbooks import audit, dream_status, op, workspace, write_dream, write_playbook

pty = pytest.importorskip("pty")
DREAM = "01JD3Z0000000000000000TTY1"


class Terminal:
    def __init__(self, master: int) -> None:
        self.master = master
        self.buf = b""

    def read_until(self, token: bytes, timeout: float = 30) -> bytes:
        end = time.monotonic() + timeout
        while token not in self.buf and time.monotonic() < end:
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if ready:
                try:
                    self.buf += os.read(self.master, 4096)
                except OSError:
                    break
        assert token in self.buf, self.buf[-800:]
        seen, self.buf = self.buf, b""
        return seen

    def send(self, text: str) -> None:
        os.write(self.master, text.encode())


def test_interactive_review_asks_per_entry(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    write_playbook(ws, "legal", [("pb-aaaaaa01", "Tools", "Use pandoc for docx.")])
    write_dream(ws, DREAM, "legal", [op("pb-new00001", text="First."), op("pb-new00002", text="Second."),
                                     op("pb-new00003", text="Third.")])
    master, slave = pty.openpty()
    exe = shutil.which("dreamcli") or str(Path(sys.executable).parent / "dreamcli")
    proc = subprocess.Popen([exe, "--home", str(ws.root), "playbooks", "approve"], stdin=slave,
                            stdout=subprocess.PIPE, stderr=slave,
                            env={**os.environ, "DREAMCLI_ACTOR": "tty-user", "COLUMNS": "100"})
    os.close(slave)
    term = Terminal(master)
    try:
        assert b"First." in term.read_until(b"quit?")
        term.send("a\n")
        assert b"Second." in term.read_until(b"quit?")
        term.send("r\n")
        term.read_until(b"reason")
        term.send("not useful\n")
        term.read_until(b"quit?")
        term.send("s\n")
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    assert proc.returncode == 0
    pb = load_playbook(ws, "legal")
    assert pb.find("pb-new00001") is not None and pb.find("pb-new00002") is None
    assert [(r["action"], r["actor"], r["entry_ids"]) for r in audit(ws)] == [
        ("reject", "tty-user", ["pb-new00002"]), ("approve", "tty-user", ["pb-new00001"])]
    assert dream_status(ws, DREAM) == "partially_approved"  # pb-new00003 was skipped: still pending
