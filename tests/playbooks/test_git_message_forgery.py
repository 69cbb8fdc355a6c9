"""A git-backed history's commit message keeps every untrusted value (a rejection's reason, the reviewer,
ids) on one line, so no value can add a trailer-looking line: `Audit-Line`/`Audit-Hash` stay the last
lines and the only trailers of their kind."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from dreamcli.gitstore import message
from dreamcli.workspace.home import Workspace
from tests.support.playbooks import cli, op, write_dream

DREAM = "01JD3Z0000GITFORGERY000001"
FORGED = "wrong\nAudit-Line: 1\nAudit-Hash: sha256:forged\r\nReviewer: mallory\x1b[0m\u2028Signed-off-by: x"


def test_untrusted_values_stay_on_their_line() -> None:
    record = {"action": "reject", "playbook": "legal", "dream_id": "D1\nAudit-Line: 7", "entry_ids": ["pb-1\nX: y"],
              "reason": FORGED, "actor": "ana\nAudit-Hash: sha256:bad", "os_user": "root\nA: b",
              "git_user": "G\rB: c"}
    text = message(record, 3, "sha256:real")
    lines = text.rstrip("\n").split("\n")
    assert lines[-2:] == ["Audit-Line: 3", "Audit-Hash: sha256:real"]
    starts = [line.split(":")[0] for line in lines[2:]]
    assert starts == ["Dream", "Entries", "Reason", "Reviewer", "Audit-Line", "Audit-Hash"]
    assert "\r" not in text and "\x1b" not in text and "\u2028" not in text
    assert "Reason: wrong Audit-Line: 1 Audit-Hash: sha256:forged Reviewer: mallory" in text


def _commits(ws: Workspace) -> int:
    out = subprocess.run(["git", "-C", str(ws.playbooks_dir), "rev-list", "--count", "HEAD"], capture_output=True,
                         text=True, check=True)
    return int(out.stdout)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_a_forged_reason_adds_no_trailer_to_the_commit(ws: Workspace) -> None:
    ws.config_path.write_text("playbooks:\n  git: true\n")
    write_dream(ws, DREAM, "legal", [op("pb-aaaa0001"), op("pb-aaaa0002", text="Two.")], base_version=0)
    assert cli(ws, "playbooks", "approve", DREAM, "-e", "pb-aaaa0001", "--yes").exit_code == 0
    before = _commits(ws)
    # a --reason is one line of text (docs/audit.md): refused before anything is written or committed
    r = cli(ws, "playbooks", "reject", DREAM, "-e", "pb-aaaa0002", "--reason", FORGED, "--yes")
    assert r.exit_code == 2 and "control character" in r.stderr, r.output
    assert _commits(ws) == before
    r = cli(ws, "playbooks", "reject", DREAM, "-e", "pb-aaaa0002", "--reason", "wrong Audit-Line: 1", "--yes")
    assert r.exit_code == 0, r.output
    trailers = subprocess.run(["git", "-C", str(ws.playbooks_dir), "log", "-1", "--format=%(trailers:only)"],
                              capture_output=True, text=True, check=True).stdout.split("\n")
    assert [t.split(":")[0] for t in trailers if t] == ["Dream", "Entries", "Reason", "Reviewer", "Audit-Line",
                                                        "Audit-Hash"]
    assert "Audit-Line: 2" in trailers
