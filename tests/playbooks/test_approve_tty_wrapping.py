"""Interactive `playbooks approve` on an 80-column terminal wraps the support and evidence lines between
words with a hanging indent, as `playbooks diff` does (they used to run on to 170 characters)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.playbooks.test_playbooks_tty import Terminal
from tests.support.playbooks import SID, op, workspace, write_dream, write_playbook

pty = pytest.importorskip("pty")
DREAM = "01JD3Z0000000000000000TTYW"
EXCERPT = ("tool error: antiword failed on contracts/annex-b.doc because the file is a docx saved with a doc "
           "extension; converting with pandoc -t plain worked and the summary cited every section")
REASON = "recurring pattern across the contract review sessions where old Word files were read as binary"


def test_the_entry_shown_for_a_decision_wraps_at_the_terminal_width(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    write_playbook(ws, "legal", [("pb-aaaaaa01", "Tools", "Use pandoc for docx.")])
    write_dream(ws, DREAM, "legal", [op("pb-new0000w", text="Convert .doc files with pandoc.", reason=REASON,
                                        evidence=[{"session_id": SID, "seq": 14, "excerpt": EXCERPT}])])
    master, slave = pty.openpty()
    exe = shutil.which("dreamcli") or str(Path(sys.executable).parent / "dreamcli")
    proc = subprocess.Popen([exe, "--home", str(ws.root), "playbooks", "approve"], stdin=slave,
                            stdout=subprocess.PIPE, stderr=slave,
                            env={**os.environ, "DREAMCLI_ACTOR": "tty-user", "COLUMNS": "80", "NO_COLOR": "1"})
    os.close(slave)
    term = Terminal(master)
    try:
        shown = term.read_until(b"quit?").decode()
        term.send("s\n")
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    assert proc.returncode == 0
    lines = shown.replace("\r\n", "\n").split("\n")
    entry = lines[:next(i for i, ln in enumerate(lines) if "quit?" in ln)]
    assert all(len(ln) <= 80 for ln in entry), [ln for ln in entry if len(ln) > 80]
    start = next(i for i, ln in enumerate(entry) if ln.startswith(f"  · {SID}#14: tool error:"))
    assert entry[start + 1].startswith("      ") and entry[start + 1].strip()  # a hanging indent
    joined = " ".join(ln.strip() for ln in entry)
    assert EXCERPT in joined and REASON in joined  # broken only between words
