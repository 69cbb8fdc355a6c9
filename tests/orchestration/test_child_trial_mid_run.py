"""A sub-agent of `run --with-proposal D` places the trial its lead placed, as the lead placed it: an entry
of D approved or rejected while the lead runs changes nothing its children see, and a child is never
refused because D has nothing left to try by the time it starts (only the top-level run is;
tests/playbooks/test_trial_nothing_to_try.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dreamcli.playbooks.approval import approve, reject
from dreamcli.testing import FakeAnthropic, RecordedRequest, Reply, tool_reply, tool_use
from dreamcli.workspace.home import Workspace
from tests.support.multiagent import answer, is_child, logs_by_role, responder
from tests.support.playbooks import cli, op, workspace, write_dream, write_playbook

DREAM = "01JD3Z0000000000000000TRC1"
ENTRY = "pb-try00001"
PLACED = f"- [{ENTRY}] Quote notice periods exactly."


def _seed(tmp_path: Path) -> tuple[Workspace, Path]:
    ws = workspace(tmp_path)
    write_playbook(ws, "legal", [("pb-aaaaaa01", "Tools", "Use pandoc for docx.")], version=1)
    write_dream(ws, DREAM, "legal", [op(ENTRY, text="Quote notice periods exactly.")], base_version=1)
    (tmp_path / "work").mkdir()
    task = tmp_path / "task.yaml"
    task.write_text("name: contract-review\nprompt: Review.\nworkdir: work\nplaybook: legal\n"
                    "tools: [read, delegate]\n")
    return ws, task


@pytest.mark.parametrize("decide", ["approve", "reject"])
def test_an_entry_decided_mid_run_leaves_the_childs_trial_as_the_lead_placed_it(
        fake_anthropic: FakeAnthropic, tmp_path: Path, decide: str) -> None:
    ws, task = _seed(tmp_path)

    def lead(req: RecordedRequest, turn: int) -> Reply:
        if turn == 0:  # a reviewer decides D's last pending entry while the trial runs, then the lead delegates
            if decide == "approve":
                approve(ws, DREAM, entry_ids=[ENTRY])
            else:
                reject(ws, DREAM, entry_ids=[ENTRY], reason="off scope")
            return tool_reply(tool_use("delegate", {"brief": "Read the contract.", "tools": ["read"]}, id="toolu_d"))
        return answer("Done.")

    fake_anthropic.responder = responder(lead, lambda brief, turn, req: answer("30 days."))
    r = cli(ws, "run", str(task), "--with-proposal", DREAM, "--yes")
    assert r.exit_code == 0, r.output
    lead_events, children = logs_by_role(ws.root)
    ((child_id, child_events),) = children.items()
    assert child_events[-1]["status"] == "completed", child_events[-1]
    assert child_events[0]["with_proposal"] == DREAM and child_events[0]["trial"] == lead_events[0]["trial"]
    assert child_events[0]["trial"]["entry_ids"] == [ENTRY]
    assert child_events[0]["playbooks"] == lead_events[0]["playbooks"]  # the lead's version, the lead's entries
    finished = [e for e in lead_events if e.get("type") == "subagent" and e.get("event") == "finished"]
    assert [(e["child_session_id"], e["status"]) for e in finished] == [(child_id, "completed")]
    (child_req,) = [q for q in fake_anthropic.requests if is_child(q)]
    lead_req = next(q for q in fake_anthropic.requests if not is_child(q))
    assert PLACED in child_req.system_text
    assert _playbooks_part(child_req) == _playbooks_part(lead_req)
    assert json.loads((ws.dreams_dir / DREAM / "dream.json").read_text())["status"] == (
        "approved" if decide == "approve" else "rejected")


def _playbooks_part(req: Any) -> str:
    text: str = req.system_text
    return text[text.index("# Playbooks"):]


def test_a_brief_naming_the_trials_own_playbook_keeps_the_trial(fake_anthropic: FakeAnthropic,
                                                                 tmp_path: Path) -> None:
    ws, task = _seed(tmp_path)

    def lead(req: RecordedRequest, turn: int) -> Reply:
        if turn == 0:
            return tool_reply(tool_use("delegate", {"brief": "Read the contract.", "tools": ["read"],
                                                    "playbook": "legal"}, id="toolu_d"))
        return answer("Done.")

    fake_anthropic.responder = responder(lead, lambda brief, turn, req: answer("30 days."))
    r = cli(ws, "run", str(task), "--with-proposal", DREAM, "--yes")
    assert r.exit_code == 0, r.output
    lead_events, children = logs_by_role(ws.root)
    ((_, child_events),) = children.items()
    assert child_events[0]["with_proposal"] == DREAM and child_events[0]["trial"] == lead_events[0]["trial"]
    assert child_events[0]["playbooks"] == lead_events[0]["playbooks"]
    (child_req,) = [q for q in fake_anthropic.requests if is_child(q)]
    assert PLACED in child_req.system_text  # the entry on trial, as the lead has it
