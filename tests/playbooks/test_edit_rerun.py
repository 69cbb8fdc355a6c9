"""`playbooks edit` on a full disk: a write after the decision fails (exit 74, "run the command again;
nothing written before is lost"), and the rerun finishes the edit without a second decision or a second
audit record."""

from __future__ import annotations

import errno
from typing import Any

import pytest

from dreamcli import audit_chain
from dreamcli.audit import content_hash
from dreamcli.workspace.home import Workspace
from tests.support.playbooks import audit, cli, decisions, op, write_dream, write_playbook

DREAM = "01JD3Z0000000000000000EDT1"
PROPOSED = "Convert .docx with pandoc before reading."
NEW = "Convert .docx with pandoc, then read the text."


@pytest.fixture
def pending(ws: Workspace) -> None:
    write_playbook(ws, "legal", [("pb-aaaaaa01", "Tools", "Use pandoc for docx.")], version=1)
    write_dream(ws, DREAM, "legal", [op("pb-new00001", text=PROPOSED, section="Tools")])


def _full(path: str) -> OSError:
    return OSError(errno.ENOSPC, "No space left on device", path)


def _edits(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r.get("action") == "edit"]


def _edit(ws: Workspace, text: str = NEW) -> Any:
    return cli(ws, "playbooks", "edit", DREAM, "pb-new00001", "--text", text)


def test_a_rerun_after_the_audit_head_failed_adds_no_second_record(ws: Workspace, pending: None,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    real = audit_chain.atomic_write_text

    def head_full(path: Any, text: str, **kw: Any) -> None:
        if path == audit_chain.head_path(ws):
            raise _full(str(path))
        real(path, text, **kw)

    monkeypatch.setattr(audit_chain, "atomic_write_text", head_full)
    r = _edit(ws)
    assert r.exit_code == 74 and "run the command again" in r.stderr, r.output
    monkeypatch.setattr(audit_chain, "atomic_write_text", real)
    r = _edit(ws)
    assert r.exit_code == 0, r.output
    assert [d["text"] for d in _edits(decisions(ws, DREAM))] == [NEW]
    (rec,) = _edits(audit(ws))
    assert (rec["hash_before"], rec["hash_after"]) == (content_hash(PROPOSED), content_hash(NEW))


def test_a_rerun_after_the_audit_line_failed_writes_the_missing_record(ws: Workspace, pending: None,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    assert _edit(ws, "An earlier edit.").exit_code == 0
    real = audit_chain.append_chained

    def trail_full(ws_: Workspace, record: dict[str, Any], **kw: Any) -> Any:
        raise _full(str(ws_.audit_path))

    monkeypatch.setattr(audit_chain, "append_chained", trail_full)
    assert _edit(ws).exit_code == 74
    assert [d["text"] for d in _edits(decisions(ws, DREAM))] == ["An earlier edit.", NEW]  # recorded, not audited
    assert len(_edits(audit(ws))) == 1
    monkeypatch.setattr(audit_chain, "append_chained", real)
    r = _edit(ws)
    assert r.exit_code == 0, r.output
    assert len(_edits(decisions(ws, DREAM))) == 2
    first, second = _edits(audit(ws))
    assert second["hash_before"] == content_hash("An earlier edit.") == first["hash_after"]
    assert second["hash_after"] == content_hash(NEW)


def test_the_same_edit_twice_is_recorded_once_and_a_new_one_again(ws: Workspace, pending: None) -> None:
    assert _edit(ws).exit_code == 0
    assert _edit(ws).exit_code == 0
    assert len(_edits(decisions(ws, DREAM))) == 1 and len(_edits(audit(ws))) == 1
    assert _edit(ws, PROPOSED).exit_code == 0  # back to the proposed text: a change, recorded
    assert len(_edits(decisions(ws, DREAM))) == 2 and len(_edits(audit(ws))) == 2
