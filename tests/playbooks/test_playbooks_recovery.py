"""A crash between a playbook commit and its audit record: the commit intent left behind is found by
the next approve or revert, which audits the change as `reconciled` (once), or drops the intent when
the commit never happened."""

from __future__ import annotations

import pytest

import dreamcli.playbooks.approval as approval_mod
import dreamcli.playbooks.history as history_mod
import dreamcli.playbooks.store as store_mod
from dreamcli.playbooks import journal, load_playbook
from dreamcli.playbooks.approval import approve
from dreamcli.playbooks.history import history, revert
from dreamcli.workspace.home import Workspace
from tests.support.playbooks import audit, decisions, op, write_dream, write_playbook

ENTRIES = [("pb-aaaaaa01", "Tools", "Use pandoc for docx.")]


class Crash(Exception):
    pass


def _crash(*_args, **_kwargs):
    raise Crash("power cut")


@pytest.fixture
def pending_dreams(ws: Workspace) -> None:
    """The legal playbook at version 3 and two pending dreams for it, D1 (two entries) and D2 (one)."""
    write_playbook(ws, "legal", ENTRIES, version=3)
    write_dream(ws, "D1", "legal", [op("pb-new00001", text="Lesson one."), op("pb-new00002", text="Lesson two.")],
                base_version=3)
    write_dream(ws, "D2", "legal", [op("pb-new00003", text="Lesson three.")], base_version=3)


def test_crash_after_the_commit_is_audited_by_the_next_approve(ws, pending_dreams, monkeypatch) -> None:
    with monkeypatch.context() as m:
        m.setattr(approval_mod, "append_audit", _crash)  # the audit append dies after the commit
        with pytest.raises(Crash):
            approve(ws, "D1", all_=True, actor="alice")
    assert load_playbook(ws, "legal").version == 4 and audit(ws) == []
    assert journal.intent_path(ws, "legal").exists()

    res = approve(ws, "D2", all_=True, actor="bob")
    assert res.commit.version_after == 5
    recs = audit(ws)
    assert [(r["action"], r["actor"], r["version_before"], r["version_after"]) for r in recs] == [
        ("reconciled", "alice", 3, 4), ("approve", "bob", 4, 5)]
    rec = recs[0]
    assert (rec["reconciled_by"], rec["interrupted"], rec["dream_id"]) == ("bob", "approve", "D1")
    assert rec["entry_ids"] == ["pb-new00001", "pb-new00002"]
    assert rec["hash_after"] == recs[1]["hash_before"]
    assert not journal.intent_path(ws, "legal").exists()
    assert {v.version: v.action for v in history(ws, "legal")} == {3: None, 4: "reconciled", 5: "approve"}

    # the decisions were written before the audit died
    assert [(d["result"], d["playbook_version"]) for d in decisions(ws, "D1")] == [("applied", 4)] * 2
    approve(ws, "D2", all_=True, actor="bob")
    assert [r["action"] for r in audit(ws)] == ["reconciled", "approve"]  # reconciled once


def test_crash_before_the_decisions_leaves_the_entries_pending_and_approvable(ws, pending_dreams, monkeypatch) -> None:
    with monkeypatch.context() as m:
        m.setattr(approval_mod, "append_line", _crash)  # decisions.jsonl cannot be written
        with pytest.raises(Crash):
            approve(ws, "D1", all_=True, actor="alice")
    assert load_playbook(ws, "legal").version == 4 and decisions(ws, "D1") == []
    res = approve(ws, "D1", all_=True, actor="alice")
    assert [o.status for o in res.outcomes] == ["already", "already"] and res.commit is None
    assert [d["result"] for d in decisions(ws, "D1") if d["action"] == "approve"] == ["already", "already"]
    # the approve changed nothing: it names the live version, not a version_after that would vouch for it
    assert [(r["action"], r.get("version_before"), r.get("version_after"), r.get("live_version"))
            for r in audit(ws)] == [("reconciled", 3, 4, None), ("approve", None, None, 4)]


def test_crash_after_the_commit_is_audited_by_the_next_revert(ws, pending_dreams, monkeypatch) -> None:
    with monkeypatch.context() as m:
        m.setattr(approval_mod, "append_audit", _crash)
        with pytest.raises(Crash):
            approve(ws, "D1", all_=True, actor="alice")
    revert(ws, "legal", 3, actor="carol")
    assert [(r["action"], r["actor"], r["version_after"]) for r in audit(ws)] == [
        ("reconciled", "alice", 4), ("revert", "carol", 5)]


def test_crash_in_a_revert_is_reconciled_too(ws, pending_dreams, monkeypatch) -> None:
    approve(ws, "D1", all_=True, actor="alice")
    with monkeypatch.context() as m:
        m.setattr(history_mod, "append_audit", _crash)
        with pytest.raises(Crash):
            revert(ws, "legal", 3, actor="carol")
    assert load_playbook(ws, "legal").version == 5
    approve(ws, "D2", all_=True, actor="bob")
    assert [(r["action"], r["actor"], r.get("interrupted")) for r in audit(ws)] == [
        ("approve", "alice", None), ("reconciled", "carol", "revert"), ("approve", "bob", None)]


def test_crash_before_the_commit_leaves_nothing_to_reconcile(ws, pending_dreams, monkeypatch) -> None:
    with monkeypatch.context() as m:
        m.setattr(store_mod, "atomic_write_text", _crash)  # the first write of the new version dies
        with pytest.raises(Crash):
            approve(ws, "D1", all_=True, actor="alice")
    assert load_playbook(ws, "legal").version == 3 and journal.intent_path(ws, "legal").exists()
    approve(ws, "D1", all_=True, actor="alice")
    assert [(r["action"], r["version_before"], r["version_after"]) for r in audit(ws)] == [("approve", 3, 4)]
    assert not journal.intent_path(ws, "legal").exists()


def test_crash_after_the_audit_is_not_audited_twice(ws, pending_dreams, monkeypatch) -> None:
    with monkeypatch.context() as m:
        m.setattr(journal, "finish", _crash)
        with pytest.raises(Crash):
            approve(ws, "D1", all_=True, actor="alice")
    assert journal.intent_path(ws, "legal").exists()
    approve(ws, "D2", all_=True, actor="bob")
    assert [r["action"] for r in audit(ws)] == ["approve", "approve"]
    assert not journal.intent_path(ws, "legal").exists()


def test_a_hand_edit_after_the_crash_still_gets_the_commit_audited(ws, pending_dreams, monkeypatch) -> None:
    with monkeypatch.context() as m:
        m.setattr(approval_mod, "append_audit", _crash)
        with pytest.raises(Crash):
            approve(ws, "D1", all_=True, actor="alice")
    live = store_mod.playbook_path(ws, "legal")
    live.write_text(live.read_text().replace("Lesson one.", "Lesson one, by hand."))
    approve(ws, "D2", all_=True, actor="bob")
    recs = audit(ws)
    assert [(r["action"], r["version_after"]) for r in recs] == [("reconciled", 4), ("approve", 5)]
    assert recs[1]["hand_edited_before"] is True


def test_a_reconciled_record_says_what_the_lost_one_would_have(ws, pending_dreams, monkeypatch) -> None:
    """The approve's own record would have held the hash of the proposal decided on and the hand edit it took in:
    the `reconciled` record written for it by the next command carries both, so `--verify` still checks the
    evidence and the hand edit stays on the record."""
    from dreamcli.playbooks.audit_evidence import proposal_hash
    from dreamcli.playbooks.store import playbook_path

    live = playbook_path(ws, "legal")
    live.write_text(live.read_text() + "\n- [pb-handmade1] A rule typed by hand.\n")
    with monkeypatch.context() as m:
        m.setattr(approval_mod, "append_audit", _crash)
        with pytest.raises(Crash):
            approve(ws, "D1", all_=True, actor="alice")
    approve(ws, "D2", all_=True, actor="bob")
    rec = next(r for r in audit(ws) if r["action"] == "reconciled")
    assert rec["proposal_hash"] == proposal_hash(ws.dreams_dir / "D1")
    assert rec["hand_edited_before"] is True and rec["hand_edit"]["added"] == ["pb-handmade1"]
    assert rec["hand_edit"]["carried"] is True
