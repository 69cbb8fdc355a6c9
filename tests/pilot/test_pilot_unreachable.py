"""A model endpoint that cannot be reached during a pilot (the agent's call or the grader's) ends the pilot
with exit 4 and the `cannot reach HOST (...)` line `run`, `grade` and `dream` give; the trials it finished
stay in the journal (as after Ctrl-C: no result is added to pilot.json) and the same command resumes them.
A grader that answers, but with garbage, is a grader error: the pilot runs on and exits 3."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.pilot.store import TrialJournal
from dreamcli.testing import FakeAnthropic, RecordedRequest, Reply, drop, text_reply
from tests.pilot.helpers import DREAM, config, scripted_agent, seed_workspace, write_task
from tests.support.outcomes import verdict_reply

GRADED = ("name: graded\nmax_iterations: 1\ncriteria:\n  - id: solved\n    check: {type: contains, value: SOLVED}\n"
          "  - id: cites\n    description: The answer cites the section number.\n")


def _pilot(ws: Any, task: Path, *args: str) -> Any:
    from dreamcli.cli.app import app

    return CliRunner().invoke(app, ["--home", str(ws.root), "pilot", str(task), "--proposal", DREAM, "--parallel",
                                    "1", "--yes", *args], env={"NO_COLOR": "1", "COLUMNS": "100"})


def _graded_task(tmp_path: Path) -> Path:
    task = write_task(tmp_path)
    (tmp_path / "contract-review-outcome.yaml").write_text(GRADED)
    return task


def _is_grader(req: RecordedRequest) -> bool:
    return (req.body.get("tool_choice") or {}).get("name") == "record_verdicts"


def _journal(ws: Any) -> list[dict[str, Any]]:
    path = ws.dreams_dir / DREAM / "pilot-trials.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _stop_after(monkeypatch: pytest.MonkeyPatch, server: FakeAnthropic, n: int) -> None:
    """Stop the server (its port then refuses connections) once `n` trials are in the journal."""
    real = TrialJournal.append
    count = [0]

    def append(self: TrialJournal, record: dict[str, Any]) -> None:
        real(self, record)
        count[0] += 1
        if count[0] == n:
            server.stop()

    monkeypatch.setattr(TrialJournal, "append", append)


def test_an_endpoint_gone_mid_pilot_ends_it_with_exit_4_and_keeps_the_finished_trials(
        fake_anthropic: FakeAnthropic, ws: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seed_workspace(ws)
    config(ws, "limits:\n  model_retries: 0\n")
    task = write_task(tmp_path)
    fake_anthropic.responder = scripted_agent(1.0, 0.0)
    host = fake_anthropic.url.removeprefix("http://")
    _stop_after(monkeypatch, fake_anthropic, 2)
    r = _pilot(ws, task, "--trials", "3")
    assert r.exit_code == 4, r.output
    assert r.stderr.strip().splitlines()[-1] == (
        f"error: model call (turn 1): cannot reach {host} (connection refused); the pilot stopped: 2 trials of "
        "this run are recorded -- run the same command again to resume")
    assert r.stdout == ""  # no result: nothing measured is printed as if the pilot were whole
    # the trial that failed is journaled unscored, for what it cost: the resume runs it again
    assert [t["scored"] for t in _journal(ws)] == [True, True, False]
    assert not (ws.dreams_dir / DREAM / "pilot.json").exists()  # as after Ctrl-C: no run result written
    assert len(list(ws.sessions_dir.rglob("*.jsonl"))) == 3  # no trial started after the one that failed
    with FakeAnthropic() as again:  # the endpoint is back: the same command resumes the pilot
        again.responder = scripted_agent(1.0, 0.0)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", again.url)
        r = _pilot(ws, task, "--trials", "3", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert (data["resumed_trials"], data["new_trials"]) == (2, 4)
    assert [a["passed"] for a in data["arms"]] == [0, 3]


def test_a_grader_that_cannot_reach_the_endpoint_ends_the_pilot_with_exit_4(
        fake_anthropic: FakeAnthropic, ws: Any, tmp_path: Path) -> None:
    """The agent's call is answered; the endpoint is gone when the grader calls (its retry is refused)."""
    seed_workspace(ws)
    config(ws, "limits:\n  model_retries: 1\n")
    task = _graded_task(tmp_path)
    host = fake_anthropic.url.removeprefix("http://")
    graded = [0]

    def responder(req: RecordedRequest) -> Reply:
        if not _is_grader(req):
            return text_reply("SOLVED: section 9.2, 30 days.")
        graded[0] += 1
        if graded[0] < 3:
            return verdict_reply(cites=True)
        threading.Thread(target=fake_anthropic.stop, daemon=True).start()  # gone before the client retries
        return drop()

    fake_anthropic.responder = responder
    r = _pilot(ws, task, "--trials", "3")
    assert r.exit_code == 4, r.output
    assert r.stderr.strip().splitlines()[-1] == (
        f"error: grader: cannot reach {host} (connection refused); the pilot stopped: 2 trials of this run are "
        "recorded -- run the same command again to resume")
    assert "grader error" not in r.stderr
    assert [t["scored"] for t in _journal(ws)] == [True, True, False]
    assert not (ws.dreams_dir / DREAM / "pilot.json").exists()


def test_a_grader_that_answers_garbage_stays_a_grader_error_and_exit_3(
        fake_anthropic: FakeAnthropic, ws: Any, tmp_path: Path) -> None:
    seed_workspace(ws)
    config(ws, "limits:\n  model_retries: 0\n")
    task = _graded_task(tmp_path)
    fake_anthropic.responder = lambda req: text_reply("no idea, sorry" if _is_grader(req) else "SOLVED: 9.2")
    r = _pilot(ws, task, "--trials", "2", "--json")
    assert r.exit_code == 3, r.output
    assert r.stderr.strip().splitlines()[-1] == "error: the pilot measured nothing: 4 trials unscored: grader errors"
    data = json.loads(r.stdout)
    assert data["unscored_reasons"] == {"grader error": 4} and data["new_trials"] == 4  # every trial ran
    assert json.loads((ws.dreams_dir / DREAM / "pilot.json").read_text())["runs"][-1]["pilot_id"] == data["pilot_id"]


def test_a_grader_errors_progress_line_says_why_the_trial_is_unscored(
        fake_anthropic: FakeAnthropic, ws: Any, tmp_path: Path) -> None:
    """As a trial left out for `cannot reach HOST` says so on its line, one left out for a grader error
    says the grader's error (the trial's own error is empty: its agent ran to the end)."""
    seed_workspace(ws)
    config(ws, "limits:\n  model_retries: 0\n")
    task = _graded_task(tmp_path)
    fake_anthropic.responder = lambda req: text_reply("no idea, sorry" if _is_grader(req) else "SOLVED: 9.2")
    r = _pilot(ws, task, "--trials", "1")
    assert r.exit_code == 3, r.output
    lines = [line for line in r.stderr.splitlines() if line.startswith("? [")]
    assert len(lines) == 2, r.stderr  # one trial per arm, both unscored
    for line in lines:
        why = line.partition("pass 0/0 (-)): ")[2]  # after the arm's running count
        assert why == "grader error: grader answer has no record_verdicts call and no JSON verdicts", line
