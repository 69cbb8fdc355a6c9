"""One pilot of a plan at a time: a second `dreamcli pilot` of the same plan exits 75 and runs
nothing, or with --wait queues and then resumes what the first one ran (no trial runs twice)."""

from __future__ import annotations

import json
import threading
from typing import Any

from typer.testing import CliRunner

from dreamcli.config import load_config
from dreamcli.pilot.api import execute, prepare
from dreamcli.pilot.plan import build_plan
from dreamcli.testing import FakeAnthropic, RecordedRequest, Reply
from dreamcli.workspace.lock import workspace_lock
from tests.pilot.helpers import DREAM, run_pilot_api, scripted_agent, seed_workspace, write_task


def pilot(ws: Any, *args: str) -> Any:
    from dreamcli.cli.app import app

    return CliRunner().invoke(app, ["--home", str(ws.root), "pilot", *args],
                              env={"NO_COLOR": "1", "COLUMNS": "80", "DREAMCLI_ACTOR": "tester"})


def test_a_running_pilot_of_the_same_plan_is_exit_75_and_nothing_runs(fake_anthropic: FakeAnthropic, ws,
                                                                       tmp_path) -> None:
    seed_workspace(ws)
    task = write_task(tmp_path)
    plan = build_plan(ws, load_config(ws.config_path), [task], DREAM, trials=2)
    with workspace_lock(ws, f"pilot-{DREAM}-{plan.plan_key}"):  # what a running pilot of this plan holds
        for extra in ([], ["--wait", "0"]):
            r = pilot(ws, str(task), "--proposal", DREAM, "--trials", "2", "--yes", "--json", *extra)
            assert r.exit_code == 75, r.stderr
            assert r.stderr.startswith("error: the 'pilot-")
            assert "is held by" in r.stderr and "wait, or run with --wait SECONDS" in r.stderr
            assert len(r.stderr.strip().splitlines()) == 1
            assert r.stdout == ""
    assert not fake_anthropic.requests and not list(ws.sessions_dir.rglob("*.jsonl"))
    assert not (ws.dreams_dir / DREAM / "pilot-trials.jsonl").exists()
    assert not (ws.dreams_dir / DREAM / "pilot.json").exists()
    r = pilot(ws, str(task), "--proposal", DREAM, "--wait", "nan", "--yes")
    assert r.exit_code == 2 and "--wait: nan is not a number of seconds" in r.stderr


def test_a_pilot_that_ran_meanwhile_is_taken_in_not_run_again(fake_anthropic: FakeAnthropic, ws, tmp_path) -> None:
    """Prepared (the plan shown, the user still confirming) while another pilot of the plan ran to the end:
    executing it then runs nothing again."""
    seed_workspace(ws)
    task = write_task(tmp_path)
    fake_anthropic.responder = scripted_agent(1.0, 0.0)
    cfg = load_config(ws.config_path)
    waiting = prepare(ws, cfg, [task], DREAM, trials=2)
    assert waiting.resumed == 0 and len(waiting.todo) == 4
    other = run_pilot_api(ws, task, trials=2)
    assert other["new_trials"] == 4
    result = execute(ws, cfg, waiting)
    assert (result["pilot_id"], result["resumed_trials"], result["new_trials"]) == (other["pilot_id"], 4, 0)
    assert len(fake_anthropic.requests) == 4
    runs = json.loads((ws.dreams_dir / DREAM / "pilot.json").read_text())["runs"]
    assert [r["pilot_id"] for r in runs] == [other["pilot_id"]]


def test_wait_queues_behind_the_running_pilot_then_resumes_it(fake_anthropic: FakeAnthropic, ws, tmp_path) -> None:
    seed_workspace(ws)
    task = write_task(tmp_path)
    agent = scripted_agent(1.0, 0.0)
    cfg = load_config(ws.config_path)
    second: dict[str, Any] = {}

    def queued() -> None:  # a second pilot of the same plan, started while the first runs its trials
        try:
            prep = prepare(ws, cfg, [task], DREAM, trials=2, wait=-1)
            second["result"] = execute(ws, cfg, prep, wait=-1)
        except BaseException as e:  # reported by the assertions below
            second["error"] = e

    thread = threading.Thread(target=queued)
    started = threading.Lock()

    def responder(req: RecordedRequest) -> Reply:
        if started.acquire(blocking=False):  # the first trial's model call: the first pilot holds its lock
            thread.start()
        return agent(req)

    fake_anthropic.responder = responder
    first = run_pilot_api(ws, task, trials=2)
    thread.join(timeout=120)
    assert not thread.is_alive() and "error" not in second, second.get("error")
    result = second["result"]
    assert (result["pilot_id"], result["resumed_trials"], result["new_trials"]) == (first["pilot_id"], 4, 0)
    assert first["new_trials"] == 4 and len(fake_anthropic.requests) == 4  # every trial ran once
    journal = (ws.dreams_dir / DREAM / "pilot-trials.jsonl").read_text().splitlines()
    assert len(journal) == 4
