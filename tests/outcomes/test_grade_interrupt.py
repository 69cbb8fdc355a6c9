"""Ctrl-C in a real `dreamcli grade` process while a grader call hangs: it exits 130 at once (the call in
flight is abandoned, not waited for), with the grades finished before it stored and the `--json` document
ended with the error."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dreamcli.outcomes.store import iter_grades
from dreamcli.testing import FakeAnthropic, RecordedRequest, Reply
from dreamcli.workspace.home import Workspace
from tests.support.outcomes import make_session, verdict_reply, write_spec
from tests.support.run import cli_env

JUDGED = "name: judged\ncriteria:\n  - id: ok\n    description: The answer is fine.\n"
STALL = "STALLS-THE-GRADER"


def _grader(req: RecordedRequest) -> Reply:
    reply = verdict_reply(ok=True)
    if STALL in req.raw_body.decode("utf-8", "replace"):
        reply.latency = 60  # a stalled grader endpoint
    return reply


def _wait_for(what: str, ready: object, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():  # type: ignore[operator]
            return
        time.sleep(0.02)
    pytest.fail(f"never happened: {what}")


@pytest.mark.slow
def test_ctrl_c_does_not_wait_for_the_grader_call_in_flight(fake_anthropic: FakeAnthropic, ws: Workspace,
                                                            tmp_path: Path) -> None:
    fake_anthropic.responder = _grader
    fake_anthropic.allow_leftovers = True
    spec = write_spec(tmp_path / "judged.yaml", JUDGED)
    done = [make_session(ws, answer=f"Done: part {i}.", outcome=spec) for i in (1, 2)]
    stalled = make_session(ws, answer=f"Done: {STALL}.", outcome=spec)
    args = ["grade", *done, stalled, "--no-cache", "--json", "--parallel", "2"]
    proc = subprocess.Popen([sys.executable, "-m", "dreamcli", *args], env=cli_env(fake_anthropic.url, ws.root),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        _wait_for("the two answered grades stored", lambda: len(list(iter_grades(ws))) == 2)
        _wait_for("the stalled grader call", lambda: any(STALL in r.raw_body.decode("utf-8", "replace")
                                                           for r in fake_anthropic.requests))
        os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole process group
        t0 = time.monotonic()
        try:
            out, err = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            pytest.fail("`dreamcli grade` still running 15 s after Ctrl-C")
        waited = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert waited < 5, f"exited {waited:.1f} s after Ctrl-C: it waited for the grader call in flight"
    assert err.strip().splitlines()[-1] == "error: interrupted: grades finished so far are stored"
    assert [(g["session_id"], g["result"]) for g in iter_grades(ws)] == [(done[0], "satisfied"),
                                                                         (done[1], "satisfied")]
    report = json.loads(out)
    assert [r["session_id"] for r in report["results"]] == done
    assert report["error"] == "interrupted: grades finished so far are stored"
    assert report["totals"]["exit_code"] == 130
