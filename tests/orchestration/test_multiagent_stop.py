"""Ctrl-C leaves nothing running: every bash command of the lead and its sub-agents is killed (found
by a unique marker in the command line), and a sealed sub-agent's outcome stays `interrupted` even
when the child wakes up afterwards."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from dreamcli.agent import RunOptions, prompt_spec, run_agent
from dreamcli.agent.tools import ToolEnv, register_tool
from dreamcli.agent.tools.base import Tool, ToolResult
from dreamcli.config import Config
from dreamcli.errors import Interrupted
from dreamcli.orchestration.supervisor import Job, Supervisor
from dreamcli.testing import FakeAnthropic, Reply, tool_reply, tool_use
from dreamcli.workspace.home import Workspace
from tests.support.multiagent import (
    answer,
    gone_soon,
    kill_leftovers,
    logs_by_role,
    responder,
    sleep_marker,
    wait_for_pids,
)
from tests.support.run import DREAMCLI, cli_env, of_type


def write_task(tmp_path: Path, tools: str) -> Path:
    (tmp_path / "wd").mkdir(exist_ok=True)
    path = tmp_path / "stop.yaml"
    path.write_text(f"name: stop\nprompt: Run the commands.\nworkdir: wd\ntools: [{tools}]\nmax_turns: 5\n")
    return path


def interrupt_cli(fake: FakeAnthropic, task: Path, home: Path, marker: str, count: int) -> tuple[int, float]:
    """Run the task, wait until `count` commands carrying `marker` run, Ctrl-C: (exit code, seconds)."""
    proc = subprocess.Popen([DREAMCLI, "run", str(task), "--yes"], env=cli_env(fake.url, home),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert len(wait_for_pids(marker, count, timeout=30)) == count, "the commands never started"
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
        took = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    return proc.returncode, took


@pytest.mark.slow
@pytest.mark.parametrize("delegating", [True, False], ids=["subagents", "lead"])
def test_ctrl_c_kills_every_bash_command(fake_anthropic: FakeAnthropic, tmp_path: Path, delegating: bool) -> None:
    fake_anthropic.allow_leftovers = True
    marker = sleep_marker(str(int(delegating)))
    home = tmp_path / "home"

    def lead(req: Any, turn: int) -> Reply:
        if turn:
            return answer("done")
        if delegating:
            return tool_reply(tool_use("delegate", {"tasks": [{"brief": f"job {i}"} for i in range(3)]}))
        return tool_reply(tool_use("bash", {"command": f"sleep {marker}9"}))

    def child(brief: str, turn: int, req: Any) -> Reply:
        if turn:
            return answer("x")
        return tool_reply(tool_use("bash", {"command": f"sleep {marker}{brief[-1]}"}))

    fake_anthropic.responder = responder(lead, child)
    task = write_task(tmp_path, "bash, delegate" if delegating else "bash")
    try:
        _, took = interrupt_cli(fake_anthropic, task, home, marker, 3 if delegating else 1)
        assert took < 5, took
        assert gone_soon(marker) == [], "a command outlived dreamcli"
    finally:
        kill_leftovers(marker)
    lead_events, children = logs_by_role(home)
    assert len(children) == (3 if delegating else 0)
    for events in [lead_events, *children.values()]:
        assert events[-1]["type"] == "session.end" and events[-1]["status"] == "interrupted"


class Blocker(Tool):
    """Blocks until the test releases it, then returns normally (a child that wakes up too late)."""

    name = "blocker_stop_test"
    description = "blocks"
    entered: list[str] = []  # noqa: RUF012
    release = threading.Event()

    def __init__(self, env: ToolEnv) -> None:
        self.env = env

    def execute(self, input: dict[str, Any]) -> ToolResult:
        Blocker.entered.append(self.env.session_id)
        Blocker.release.wait(10)
        return ToolResult("a late result")


@pytest.mark.slow
def test_a_child_waking_after_its_log_was_sealed_cannot_change_its_outcome(
        fake_anthropic: FakeAnthropic, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Forced order: the supervisor seals both children, then they wake up and finish first (their
    writes fail) -- before the lead logs the sealed outcome. `finished` must still say interrupted,
    once per child, and no child's job may end in an exception."""
    fake_anthropic.allow_leftovers = True
    Blocker.entered.clear()
    Blocker.release.clear()
    register_tool(Blocker.name, Blocker, replace=True)
    jobs: list[Job] = []
    original = Supervisor.interrupt

    def interrupt_then_let_children_finish(self: Supervisor) -> list[Job]:
        sealed = original(self)
        jobs.extend(self._jobs)
        Blocker.release.set()
        deadline = time.monotonic() + 10
        while any(j.state == "running" for j in self._jobs) and time.monotonic() < deadline:
            time.sleep(0.01)
        return sealed

    monkeypatch.setattr(Supervisor, "interrupt", interrupt_then_let_children_finish)

    def lead(req: Any, turn: int) -> Reply:
        return tool_reply(tool_use("delegate", {"tasks": [{"brief": f"job {i}"} for i in range(2)]}))

    def child(brief: str, turn: int, req: Any) -> Reply:
        return tool_reply(tool_use(Blocker.name, {})) if turn == 0 else answer("too late")

    fake_anthropic.responder = responder(lead, child)
    ws = Workspace(root=tmp_path / "home", source="option").ensure_layout()
    (tmp_path / "wd").mkdir()
    cancel = threading.Event()
    outcome: dict[str, Any] = {}

    def go() -> None:
        try:
            run_agent(ws, Config(), prompt_spec("Split it.", name="stop"),
                      RunOptions(workdir=tmp_path / "wd", tools=(Blocker.name, "delegate"), yes=True), cancel=cancel)
        except Interrupted as e:
            outcome["status"] = e.result.status  # type: ignore[attr-defined]

    th = threading.Thread(target=go)
    th.start()
    deadline = time.monotonic() + 10
    while len(Blocker.entered) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    cancel.set()
    th.join(timeout=20)
    assert not th.is_alive() and outcome == {"status": "interrupted"}
    assert len(jobs) == 2 and all(j.state == "done" and j.sealed and j.error is None for j in jobs)
    assert [j.result.status for j in jobs] == ["interrupted", "interrupted"]
    lead_events, children = logs_by_role(ws.root)
    finished = [e for e in of_type(lead_events, "subagent") if e["event"] == "finished"]
    assert sorted(e["child_session_id"] for e in finished) == sorted(children)
    assert [e["status"] for e in finished] == ["interrupted", "interrupted"]
    for events in children.values():
        assert events[-1]["type"] == "session.end" and events[-1]["status"] == "interrupted"


@pytest.mark.slow
def test_ctrl_c_kills_parallel_tasks_commands_and_reports_no_late_errors(fake_anthropic: FakeAnthropic,
                                                                         tmp_path: Path) -> None:
    """`run --parallel`: the tasks' commands die, and a task that wakes up after its log was sealed
    prints no late `error: internal error: RuntimeError ...` progress line."""
    fake_anthropic.allow_leftovers = True
    marker = sleep_marker("5")
    home = tmp_path / "home"
    (tmp_path / "wd").mkdir()
    files = []
    for i in range(2):
        files.append(tmp_path / f"t{i}.yaml")
        files[-1].write_text(f"name: t{i}\nprompt: go {i}\nworkdir: wd\ntools: [bash]\nmax_turns: 5\n")

    def lead(req: Any, turn: int) -> Reply:
        if turn:
            return answer("done")
        prompt = req.messages[0]["content"]
        prompt = prompt if isinstance(prompt, str) else prompt[0]["text"]
        return tool_reply(tool_use("bash", {"command": f"sleep {marker}{prompt[-1]}"}))

    fake_anthropic.responder = responder(lead, lambda *a: answer("x"))
    proc = subprocess.Popen([DREAMCLI, "run", *map(str, files), "--parallel", "2", "--yes"],
                            env=cli_env(fake_anthropic.url, home), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert len(wait_for_pids(marker, 2, timeout=30)) == 2, "the commands never started"
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
        assert time.monotonic() - t0 < 5
        assert gone_soon(marker) == [], "a command outlived dreamcli"
    finally:
        if proc.poll() is None:
            proc.kill()
        kill_leftovers(marker)
    assert proc.returncode == 130, err
    assert "RuntimeError" not in err and "internal error" not in err, err
    assert err.strip().splitlines()[-1].startswith("error: interrupted; 2 session(s)")
