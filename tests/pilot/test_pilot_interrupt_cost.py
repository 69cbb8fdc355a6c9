"""What a trial stopped by Ctrl-C had spent counts: its journal line is unscored (`interrupted`), the
resumed pilot runs the trial again and its `cost.total_usd` holds both runs of it."""

from __future__ import annotations

import itertools
import json
import signal
import subprocess

import pytest

from dreamcli.testing import FakeAnthropic, RecordedRequest, Reply, text_reply, tool_reply, tool_use
from tests.pilot.helpers import DREAM, USAGE, seed_workspace, write_task
from tests.support.run import DREAMCLI, cli_env, run_cli, stop_when

STALL_AT = 4  # trial 1: a tool call and its answer; trial 2: a tool call (spent), then its second call hangs


def agent(req: RecordedRequest) -> Reply:
    if len(req.messages) == 1:  # first turn: read the contract (a call that costs something)
        return tool_reply(tool_use("read", {"file_path": "contract.txt"}), usage=USAGE)
    return text_reply("SOLVED: section 9.2, 30 days.", usage=USAGE)


@pytest.mark.slow
def test_a_trial_stopped_mid_way_is_journaled_for_its_cost(fake_anthropic: FakeAnthropic, ws, tmp_path) -> None:
    seed_workspace(ws)
    task = write_task(tmp_path)
    calls = itertools.count(1)

    def stalling(req: RecordedRequest) -> Reply:
        reply = agent(req)
        if next(calls) >= STALL_AT:
            reply.latency = 60  # trial 2 spent its first call and waits on its second when Ctrl-C comes
        return reply

    fake_anthropic.responder = stalling
    env = cli_env(fake_anthropic.url, ws.root)
    args = ["pilot", str(task), "--proposal", DREAM, "--trials", "1", "--parallel", "1", "--yes", "--json"]
    proc = subprocess.Popen([DREAMCLI, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    _, err = stop_when(proc, lambda: len(fake_anthropic.requests) >= STALL_AT, signal.SIGINT)
    assert proc.returncode == 130, err
    journal = ws.dreams_dir / DREAM / "pilot-trials.jsonl"
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    assert [(r["scored"], r["unscored_reason"]) for r in lines] == [(True, None), (False, "interrupted")]
    stopped = lines[1]
    assert stopped["status"] == "interrupted" and stopped["passed"] is False and stopped["cost_usd"] > 0
    assert stopped["tokens"] == USAGE["input_tokens"] + USAGE["output_tokens"]  # the one call it made

    fake_anthropic.responder = agent
    done = run_cli(args, env=env)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["resumed_trials"] == 1 and data["new_trials"] == 1  # the stopped trial ran again, whole
    assert data["unscored"] == 0  # it is not a trial of the result, only a cost
    every_line = [json.loads(line) for line in journal.read_text().splitlines()]
    assert len(every_line) == 3
    assert data["cost"]["total_usd"] == pytest.approx(sum(r["cost_usd"] for r in every_line))
    assert data["cost"]["total_usd"] > sum(r["cost_usd"] for r in every_line if r["scored"])
