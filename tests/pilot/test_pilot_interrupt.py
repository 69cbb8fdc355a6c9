"""Ctrl-C in a real `dreamcli pilot` process: finished trials stay recorded, every session log is
closed, exit 130; the same command then resumes where it stopped."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest

from dreamcli.testing import FakeAnthropic
from tests.pilot.helpers import DREAM, scripted_agent, seed_workspace, write_task
from tests.support.run import DREAMCLI, cli_env, run_cli


@pytest.mark.slow
def test_ctrl_c_keeps_finished_trials_and_a_rerun_resumes(fake_anthropic: FakeAnthropic, ws, tmp_path) -> None:
    seed_workspace(ws)
    task = write_task(tmp_path)
    fake_anthropic.responder = scripted_agent(0.9, 0.2)
    fake_anthropic.latency = 0.25
    env = cli_env(fake_anthropic.url, ws.root)
    args = ["pilot", str(task), "--proposal", DREAM, "--trials", "4", "--parallel", "1", "--yes", "--json"]
    proc = subprocess.Popen([DREAMCLI, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    journal = ws.dreams_dir / DREAM / "pilot-trials.jsonl"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if journal.exists() and len(journal.read_text().splitlines()) >= 2:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "run the same command again to resume" in err
    recorded = len(journal.read_text().splitlines())
    assert 2 <= recorded < 8
    for log in ws.sessions_dir.rglob("*.jsonl"):  # every log ends, the interrupted one included
        last = json.loads(log.read_text().splitlines()[-1])
        assert last["type"] == "session.end"
    fake_anthropic.latency = 0.0
    done = run_cli(args, env=env)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["resumed_trials"] == recorded and data["new_trials"] == 8 - recorded
    assert sum(a["trials"] for a in data["arms"]) == 8
