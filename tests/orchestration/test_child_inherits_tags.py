"""A sub-agent carries its lead's trial tags (`pilot`, `with_proposal`, `trial`) in its own session.start, so
that the child of a pilot trial or of a `run --with-proposal` is recognisable read on its own (a dream never
learns from trials: docs/session-log.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dreamcli.agent.options import RunOptions
from dreamcli.config import Config
from dreamcli.orchestration.subagents import Brief, Lead, child_spec_and_options
from dreamcli.testing import FakeAnthropic, Reply, tool_reply, tool_use
from dreamcli.workspace.home import Workspace
from tests.pilot.helpers import DREAM, run_pilot_api, seed_workspace, write_task
from tests.support.multiagent import answer, logs_by_role, read_log, responder


def lead_delegating(req: Any, turn: int) -> Reply:
    if turn == 0:
        return tool_reply(tool_use("delegate", {"tasks": [{"brief": "Read contract.txt: the notice period?"}]},
                                   id="toolu_delegate"))
    return answer("SOLVED: section 9.2, 30 days.")


def test_a_pilot_trials_subagents_carry_its_tags(fake_anthropic: FakeAnthropic, ws: Workspace,
                                                 tmp_path: Path) -> None:
    seed_workspace(ws)
    fake_anthropic.responder = responder(lead_delegating, lambda brief, turn, req: answer("30 days (9.2)."))
    run_pilot_api(ws, write_task(tmp_path, tools="[read, delegate]"), trials=1, parallel=1)
    starts = {p.stem: read_log(p)[0] for p in ws.sessions_dir.rglob("*.jsonl")}
    children = [s for s in starts.values() if s.get("parent_session_id")]
    assert len(children) == 2  # one per arm
    arms = set()
    for child in children:
        lead = starts[child["parent_session_id"]]
        assert child["pilot"] == lead["pilot"]
        assert child.get("with_proposal") == lead.get("with_proposal")
        assert child.get("trial") == lead.get("trial")
        arms.add(child["pilot"]["arm"])
    assert arms == {"baseline", "candidate"}
    candidate = next(c for c in children if c["pilot"]["arm"] == "candidate")
    assert candidate["with_proposal"] == DREAM and candidate["trial"]["entry_ids"] == ["pb-pilot001"]


def _lead(ws: Workspace, options: RunOptions) -> Lead:
    return Lead(ws=ws, config=Config(), session_id="01JD3Z0000000000000000LEAD", writer=None,
                workdir=ws.root, model="claude-sonnet-5-5", tools=("read", "delegate"), options=options)


def test_a_with_proposal_child_with_its_own_playbook_still_names_the_dream(ws: Workspace) -> None:
    """Its brief names another playbook, so the proposal is not placed for it: it records the dream's id
    (resolved from the prefix the lead was given), and no `trial`."""
    seed_workspace(ws)
    lead = _lead(ws, RunOptions(with_proposal=DREAM[:8]))
    _, own = child_spec_and_options(lead, Brief(brief="Check the docx tools.", playbook="tools"))
    assert own.with_proposal is None
    assert own.start_fields["with_proposal"] == DREAM and "trial" not in own.start_fields
    _, placed = child_spec_and_options(lead, Brief(brief="Read the contract."))
    assert placed.with_proposal == DREAM[:8]  # it places the proposal itself and records its own tags
    assert "with_proposal" not in placed.start_fields


def test_run_with_proposal_subagents_are_tagged_in_their_logs(fake_anthropic: FakeAnthropic, ws: Workspace,
                                                             tmp_path: Path) -> None:
    from dreamcli.agent import prompt_spec, run_agent

    seed_workspace(ws)
    fake_anthropic.responder = responder(
        lambda req, turn: tool_reply(tool_use("delegate", {"tasks": [{"brief": "Placed.", "tools": ["read"]},
                                                                     {"brief": "Own.", "playbook": "tools",
                                                                      "tools": ["read"]}]}, id="toolu_d"))
        if turn == 0 else answer("Done."),
        lambda brief, turn, req: answer("ok"))
    workdir = tmp_path / "w"
    workdir.mkdir()
    options = RunOptions(workdir=workdir, tools=("read", "delegate"), yes=True, with_proposal=DREAM[:8])
    run_agent(ws, Config(), prompt_spec("Split it."), options)
    lead, children = logs_by_role(ws.root)
    assert lead[0]["with_proposal"] == DREAM
    by_brief = {events[0]["brief"]: events[0] for events in children.values()}
    assert by_brief["Placed."]["with_proposal"] == DREAM and by_brief["Placed."]["trial"] == lead[0]["trial"]
    assert by_brief["Own."]["with_proposal"] == DREAM and "trial" not in by_brief["Own."]
