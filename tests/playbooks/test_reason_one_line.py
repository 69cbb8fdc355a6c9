"""`--reason` of approve and reject is one line of text, as a reviewer name is (docs/audit.md): a control
character (ESC, BEL, DEL, U+009B) or a line break is refused (exit 2, one line) before anything is
written. Entry text (`--text`, `--edit-text`) may still span lines."""

from __future__ import annotations

import pytest

from dreamcli.playbooks import load_playbook
from dreamcli.workspace.home import Workspace
from tests.support.playbooks import audit, cli, decisions, op, write_dream

DREAM = "01JD3Z0000000000000000RSN1"
BAD = ["ok\x1b[2J\x1b[Hall good", "ok\x07", "ok\nReviewer: mallory", "ok\r", "ok\x7f", "ok\x9b2J", "ok\u2028x"]


@pytest.fixture
def dream(ws: Workspace) -> None:
    write_dream(ws, DREAM, "legal", [op("pb-rsn00001", text="Lesson one."), op("pb-rsn00002", text="Lesson two.")],
                base_version=0)


@pytest.mark.parametrize("reason", BAD)
def test_reject_refuses_a_reason_with_control_characters(ws: Workspace, dream: None, reason: str) -> None:
    r = cli(ws, "playbooks", "reject", DREAM, "--entry", "pb-rsn00001", "--reason", reason, "--yes")
    assert r.exit_code == 2, r.output
    assert r.stderr.count("\n") == 1 and "--reason" in r.stderr and "control character" in r.stderr
    assert "\x1b" not in r.stderr and "\x07" not in r.stderr
    assert decisions(ws, DREAM) == [] and audit(ws) == []


@pytest.mark.parametrize("reason", BAD[:3])
def test_approve_refuses_such_a_reason_too(ws: Workspace, dream: None, reason: str) -> None:
    r = cli(ws, "playbooks", "approve", DREAM, "--entry", "pb-rsn00001", "--force", "--reason", reason, "--yes")
    assert r.exit_code == 2, r.output
    assert r.stderr.count("\n") == 1 and "--reason" in r.stderr and "control character" in r.stderr
    assert decisions(ws, DREAM) == [] and audit(ws) == []
    assert not (ws.playbooks_dir / "legal.md").exists()


def test_a_plain_reason_and_multi_line_entry_text_still_work(ws: Workspace, dream: None) -> None:
    r = cli(ws, "playbooks", "reject", DREAM, "--entry", "pb-rsn00002", "--reason", "off policy, see ticket #12",
            "--yes")
    assert r.exit_code == 0, r.output
    assert [d["reason"] for d in decisions(ws, DREAM)] == ["off policy, see ticket #12"]
    r = cli(ws, "playbooks", "approve", DREAM, "--entry", "pb-rsn00001", "--edit-text",
            "First line.\nSecond line, indented on disk.", "--yes")
    assert r.exit_code == 0, r.output
    live = load_playbook(ws, "legal")
    assert live is not None
    (entry,) = live.entries()
    assert entry.text == "First line.\nSecond line, indented on disk."
