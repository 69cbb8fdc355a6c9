"""Delegation through the installed command: live sub-agent lines, Ctrl-C stopping every child, and
`sessions show` / `sessions list` rendering a lead with its sub-agents."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.testing import FakeAnthropic, Reply, tool_reply, tool_use
from tests.support.multiagent import answer, is_child, logs_by_role, responder
from tests.support.run import DREAMCLI, cli_env, of_type, run_cli, validate_log


@pytest.fixture
def task(tmp_path: Path) -> Path:
    wd = tmp_path / "logs"
    wd.mkdir()
    for i in range(3):
        (wd / f"job-{i}.log").write_text(f"step test\nERROR E{i} failed\n")
    path = tmp_path / "triage.yaml"
    path.write_text("name: mini-triage\nprompt: Split the logs among sub-agents and merge their findings.\n"
                    "workdir: logs\ntools: [read, grep, delegate]\nmax_turns: 5\ntags: [multi-agent]\n")
    return path


def lead_delegating(n: int = 3) -> Any:
    def lead(req: Any, turn: int) -> Reply:
        if turn == 0:
            return tool_reply(tool_use("delegate", {"tasks": [{"brief": f"Read job-{i}.log; return its error."}
                                                              for i in range(n)]}))
        return answer("E0, E1 and E2: one failure per job, no pattern.")
    return lead


@pytest.mark.slow
def test_delegation_through_the_cli_then_sessions_show_and_list(fake_anthropic: FakeAnthropic, home: Path,
                                                                  task: Path) -> None:
    def child(brief: str, turn: int, req: Any) -> Reply:
        name = brief.split()[1].rstrip(";")
        return tool_reply(tool_use("read", {"file_path": name})) if turn == 0 else answer(f"{name}: E{name[4]}")

    fake_anthropic.responder = responder(lead_delegating(), child)
    proc = run_cli(["run", str(task)], env=cli_env(fake_anthropic.url, home))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "E0, E1 and E2: one failure per job, no pattern."
    assert proc.stderr.count("- sub-agent ") == 6  # started and finished lines for each child
    assert "ok delegate 3 sub-agents" in proc.stderr
    lead, children = logs_by_role(home)
    lead_id = lead[0]["session_id"]
    for path in (home / "sessions").rglob("*.jsonl"):
        validate_log(path)

    runner = CliRunner()
    shown = runner.invoke(app, ["--home", str(home), "sessions", "show", lead_id[:12]], env={"NO_COLOR": "1"})
    assert shown.exit_code == 0, shown.output
    tree = shown.stdout[shown.stdout.index("sub-agents (3)"):]
    assert all(sid in tree for sid in children)
    assert tree.count("completed · 2 turns") == 3
    assert "brief Read job-0.log; return its error." in tree and "answer job-1.log: E1" in tree

    as_json = json.loads(runner.invoke(app, ["--home", str(home), "sessions", "show", lead_id, "--json"]).stdout)
    kids = as_json["children"]
    started = [e["child_session_id"] for e in of_type(lead, "subagent") if e["event"] == "started"]
    assert [k["session_id"] for k in kids] == started and sorted(started) == sorted(children)  # in start order
    assert {k["final_text"] for k in kids} == {"job-0.log: E0", "job-1.log: E1", "job-2.log: E2"}
    assert all(k["parent_session_id"] == lead_id and k["status"] == "completed" and k["turns"] == 2 for k in kids)

    listed = json.loads(runner.invoke(app, ["--home", str(home), "sessions", "list", "--json"]).stdout)["sessions"]
    assert [s["session_id"] for s in listed] == [lead_id, *sorted(children)]  # children under their lead
    plain = runner.invoke(app, ["--home", str(home), "sessions", "list"], env={"NO_COLOR": "1"}).stdout
    lines = [ln for ln in plain.splitlines() if ln.strip()][1:]
    assert lines[0].startswith(lead_id) and all(ln.lstrip().startswith("└") for ln in lines[1:])
    hidden = json.loads(runner.invoke(app, ["--home", str(home), "sessions", "list", "--no-children",
                                            "--json"]).stdout)["sessions"]
    assert [s["session_id"] for s in hidden] == [lead_id]
    limited = json.loads(runner.invoke(app, ["--home", str(home), "sessions", "list", "--limit", "1",
                                             "--json"]).stdout)["sessions"]
    assert len(limited) == 4  # the limit counts leads; their children come along


@pytest.mark.slow
def test_ctrl_c_stops_every_subagent_and_closes_their_logs(fake_anthropic: FakeAnthropic, home: Path,
                                                           task: Path) -> None:
    fake_anthropic.allow_leftovers = True

    def child(brief: str, turn: int, req: Any) -> Reply:
        reply = answer("never delivered")
        reply.latency = 30  # the model is slow: every child is blocked in its call
        return reply

    fake_anthropic.responder = responder(lead_delegating(), child)
    proc = subprocess.Popen([DREAMCLI, "run", str(task)], env=cli_env(fake_anthropic.url, home),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while sum(is_child(r) for r in fake_anthropic.requests) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert sum(is_child(r) for r in fake_anthropic.requests) == 3, "the sub-agents never called the model"
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
        took = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert took < 5, took
    assert err.strip().splitlines()[-1].startswith("error: interrupted")
    lead, children = logs_by_role(home)
    assert len(children) == 3
    for events in [lead, *children.values()]:
        end = events[-1]
        assert end["type"] == "session.end" and end["status"] == "interrupted", end
    for path in (home / "sessions").rglob("*.jsonl"):
        validate_log(path)
    finished = [e for e in of_type(lead, "subagent") if e["event"] == "finished"]
    assert sorted(e["child_session_id"] for e in finished) == sorted(children)
    assert {e["status"] for e in finished} == {"interrupted"}
    listed = json.loads(run_cli(["sessions", "list", "--json"], env=cli_env(None, home)).stdout)["sessions"]
    assert {s["status"] for s in listed} == {"interrupted"} and len(listed) == 4
