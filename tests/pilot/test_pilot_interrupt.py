"""Ctrl-C in a real `dreamcli pilot` process: finished trials stay recorded, every session log is
closed, exit 130; the same command then resumes where it stopped."""

from __future__ import annotations

import itertools
import json
import signal
import subprocess

import pytest

from dreamcli.testing import FakeAnthropic, RecordedRequest, Reply
from tests.pilot.helpers import DREAM, scripted_agent, seed_workspace, write_task
from tests.support.run import DREAMCLI, cli_env, run_cli, stop_when

STALL_FROM = 3  # the model answers the first two trials' calls; the third call (and any after it) hangs
TRIALS = 4  # 2 trials x 2 arms: two finished before Ctrl-C, two left for the re-run


@pytest.mark.slow
def test_ctrl_c_keeps_finished_trials_and_a_rerun_resumes(fake_anthropic: FakeAnthropic, ws, tmp_path) -> None:
    seed_workspace(ws)
    task = write_task(tmp_path)
    agent = scripted_agent(0.9, 0.2)
    calls = itertools.count(1)

    def stalling(req: RecordedRequest) -> Reply:
        reply = agent(req)
        if next(calls) >= STALL_FROM:
            reply.latency = 60  # the pilot is mid-trial, waiting on the model, when Ctrl-C comes
        return reply

    fake_anthropic.responder = stalling
    env = cli_env(fake_anthropic.url, ws.root)
    args = ["pilot", str(task), "--proposal", DREAM, "--trials", str(TRIALS // 2), "--parallel", "1", "--yes", "--json"]
    proc = subprocess.Popen([DREAMCLI, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL,  # SIGINT at its default, as in a terminal (not inherited ignored)
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    journal = ws.dreams_dir / DREAM / "pilot-trials.jsonl"
    # two trials done, the third waiting on its call
    _, err = stop_when(proc, lambda: len(fake_anthropic.requests) >= STALL_FROM, signal.SIGINT)
    assert proc.returncode == 130, err
    assert "run the same command again to resume" in err
    recorded = len(journal.read_text().splitlines())
    assert recorded == STALL_FROM - 1  # the two finished trials, not the one Ctrl-C stopped
    for log in ws.sessions_dir.rglob("*.jsonl"):  # every log ends, the interrupted one included
        last = json.loads(log.read_text().splitlines()[-1])
        assert last["type"] == "session.end"
    fake_anthropic.responder = agent
    done = run_cli(args, env=env)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["resumed_trials"] == recorded and data["new_trials"] == TRIALS - recorded
    assert sum(a["trials"] for a in data["arms"]) == TRIALS
