"""Trials are not real work: a dream never learns from `dreamcli pilot` trials, `run --with-proposal` runs or
their sub-agents, nor counts their grades towards an entry's helpful/harmful (docs/dream.md, "Inputs").
They are read to their session.start, counted in `inputs.trials`, and are not "out of scope" (which would
stop the dream from judging memory notes stale)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.outcomes.store import append_grade
from dreamcli.sessions.writer import SessionWriter
from dreamcli.testing import FakeAnthropic
from dreamcli.workspace.home import Workspace
from tests.pilot.helpers import DREAM, run_pilot_api, scripted_agent, seed_workspace, write_task
from tests.support.playbooks import write_playbook

LIVE = [{"playbook": "default", "version": 2, "entry_ids": ["pb-live0001"]}]
PILOT = {"pilot": {"id": "01JD3Z00000000000000PILOT", "arm": "baseline", "trial": 0, "task": "t#1",
                   "dream_id": DREAM}}
WITH_PROPOSAL = {"with_proposal": DREAM, "trial": {"dream_id": DREAM, "playbook": "default", "base_version": 2,
                                                   "entry_ids": ["pb-pilot001"], "refused": []}}


def dream(ws: Workspace, *args: str) -> dict[str, Any]:
    r = CliRunner().invoke(app, ["--home", str(ws.root), "dream", "--offline", "--dry-run", "--json",
                                 "--min-support", "2", *args], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def kinds(result: dict[str, Any]) -> set[str]:
    return {op["kind"] for op in result["operations"]}


def session(ws: Workspace, tags: dict[str, Any], *, parent: str | None = None) -> str:
    """A finished session with the live entry in context, a tool error and a failing outcome evaluation;
    its session.start carries `tags` (and, for a sub-agent, `parent_session_id`)."""
    w = SessionWriter(ws)
    extra = {"agent": "subagent", "brief": "Read the contract."} if parent else {}
    w.start(task={"name": "contract-review", "prompt": "List the clauses."}, model="claude-sonnet-5-5",
            workdir="/tmp/w", playbooks=LIVE, parent_session_id=parent, **extra, **tags)
    w.message("user", [{"type": "text", "text": "List the clauses."}])
    w.message("assistant", [{"type": "tool_use", "id": "toolu_1", "name": "read",
                             "input": {"file_path": "contract.docx"}}], stop_reason="tool_use")
    w.tool(tool_use_id="toolu_1", name="read", error_kind="exception")
    w.message("user", [{"type": "tool_result", "tool_use_id": "toolu_1", "is_error": True,
                        "content": "contract.docx is a binary file; convert it first"}])
    if parent is None:
        w.evaluation(outcome="contract-review-outcome", iteration=1, result="needs_revision", score=0.0,
                     criteria=[{"id": "solved", "passed": False, "reason": "answer does not contain 'SOLVED'"}])
    w.end("completed", totals={"turns": 2, "cost_usd": 0.01})
    return w.session_id


def leads_with_children(ws: Workspace, tags: dict[str, Any], n: int = 3) -> list[str]:
    ids = []
    for _ in range(n):
        lead = session(ws, tags)
        ids += [lead, session(ws, tags, parent=lead)]
    return ids


@pytest.fixture
def live(ws: Workspace) -> Workspace:
    write_playbook(ws, "default", [("pb-live0001", "Tools", "Use pandoc for docx.")], version=2)
    return ws


@pytest.mark.parametrize("tags", [PILOT, WITH_PROPOSAL], ids=["pilot", "with_proposal"])
def test_trials_and_their_subagents_teach_nothing(live: Workspace, tags: dict[str, Any]) -> None:
    leads_with_children(live, tags)
    result = dream(live)
    assert result["operations"] == []  # no entry from their failures, no helpful/harmful counts
    inputs = result["inputs"]
    assert (inputs["sessions"], inputs["graded"], inputs["trials"], inputs["out_of_scope"]) == (0, 0, 6, 0)
    leads_with_children(live, {})  # the control: the same sessions, not trials (--dry-run: all read again)
    result = dream(live)
    assert {"tool_error", "criterion"} <= kinds(result)
    assert "pb-live0001" in {op["entry_id"] for op in result["operations"]}  # harmful 3 times: retire it
    assert (result["inputs"]["sessions"], result["inputs"]["trials"]) == (6, 6)


def test_a_trials_subagent_alone_is_left_out(live: Workspace) -> None:
    """A sub-agent carries its lead's tags, so it is recognised when read without its lead."""
    child = leads_with_children(live, PILOT, n=1)[1]
    result = dream(live, "--session", child)
    assert result["inputs"]["sessions"] == 0 and result["inputs"]["trials"] == 1


def test_a_trial_graded_after_it_was_dreamed_is_not_counted(live: Workspace) -> None:
    """A grade that arrives later for a session an earlier dream passed (grades.jsonl, read again by the
    next dream) is left out too: an entry in a trial's context is not made harmful by it."""
    trials = [session(live, PILOT) for _ in range(3)]
    ordinary = session(live, {})
    r = CliRunner().invoke(app, ["--home", str(live.root), "dream", "--offline", "--json"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    for sid in [*trials, ordinary]:
        append_grade(live, {"session_id": sid, "outcome": "late-check", "result": "needs_revision", "score": 0.0,
                            "criteria": [{"id": "late", "passed": False, "reason": "failed late"}]})
    result = dream(live)
    assert result["inputs"]["graded"] == 1  # the ordinary session only
    assert "criterion" not in kinds(result)  # one failing episode: below --min-support 2


@pytest.mark.slow
def test_after_a_pilot_a_dream_proposes_nothing_from_its_trials(fake_anthropic: FakeAnthropic, ws: Workspace,
                                                                 tmp_path: Path) -> None:
    """The reviewer's case: one pilot whose baseline arm always fails (the entry it withholds is what makes
    the agent succeed). Its failures gave a new entry and `harmful` counts for the live entry."""
    seed_workspace(ws)
    fake_anthropic.responder = scripted_agent(1.0, 0.0)
    run_pilot_api(ws, write_task(tmp_path), trials=4, parallel=1)
    result = dream(ws)
    assert result["operations"] == []
    assert (result["inputs"]["trials"], result["inputs"]["sessions"], result["inputs"]["out_of_scope"]) == (8, 0, 0)
