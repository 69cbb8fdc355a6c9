"""A reviewer name is redacted wherever a record holds it, as `--reason` and `--text` are: the decisions of
a dream, the audit trail (edit, approve, reject, revert, a `reconciled` record's actor and `reconciled_by`)
and what an export carries (the manifest's provenance and each playbook's last change)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import dreamcli.playbooks.approval as approval_mod
from dreamcli.playbooks.approval import approve, edit, reject
from dreamcli.playbooks.history import revert
from dreamcli.portability import export_playbooks
from dreamcli.workspace.home import Workspace
from tests.support.playbooks import audit, decisions, op, write_dream, write_playbook

GH_TOKEN = "ghp_" + "R4nd0mT0k3nV4lu3Xy12Ab34Cd56Ef78Gh90"
SECRETS = (GH_TOKEN, "hunter2Xq9zLw", "ACME-123456")
BOB = f"bob:{GH_TOKEN}"  # what a reviewer pasted into --reviewer
ANA = "ana password=hunter2Xq9zLw"
CAROL = "carol ACME-123456"  # only the workspace's redaction pattern knows it


@pytest.fixture
def legal(ws: Workspace) -> Workspace:
    ws.config_path.write_text("redaction:\n  patterns: ['ACME-[0-9]{6}']\n")
    write_playbook(ws, "legal", [("pb-aaaaaa01", "Tools", "Use pandoc for docx.")], version=3)
    write_dream(ws, "D1", "legal", [op("pb-new00001", text="Lesson one."), op("pb-new00002", text="Lesson two.")],
                base_version=3)
    return ws


def _clean(path: Path) -> None:
    raw = path.read_text()
    assert not [s for s in SECRETS if s in raw], path


def test_decisions_and_audit_redact_the_reviewer(legal: Workspace) -> None:
    edit(legal, "D1", "pb-new00001", "Lesson one, edited.", actor=BOB)
    approve(legal, "D1", entry_ids=["pb-new00001"], actor=ANA)
    reject(legal, "D1", entry_ids=["pb-new00002"], reason="not needed", actor=CAROL)
    revert(legal, "legal", 3, actor=BOB)
    _clean(legal.dreams_dir / "D1" / "decisions.jsonl")
    _clean(legal.audit_path)
    assert [(d["action"], d["actor"]) for d in decisions(legal, "D1")] == [
        ("edit", "bob:[REDACTED:github]"), ("approve", "ana password=[REDACTED:password]"),
        ("reject", "carol [REDACTED:custom]")]
    assert [(r["action"], r["actor"]) for r in audit(legal)] == [
        ("edit", "bob:[REDACTED:github]"), ("approve", "ana password=[REDACTED:password]"),
        ("reject", "carol [REDACTED:custom]"), ("revert", "bob:[REDACTED:github]")]


def test_a_reconciled_record_redacts_both_reviewers(legal: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(*_a: object, **_k: object) -> None:
        raise RuntimeError("power cut")

    with monkeypatch.context() as m:
        m.setattr(approval_mod, "append_audit", crash)  # the commit is made, its audit record is not
        with pytest.raises(RuntimeError):
            approve(legal, "D1", entry_ids=["pb-new00001"], actor=ANA)
    write_dream(legal, "D2", "legal", [op("pb-new00003", text="Lesson three.")], base_version=4)
    approve(legal, "D2", all_=True, actor=BOB)  # finds the intent: audits the first commit as reconciled
    _clean(legal.audit_path)
    rec = audit(legal)[0]
    assert rec["action"] == "reconciled" and rec["actor"] == "ana password=[REDACTED:password]"
    assert rec["reconciled_by"] == "bob:[REDACTED:github]"


def test_export_manifest_carries_no_reviewer_secret(legal: Workspace, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    approve(legal, "D1", all_=True, actor=ANA)
    monkeypatch.setenv("DREAMCLI_ACTOR", CAROL)  # who exports: the manifest's provenance
    out = tmp_path / "bundle"
    export_playbooks(legal, output=str(out), redaction_patterns=["ACME-[0-9]{6}"])
    _clean(out / "manifest.json")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["provenance"]["actor"] == "carol [REDACTED:custom]"
    [pb] = manifest["playbooks"]
    assert pb["last_change"]["actor"] == "ana password=[REDACTED:password]"


def test_a_legacy_audit_record_does_not_leak_into_an_export(legal: Workspace, tmp_path: Path) -> None:
    """A record written before the actor was redacted: the export does not copy its secret."""
    approve(legal, "D1", all_=True, actor="ana")
    lines = legal.audit_path.read_text().replace('"actor":"ana"', f'"actor":"{BOB}"')
    legal.audit_path.write_text(lines)
    out = tmp_path / "doc.json"
    export_playbooks(legal, fmt="json", output=str(out), redaction_patterns=["ACME-[0-9]{6}"])
    _clean(out)
    [pb] = json.loads(out.read_text())["playbooks"]
    assert pb["last_change"]["actor"] == "bob:[REDACTED:github]"
