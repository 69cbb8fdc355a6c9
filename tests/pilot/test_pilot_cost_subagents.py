"""A pilot whose lead delegates to sub-agents: each trial's cost, tokens and turns include the
children's sessions, `--max-cost` counts that spend and stops the pilot, and the cost estimate
counts the children of past runs (review defect #2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.testing import FakeAnthropic, RecordedRequest, Reply, tool_reply, tool_use
from tests.pilot.helpers import DREAM, run_pilot_api, seed_workspace, write_task
from tests.support.multiagent import answer, read_log, responder

CHILDREN = 3
CHILD_USAGE = {"input_tokens": 100_000, "output_tokens": 5_000, "cache_read_input_tokens": 2_000}


def delegating() -> Any:
    """The lead delegates CHILDREN briefs on its first turn, then answers SOLVED; each child answers
    with a large usage."""

    def lead(req: RecordedRequest, turn: int) -> Reply:
        if turn == 0:
            briefs = [{"brief": f"part {i}"} for i in range(CHILDREN)]
            return tool_reply(tool_use("delegate", {"tasks": briefs}), usage={"input_tokens": 500, "output_tokens": 40})
        return answer("SOLVED: section 9.2, 30 days.")

    return responder(lead, lambda brief, turn, req: answer("child result", **CHILD_USAGE))


def logged(ws: Any) -> dict[str, dict[str, Any]]:
    """Every session's start and end events, by session id."""
    out = {}
    for path in ws.sessions_dir.rglob("*.jsonl"):
        events = read_log(path)
        out[events[0]["session_id"]] = {"start": events[0], "end": events[-1]}
    return out


def tree(sessions: dict[str, dict[str, Any]], lead_id: str) -> tuple[float, int, int, int]:
    """(cost, tokens, turns, children) of a lead session and its children, from their session.end."""
    members = [lead_id] + [sid for sid, s in sessions.items() if s["start"].get("parent_session_id") == lead_id]
    totals = [sessions[sid]["end"]["totals"] for sid in members]
    tokens = sum(t["input_tokens"] + t["output_tokens"] + t["cache_read_tokens"] + t["cache_write_tokens"]
                 for t in totals)
    return sum(t["cost_usd"] for t in totals), tokens, sum(t["turns"] for t in totals), len(members) - 1


def journal(ws: Any) -> list[dict[str, Any]]:
    path = ws.dreams_dir / DREAM / "pilot-trials.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def pilot(ws: Any, *args: str) -> Any:
    from dreamcli.cli.app import app

    return CliRunner().invoke(app, ["--home", str(ws.root), "pilot", *args],
                              env={"NO_COLOR": "1", "COLUMNS": "80", "DREAMCLI_ACTOR": "tester"})


def test_a_trial_counts_its_subagents_cost_tokens_and_turns(fake_anthropic: FakeAnthropic, ws,
                                                              tmp_path: Path) -> None:
    seed_workspace(ws)
    task = write_task(tmp_path, tools="[read, delegate]")
    fake_anthropic.responder = delegating()
    result = run_pilot_api(ws, task, trials=1, parallel=1)
    sessions = logged(ws)
    records = journal(ws)
    assert len(records) == 2
    for rec in records:
        cost, tokens, turns, children = tree(sessions, rec["session_id"])
        assert children == CHILDREN
        assert rec["agent_cost_usd"] == pytest.approx(cost, abs=2e-6)
        assert rec["cost_usd"] == pytest.approx(cost + rec["grader_cost_usd"], abs=2e-6)
        assert rec["subagents"] == CHILDREN
        assert rec["subagent_cost_usd"] > 0.9 * rec["agent_cost_usd"]  # the children are most of it
        assert rec["tokens"] == tokens
        assert rec["turns"] == turns == 2 + CHILDREN
    total = sum(tree(sessions, r["session_id"])[0] + r["grader_cost_usd"] for r in records)
    assert abs(result["cost"]["total_usd"] - total) < 1e-5
    assert abs(sum(result["cost"]["by_arm"].values()) - total) < 1e-5


def test_max_cost_counts_the_subagents_and_stops_the_pilot(fake_anthropic: FakeAnthropic, ws,
                                                           tmp_path: Path) -> None:
    seed_workspace(ws)
    task = write_task(tmp_path, tools="[read, delegate]")
    fake_anthropic.responder = delegating()
    # one trial's lead alone costs well under a cent; with its three children it passes the budget
    r = pilot(ws, str(task), "--proposal", DREAM, "--trials", "2", "--parallel", "1", "--max-cost", "0.5",
              "--yes", "--json")
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["status"] == "stopped"
    assert data["new_trials"] == 1 and data["skipped_trials"] == 3
    assert data["cost"]["this_run_usd"] > 0.5
    assert "of the $0.50 budget (--max-cost)" in r.stderr
    leads = [s for s in logged(ws).values() if not s["start"].get("parent_session_id")]
    assert len(leads) == 1  # no second trial was started


def test_the_estimate_counts_the_subagents_of_past_runs(fake_anthropic: FakeAnthropic, ws, tmp_path: Path) -> None:
    from dreamcli.config import load_config
    from dreamcli.pilot.api import prepare

    seed_workspace(ws)
    task = write_task(tmp_path, tools="[read, delegate]")
    fake_anthropic.responder = delegating()
    run_pilot_api(ws, task, trials=1, parallel=1)
    sessions = logged(ws)
    past = sorted(tree(sessions, sid)[0] for sid, s in sessions.items() if not s["start"].get("parent_session_id"))
    prep = prepare(ws, load_config(ws.config_path), [task], DREAM, trials=1, fresh=True)
    key = prep.plan.tasks[0].key
    assert prep.estimate.basis[key] == "median of 2 past runs"
    assert abs(prep.estimate.per_trial_usd[key] - (past[0] + past[1]) / 2) < 1e-9
    assert abs(prep.estimate.total_usd - 2 * prep.estimate.per_trial_usd[key]) < 1e-9
