"""The trial journal (`pilot-trials.jsonl`) is read typed: a line whose fields do not have the types a
pilot writes (a string score or cost, a count no float holds, `"passed": "no"`, a negative index) is
skipped like a torn line, and that trial runs again. Before, a resumed pilot paid for new trials, then
died with an internal error and saved nothing; `"passed": "no"` counted as a pass. Also the options a
pilot refuses: --max-cost that is not a finite number of dollars, an empty --entry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.pilot.store import TrialJournal
from dreamcli.testing import FakeAnthropic
from tests.pilot.helpers import DREAM, scripted_agent, seed_workspace, write_task

GOOD: dict[str, Any] = {
    "v": 1, "pilot_id": "P1", "plan": "K", "dream_id": DREAM, "task_key": "t", "task": "t", "arm": "baseline",
    "index": 0, "session_id": "S", "status": "completed", "error": None, "outcome": "satisfied", "passed": True,
    "scored": True, "score": 1.0, "iterations": 1, "cost_usd": 0.01, "agent_cost_usd": 0.01,
    "grader_cost_usd": 0.0, "tokens": 100, "grader_tokens": 0, "turns": 1, "wall_s": 0.5, "ts": "2026-11-01T00:00:00Z",
}
BIG = "1" + "0" * 400  # an integer no float holds


def pilot(ws: Any, *args: str) -> Any:
    from dreamcli.cli.app import app

    return CliRunner().invoke(app, ["--home", str(ws.root), "pilot", *args],
                              env={"NO_COLOR": "1", "COLUMNS": "80", "DREAMCLI_ACTOR": "tester"})


@pytest.mark.parametrize("field,raw", [
    ("score", '"x"'), ("cost_usd", '"abc"'), ("tokens", '"many"'), ("index", '"x"'), ("index", "-1"),
    ("index", "true"), ("index", "1.5"), ("wall_s", BIG), ("cost_usd", BIG), ("cost_usd", "1e400"),
    ("passed", '"no"'), ("passed", "1"), ("scored", '"yes"'), ("turns", '"3"'), ("pilot_id", "7"),
    ("task_key", "null"), ("arm", "[]"), ("session_id", "{}"), ("agent_cost_usd", '"x"'), ("score", "NaN"),
])
def test_wrong_typed_lines_are_skipped(ws, field: str, raw: str) -> None:
    journal = TrialJournal(ws, DREAM)
    journal.path.parent.mkdir(parents=True, exist_ok=True)
    bad = json.dumps({**GOOD, "index": 1}).replace(f'"{field}": {json.dumps({**GOOD, "index": 1}[field])}',
                                                    f'"{field}": {raw}', 1)
    assert bad != json.dumps({**GOOD, "index": 1})
    journal.path.write_text(json.dumps(GOOD) + "\n" + bad + "\n" + "{torn\n")
    assert journal.read() == [GOOD]
    assert list(journal.done("P1")) == [("t", "baseline", 0)]


def test_optional_fields_may_be_null(ws) -> None:
    journal = TrialJournal(ws, DREAM)
    journal.path.parent.mkdir(parents=True, exist_ok=True)
    rec = {**GOOD, "session_id": None, "score": None, "iterations": None, "scored": False, "passed": False}
    journal.path.write_text(json.dumps(rec) + "\n")
    assert journal.read() == [rec]


def _trials(ws: Any) -> Path:
    return ws.dreams_dir / DREAM / "pilot-trials.jsonl"


@pytest.mark.parametrize("edit", [('"score":1.0', '"score":"x"'), ('"cost_usd":', '"cost_usd":"abc","was":'),
                                  ('"tokens":', '"tokens":"many","was":'), ('"wall_s":', f'"wall_s":{BIG},"was":'),
                                  ('"index":0', '"index":"x"')])
def test_a_resumed_pilot_reruns_a_wrong_typed_trial(fake_anthropic: FakeAnthropic, ws, tmp_path,
                                                    edit: tuple[str, str]) -> None:
    seed_workspace(ws)
    task = write_task(tmp_path)
    fake_anthropic.responder = scripted_agent(1.0, 1.0)
    r = pilot(ws, str(task), "--proposal", DREAM, "--trials", "1", "--parallel", "1", "--yes", "--json")
    assert r.exit_code == 0, r.stderr
    lines = _trials(ws).read_text().splitlines()
    assert len(lines) == 2 and edit[0] in lines[0]
    _trials(ws).write_text(lines[0].replace(edit[0], edit[1], 1) + "\n" + lines[1] + "\n")
    r = pilot(ws, str(task), "--proposal", DREAM, "--trials", "2", "--parallel", "1", "--yes", "--json")
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["resumed_trials"] == 1 and data["new_trials"] == 3  # the edited trial ran again
    assert [a["trials"] for a in data["arms"]] == [2, 2]
    runs = json.loads((ws.dreams_dir / DREAM / "pilot.json").read_text())["runs"]
    assert len(runs) == 2


def test_passed_no_is_not_a_pass(fake_anthropic: FakeAnthropic, ws, tmp_path) -> None:
    seed_workspace(ws)
    task = write_task(tmp_path)
    fake_anthropic.responder = scripted_agent(0.0, 0.0)
    r = pilot(ws, str(task), "--proposal", DREAM, "--trials", "2", "--parallel", "1", "--yes", "--json")
    assert r.exit_code == 0 and [a["passed"] for a in json.loads(r.stdout)["arms"]] == [0, 0]
    _trials(ws).write_text(_trials(ws).read_text().replace('"passed":false', '"passed":"no"'))
    r = pilot(ws, str(task), "--proposal", DREAM, "--trials", "2", "--parallel", "1", "--yes", "--json")
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    assert [a["passed"] for a in data["arms"]] == [0, 0] and data["new_trials"] == 4


def test_report_counts_only_true_as_passed() -> None:
    from dreamcli.pilot.report import arm_summary

    out = arm_summary("baseline", [{**GOOD, "passed": "no"}, {**GOOD, "cost_usd": float("inf"), "tokens": BIG}])
    assert out["passed"] == 1 and out["trials"] == 2
    assert out["cost_usd"] == 0.01 and out["tokens_per_trial"] == 50.0


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "-inf"])
def test_max_cost_must_be_a_finite_number(fake_anthropic: FakeAnthropic, ws, tmp_path, value: str) -> None:
    seed_workspace(ws)
    r = pilot(ws, str(write_task(tmp_path)), "--proposal", DREAM, f"--max-cost={value}", "--yes")
    assert r.exit_code == 2 and "--max-cost" in r.stderr and "finite" in r.stderr, r.output
    assert "greater than or equal" not in r.stderr
    assert not fake_anthropic.requests


def test_max_cost_minus_zero_is_zero(fake_anthropic: FakeAnthropic, ws, tmp_path) -> None:
    seed_workspace(ws)
    fake_anthropic.responder = scripted_agent(1.0, 1.0)
    r = pilot(ws, str(write_task(tmp_path)), "--proposal", DREAM, "--max-cost=-0", "--yes", "--json")
    assert r.exit_code == 0, r.output
    assert "$-0.00" not in r.stderr and "stops at $0.00" in r.stderr
    data = json.loads(r.stdout)
    assert data["cost"]["max_cost_usd"] == 0.0 and data["status"] == "stopped"


def test_empty_entry_is_refused(fake_anthropic: FakeAnthropic, ws, tmp_path) -> None:
    seed_workspace(ws)
    r = pilot(ws, str(write_task(tmp_path)), "--proposal", DREAM, "--entry", "", "--yes")
    assert r.exit_code == 2 and "--entry" in r.stderr and r.stderr.count("\n") == 1, r.output
    assert "cannot pilot entry  of" not in r.stderr
    assert not fake_anthropic.requests
