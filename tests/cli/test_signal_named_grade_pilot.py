"""SIGTERM and SIGHUP that stop `grade --json` and `pilot` are named as `run` names them (docs/cli.md, "exit
codes"): the `error:` line says `interrupted by SIGTERM` and the process exits 128 + the signal, and grade's
document says the same, its `totals.exit_code` the process's. It said `interrupted`, and the document 130."""

from __future__ import annotations

import itertools
import json
import signal
import subprocess
from pathlib import Path

import pytest

from dreamcli.testing import FakeAnthropic, RecordedRequest, Reply
from dreamcli.workspace.home import Workspace
from tests.pilot.helpers import DREAM, scripted_agent, seed_workspace, write_task
from tests.support.outcomes import make_session, verdict_reply, write_spec
from tests.support.run import DREAMCLI, cli_env, stop_when

JUDGED = "name: judged\ncriteria:\n  - id: ok\n    description: The answer is fine.\n"
STALL = "STALLS-THE-GRADER"
SIGNALS = [signal.SIGTERM, signal.SIGHUP]


def _grader(req: RecordedRequest) -> Reply:
    reply = verdict_reply(ok=True)
    if STALL in req.raw_body.decode("utf-8", "replace"):
        reply.latency = 60  # a stalled grader endpoint: the signal comes while grade waits on it
    return reply


@pytest.mark.slow
@pytest.mark.parametrize("signum", SIGNALS, ids=["TERM", "HUP"])
def test_grade_json_names_the_signal_and_its_exit_code(fake_anthropic: FakeAnthropic, ws: Workspace,
                                                       tmp_path: Path, signum: int) -> None:
    fake_anthropic.responder = _grader
    fake_anthropic.allow_leftovers = True
    spec = write_spec(tmp_path / "judged.yaml", JUDGED)
    done = make_session(ws, answer="Done: part 1.", outcome=spec)
    stalled = make_session(ws, answer=f"Done: {STALL}.", outcome=spec)
    proc = subprocess.Popen([DREAMCLI, "grade", done, stalled, "--no-cache", "--json", "--parallel", "1"],
                            env=cli_env(fake_anthropic.url, ws.root), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = stop_when(proc, lambda: any(STALL in r.raw_body.decode("utf-8", "replace")
                                            for r in fake_anthropic.requests), signum)
    name = signal.Signals(signum).name
    line = f"interrupted by {name}: grades finished so far are stored"
    assert proc.returncode == 128 + signum, err
    assert err.strip().splitlines()[-1] == f"error: {line}"
    report = json.loads(out)
    assert report["error"] == line
    assert report["totals"]["exit_code"] == 128 + signum  # the process's, as docs/cli.md says
    assert [r["session_id"] for r in report["results"]] == [done]


@pytest.mark.slow
def test_pilot_names_the_signal(fake_anthropic: FakeAnthropic, ws: Workspace, tmp_path: Path) -> None:
    seed_workspace(ws)
    task = write_task(tmp_path)
    agent = scripted_agent(0.9, 0.2)
    calls = itertools.count(1)

    def stalling(req: RecordedRequest) -> Reply:
        reply = agent(req)
        if next(calls) >= 2:
            reply.latency = 60  # the second trial waits on the model when the signal comes
        return reply

    fake_anthropic.responder = stalling
    fake_anthropic.allow_leftovers = True
    proc = subprocess.Popen([DREAMCLI, "pilot", str(task), "--proposal", DREAM, "--trials", "1", "--parallel", "1",
                             "--yes"], env=cli_env(fake_anthropic.url, ws.root), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, err = stop_when(proc, lambda: len(fake_anthropic.requests) >= 2, signal.SIGTERM)
    assert proc.returncode == 143, err
    assert err.strip().splitlines()[-1] == ("error: interrupted by SIGTERM; 1 trial(s) of this run are recorded -- "
                                            "run the same command again to resume")
