"""Trial before approval (`run --with-proposal`): pending entries applied in memory only, reviewer
edits used, rejected and conflicting ones left out, nothing written; the session records the trial."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dreamcli.playbooks import load_playbook
from dreamcli.playbooks.approval import approve, edit, reject
from dreamcli.playbooks.store import playbook_path
from dreamcli.playbooks.trial import playbooks_with_proposal, trial_playbook
from dreamcli.testing import FakeAnthropic, text_reply
from dreamcli.workspace.home import Workspace
from tests.support.playbooks import decisions, op, workspace, write_dream, write_playbook

DREAM = "01JD3Z0000000000000000TRL1"


@pytest.fixture
def trial_dream(ws: Workspace) -> None:
    """The legal playbook at version 2 and DREAM with five operations for the trial to sort out."""
    write_playbook(ws, "legal", [("pb-aaaaaa01", "Tools", "Use pandoc for docx."),
                                 ("pb-aaaaaa02", "Corrections", "Cite by section.")], version=2,
                   scope={"tasks": ["contract-review"]})
    write_dream(ws, DREAM, "legal", [
        op("pb-try00001", text="Quote notice periods exactly.", section="Corrections"),
        op("pb-try00002", text="Will be rejected."),
        op("pb-try00003", text="Will be edited."),
        op("pb-aaaaaa02", "update", text="Cite by section number.", old_text="Cite by section, stale."),
        op("pb-try00004", text="Already approved."),
    ], base_version=2)


def test_trial_applies_pending_entries_in_memory_only(ws, trial_dream) -> None:
    before = playbook_path(ws, "legal").read_bytes()
    approve(ws, DREAM, entry_ids=["pb-try00004"])
    after_approval = playbook_path(ws, "legal").read_bytes()
    reject(ws, DREAM, entry_ids=["pb-try00002"], reason="no")
    edit(ws, DREAM, "pb-try00003", "Edited by the reviewer.")
    trial = trial_playbook(ws, DREAM)
    pb = trial.playbook
    assert trial.applied == ["pb-try00001", "pb-try00003"]
    assert [i for i, _ in trial.refused] == ["pb-aaaaaa02"]  # its old_text no longer matches
    assert pb.find("pb-try00003").text == "Edited by the reviewer."
    assert pb.find("pb-try00002") is None and pb.find("pb-try00004") is not None
    assert pb.version == 3 == trial.base_version  # not a new version
    assert trial.record() == {"dream_id": DREAM, "playbook": "legal", "base_version": 3,
                              "entry_ids": ["pb-try00001", "pb-try00003"], "refused": ["pb-aaaaaa02"]}
    assert playbook_path(ws, "legal").read_bytes() == after_approval != before
    assert [p.name for p in playbooks_with_proposal(ws, DREAM)] == ["legal"]
    loader = trial.loader()
    assert loader(ws, "legal") is pb and loader(ws, "missing") is None
    assert {d["entry_id"] for d in decisions(ws, DREAM) if d["action"] == "approve"} == {"pb-try00004"}


def test_trial_of_a_dream_for_a_new_playbook(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    write_dream(ws, "NEWPB0001", "support", [op("pb-first001", text="Ask for the order number.")], base_version=0)
    trial = trial_playbook(ws, "NEWPB0001")
    assert trial.playbook.name == "support" and trial.applied == ["pb-first001"] and trial.base_version == 0
    assert load_playbook(ws, "support") is None


def test_run_with_proposal_places_trial_entries_and_records_it(fake_anthropic: FakeAnthropic, ws, trial_dream) -> None:
    from typer.testing import CliRunner

    from dreamcli.cli.app import app

    task = ws.root.parent / "task.yaml"
    (ws.root.parent / "work").mkdir()
    task.write_text("name: contract-review\nprompt: Review.\nworkdir: work\nplaybook: legal\ntools: [read]\n")
    before = playbook_path(ws, "legal").read_bytes()
    fake_anthropic.expect(text_reply("Done."))
    r = CliRunner().invoke(app, ["--home", str(ws.root), "run", str(task), "--with-proposal", DREAM],
                           env={"NO_COLOR": "1"})
    assert r.exit_code == 0, r.stderr
    system = fake_anthropic.requests[0].system_text
    assert "[pb-try00001] Quote notice periods exactly." in system and "[pb-aaaaaa01]" in system
    assert playbook_path(ws, "legal").read_bytes() == before
    [log] = list(ws.sessions_dir.rglob("*.jsonl"))
    start = json.loads(log.read_text().splitlines()[0])
    assert start["with_proposal"] == DREAM
    assert "pb-try00001" in start["trial"]["entry_ids"]
    assert not decisions(ws, DREAM)  # a trial approves nothing
