"""A pilot end to end through the real client against the fake server: a real lift and a null
lift, sessions tagged and graded, fresh workdirs, live playbooks untouched, pilot.json appended."""

from __future__ import annotations

import json
import stat

import pytest

from dreamcli.playbooks.store import playbook_path
from dreamcli.testing import FakeAnthropic
from tests.pilot.helpers import DREAM, HELPS, requests_by_arm, run_pilot_api, scripted_agent, seed_workspace, write_task
from tests.support.run import validate_log


@pytest.fixture
def seeded(ws):
    seed_workspace(ws)
    return ws


@pytest.mark.slow
def test_a_real_lift_is_measured(fake_anthropic: FakeAnthropic, seeded, tmp_path) -> None:
    ws = seeded
    task = write_task(tmp_path)
    before = playbook_path(ws, "default").read_bytes()
    fake_anthropic.responder = scripted_agent(0.9, 0.2)
    result = run_pilot_api(ws, task, trials=12, parallel=1)
    base, cand = result["arms"]
    assert (base["name"], cand["name"]) == ("baseline", "candidate")
    assert base["trials"] == cand["trials"] == 12
    assert cand["passed"] > base["passed"]
    lift = result["lift"]
    assert lift["test"] == "mcnemar_exact" and lift["ci95"][0] > 0 and lift["p_value"] < 0.05
    assert lift["discordant"]["baseline_only"] == 0  # paired draws: the entry never makes it worse
    assert lift["verdict"].startswith("the candidate helps")
    assert requests_by_arm(fake_anthropic.requests) == {True: 12, False: 12}
    # interleaved: every consecutive pair of trials holds one of each arm, in a rotating order
    arms = [HELPS in r.system_text for r in fake_anthropic.requests]
    assert all(arms[i] != arms[i + 1] for i in range(0, len(arms), 2))
    assert arms[0] != arms[2]
    assert playbook_path(ws, "default").read_bytes() == before  # live playbooks never change
    ids = result["session_ids"]
    assert len(ids["baseline"]) == len(ids["candidate"]) == 12
    logs = {p.stem: p for p in ws.sessions_dir.rglob("*.jsonl")}
    start = validate_log(logs[ids["candidate"][0]])[0]
    assert start["pilot"] == {"id": result["pilot_id"], "arm": "candidate", "trial": 0,
                              "task": result["tasks"][0]["key"], "dream_id": DREAM}
    assert start["with_proposal"] == DREAM and start["trial"]["entry_ids"] == ["pb-pilot001"]
    base_start = validate_log(logs[ids["baseline"][0]])[0]
    assert base_start["pilot"]["arm"] == "baseline" and "with_proposal" not in base_start
    assert start["workdir"] != base_start["workdir"] != str(task.parent / "contract-review-work")
    end = json.loads(logs[ids["candidate"][0]].read_text().splitlines()[-1])
    assert end["outcome"]["name"] == "contract-review-outcome"
    path = ws.dreams_dir / DREAM / "pilot.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = json.loads(path.read_text())
    assert [r["pilot_id"] for r in stored["runs"]] == [result["pilot_id"]]
    assert stored["runs"][0]["lift"] == result["lift"]


def test_a_null_lift_says_unknown_and_runs_are_appended(fake_anthropic: FakeAnthropic, seeded, tmp_path) -> None:
    ws = seeded
    task = write_task(tmp_path)
    fake_anthropic.responder = scripted_agent(0.5, 0.5, paired=False, seed=3)
    first = run_pilot_api(ws, task, trials=8, parallel=1)  # one at a time: arrival order pairs the draws
    lo, hi = first["lift"]["ci95"]
    assert lo < 0 < hi
    assert first["lift"]["verdict"].startswith("lift unknown: CI spans")
    assert "run more trials" in first["lift"]["verdict"]
    second = run_pilot_api(ws, task, trials=8, parallel=2, fresh=True)
    assert second["pilot_id"] != first["pilot_id"]
    runs = json.loads((ws.dreams_dir / DREAM / "pilot.json").read_text())["runs"]
    assert [r["pilot_id"] for r in runs] == [first["pilot_id"], second["pilot_id"]]  # appended, never overwritten
    assert runs[0]["lift"] == first["lift"] and runs[0]["arms"] == first["arms"]


def test_each_trial_gets_a_fresh_copy_of_the_workdir(fake_anthropic: FakeAnthropic, seeded, tmp_path) -> None:
    from dreamcli.testing import text_reply, tool_reply, tool_use

    ws = seeded
    task = write_task(tmp_path)
    seen: list[str] = []

    def responder(req):
        if len(req.messages) == 1:  # first turn: write a file into the workdir
            seen.append(req.system_text.split("Your working directory is", 1)[1].split(";")[0].strip())
            return tool_reply(tool_use("write", {"file_path": "scratch.txt", "content": "left behind"}))
        return text_reply("SOLVED")

    fake_anthropic.responder = responder
    result = run_pilot_api(ws, task, trials=2, parallel=1)
    assert result["arms"][0]["passed"] == 2 and result["arms"][1]["passed"] == 2
    assert len(set(seen)) == 4  # four trials, four directories
    assert not (task.parent / "contract-review-work" / "scratch.txt").exists()
    from pathlib import Path

    assert not any(Path(s).exists() for s in seen)  # removed after each trial
    assert not [p for p in ws.memory_dir.iterdir() if p.name.startswith(".pilot-")]
