"""Issue 20: Ctrl-D at the interactive review prompt stops cleanly; `e` edits an entry, then approves it."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dreamcli.playbooks import load_playbook
from tests.playbooks.test_playbooks_tty import Terminal
from tests.support.playbooks import dream_status, op, workspace, write_dream, write_playbook

pty = pytest.importorskip("pty")
DREAM = "01JD3Z0000000000000000TTY2"


def _start(ws_root: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], Terminal]:
    master, slave = pty.openpty()
    exe = shutil.which("dreamcli") or str(Path(sys.executable).parent / "dreamcli")
    proc = subprocess.Popen([exe, "--home", str(ws_root), "playbooks", "approve"], stdin=slave,
                            stdout=subprocess.PIPE, stderr=slave,
                            env={**os.environ, "DREAMCLI_ACTOR": "tty-user", "COLUMNS": "100", **env})
    os.close(slave)
    return proc, Terminal(master)


def test_ctrl_d_at_the_review_prompt_quits_without_an_error(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    write_playbook(ws, "legal", [("pb-aaaaaa01", "Tools", "Use pandoc for docx.")])
    write_dream(ws, DREAM, "legal", [op("pb-new00001", text="First."), op("pb-new00002", text="Second.")])
    proc, term = _start(ws.root, {})
    try:
        term.read_until(b"quit?")
        term.send("a\n")
        term.read_until(b"quit?")
        term.send("\x04")  # Ctrl-D
        proc.communicate(timeout=60)
        rest = term.buf
        with contextlib.suppress(OSError):
            rest += os.read(term.master, 65536)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(term.master)
    assert proc.returncode == 0
    assert b"EOFError" not in rest and b"internal error" not in rest
    pb = load_playbook(ws, "legal")
    assert pb.find("pb-new00001") is not None and pb.find("pb-new00002") is None
    assert dream_status(ws, DREAM) == "partially_approved"


def test_edit_choice_opens_the_editor_then_approves(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    write_playbook(ws, "legal", [("pb-aaaaaa01", "Tools", "Use pandoc for docx.")])
    write_dream(ws, DREAM, "legal", [op("pb-new00001", text="First.")])
    editor = tmp_path / "ed.sh"
    editor.write_text("#!/bin/sh\nprintf 'First, edited by a person.\\n' > \"$1\"\n")
    editor.chmod(0o755)
    proc, term = _start(ws.root, {"VISUAL": str(editor)})
    try:
        assert b"edit" in term.read_until(b"quit?")
        term.send("e\n")
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(term.master)
    assert proc.returncode == 0
    entry = load_playbook(ws, "legal").find("pb-new00001")
    assert entry is not None and "edited by a person" in entry.text
