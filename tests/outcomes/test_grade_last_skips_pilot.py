"""`grade --last N` (the CI step), `--since` and `--task` leave out `dreamcli pilot` trials: their pilot
grades them, and a baseline arm fails on purpose. `--include-pilot` takes them; a trial named by id is
always graded (docs/outcomes.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.sessions.writer import SessionWriter
from dreamcli.testing import FakeAnthropic
from dreamcli.workspace.home import Workspace
from tests.pilot.helpers import DREAM, run_pilot_api, scripted_agent, seed_workspace, write_task
from tests.support.outcomes import write_spec

SPEC = """
name: checks
criteria:
  - id: solved
    check: {type: contains, value: SOLVED}
"""


def pilot_tag(arm: str, trial: int) -> dict[str, Any]:
    return {"pilot": {"id": "01JD3Z00000000000000PILOT", "arm": arm, "trial": trial, "task": "t#1",
                      "dream_id": DREAM}}


def session(ws: Workspace, spec: Path, answer: str, **start: Any) -> str:
    w = SessionWriter(ws)
    w.start(task={"name": "contract-review", "prompt": "List the clauses.", "outcome": str(spec)},
            model="claude-sonnet-5-5", workdir=None, **start)
    w.message("user", [{"type": "text", "text": "List the clauses."}])
    w.message("assistant", [{"type": "text", "text": answer}], stop_reason="end_turn")
    w.end("completed", totals={"turns": 1, "cost_usd": 0.01})
    return w.session_id


def grade(ws: Workspace, *args: str) -> Any:
    return CliRunner().invoke(app, ["--home", str(ws.root), "grade", *args])


@pytest.fixture
def sessions(ws: Workspace, tmp_path: Path) -> tuple[list[str], list[str]]:
    """Two ordinary sessions that pass, then three pilot trials (baseline arm) that fail: (ordinary, trials)."""
    spec = write_spec(tmp_path / "checks.yaml", SPEC)
    ordinary = [session(ws, spec, "SOLVED: 9.2") for _ in range(2)]
    trials = [session(ws, spec, "I could not finish.", **pilot_tag("baseline", i)) for i in range(3)]
    return ordinary, trials


def graded(r: Any) -> list[str]:
    return [x["session_id"] for x in json.loads(r.stdout)["results"]]


def test_last_n_counts_only_sessions_that_are_not_pilot_trials(ws: Workspace, sessions: Any) -> None:
    ordinary, trials = sessions
    r = grade(ws, "--last", "2", "--json")
    assert r.exit_code == 0, r.output
    assert sorted(graded(r)) == sorted(ordinary)
    assert json.loads(r.stdout)["skipped_pilot"] == trials[::-1]  # newest first, as listed
    assert "left out 3 pilot trial(s)" in r.stderr


def test_since_and_task_leave_them_out_too(ws: Workspace, sessions: Any) -> None:
    ordinary, _ = sessions
    for args in (["--since", "7d"], ["--task", "contract-review"]):
        r = grade(ws, *args, "--json")
        assert r.exit_code == 0, r.output
        assert sorted(graded(r)) == sorted(ordinary)


def test_include_pilot_grades_them(ws: Workspace, sessions: Any) -> None:
    _, trials = sessions
    r = grade(ws, "--last", "2", "--include-pilot", "--json")
    assert r.exit_code == 1, r.output  # the baseline trials failed
    assert graded(r) == trials[:0:-1] and json.loads(r.stdout)["skipped_pilot"] == []


def test_a_trial_named_by_id_is_graded(ws: Workspace, sessions: Any) -> None:
    _, trials = sessions
    r = grade(ws, trials[0], "--last", "1", "--json")
    assert r.exit_code == 1, r.output
    assert graded(r) == [trials[0], sessions[0][1]]  # and the newest session that is not a trial


def test_only_trials_is_nothing_to_grade_but_a_with_proposal_run_is_graded(ws: Workspace, tmp_path: Path) -> None:
    """Only pilot trials are left out: a person's `run --with-proposal` has no pilot to grade it."""
    spec = write_spec(tmp_path / "checks.yaml", SPEC)
    session(ws, spec, "I could not finish.", **pilot_tag("baseline", 0))
    r = grade(ws, "--last", "5")
    assert r.exit_code == 2
    assert r.stderr.strip() == ("error: no sessions to grade match the selection (1 pilot trial(s) left out: "
                                "--include-pilot grades them)")
    sid = session(ws, spec, "SOLVED", with_proposal=DREAM)
    r = grade(ws, "--last", "5", "--json")
    assert r.exit_code == 0, r.output
    assert graded(r) == [sid]


@pytest.mark.slow
def test_grade_last_after_a_pilot(fake_anthropic: FakeAnthropic, ws: Workspace, tmp_path: Path) -> None:
    """The reviewer's case: after a pilot whose baseline arm always fails, the CI step `grade --last 20`
    exited 1 on those trials. It now grades the real run alone."""
    seed_workspace(ws)
    task = write_task(tmp_path)
    fake_anthropic.responder = scripted_agent(1.0, 0.0)
    run_pilot_api(ws, task, trials=3, parallel=1)
    real = session(ws, tmp_path / "contract-review-outcome.yaml", "SOLVED: section 9.2")
    r = grade(ws, "--last", "20", "--json")
    assert r.exit_code == 0, r.output
    assert graded(r) == [real] and len(json.loads(r.stdout)["skipped_pilot"]) == 6
    trial = json.loads(r.stdout)["skipped_pilot"][0]
    assert grade(ws, trial).exit_code in (0, 1)  # by id: graded (pass or fail, whichever arm it was)
