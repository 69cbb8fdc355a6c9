"""`dreamcli run TASK... --parallel N` through the installed command: a glob of task files, runs
overlapping under N, graded by their outcomes, a summary (or --json), exit 1 if any failed, Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from dreamcli.testing import FakeAnthropic, Reply, tool_reply, tool_use
from tests.support.multiagent import answer, first_text, is_child, max_overlap, read_log, responder
from tests.support.run import DREAMCLI, cli_env, run_cli, validate_log

OUTCOME = """name: says-pass
criteria:
  - id: pass-said
    check: {type: contains, in: answer, value: PASS}
max_iterations: 1
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "tasks").mkdir(parents=True)
    (root / "work").mkdir()
    (root / "outcome.yaml").write_text(OUTCOME)
    for name in ("alpha", "bravo", "charlie", "delta"):
        (root / "tasks" / f"{name}.yaml").write_text(
            f"name: {name}\nprompt: Task {name}. Answer PASS when done.\nworkdir: ../work\n"
            f"outcome: ../outcome.yaml\ntools: [read, delegate]\nmax_turns: 4\n")
    return root


def slow_lead(fail: str = "delta", latency: float = 0.3) -> Any:
    def lead(req: Any, turn: int) -> Reply:
        name = first_text(req).split()[1].rstrip(".")
        reply = answer(f"{name}: nope" if name == fail else f"{name}: PASS")
        reply.latency = latency
        return reply
    return lead


@pytest.mark.slow
def test_glob_of_tasks_runs_in_parallel_graded_with_json(fake_anthropic: FakeAnthropic, home: Path,
                                                          project: Path) -> None:
    fake_anthropic.responder = responder(slow_lead(), lambda *a: answer("unused"))
    proc = run_cli(["run", str(project / "tasks" / "*.yaml"), "--parallel", "2", "--json"],
                   env=cli_env(fake_anthropic.url, home))
    assert proc.returncode == 1, proc.stderr  # delta's outcome was not satisfied
    assert proc.stderr.strip().splitlines()[-1] == "error: 1 of 4 runs failed"
    data = json.loads(proc.stdout)
    assert data["counts"] == {"total": 4, "ok": 3, "failed": 1, "interrupted": 0, "not_started": 0}
    runs = data["runs"]
    assert [r["task"] for r in runs] == ["alpha", "bravo", "charlie", "delta"]  # sorted glob, task order
    assert [r["ok"] for r in runs] == [True, True, True, False]
    assert all(r["status"] == "completed" for r in runs)
    assert [r["outcome"]["result"] for r in runs] == ["satisfied"] * 3 + ["max_iterations_reached"]
    assert runs[0]["final_text"] == "alpha: PASS" and runs[3]["exit_code"] == 1
    assert max_overlap(fake_anthropic.requests) == 2  # overlapping, never more than --parallel
    logs = sorted((home / "sessions").rglob("*.jsonl"))
    assert len(logs) == 4 and {r["session_id"] for r in runs} == {p.stem for p in logs}
    for path in logs:
        events = validate_log(path)
        assert events[0]["parent_session_id"] is None and events[-1]["type"] == "session.end"
        assert events[-1]["outcome"]["name"] == "says-pass"


@pytest.mark.slow
def test_summary_table_and_plain_progress_lines(fake_anthropic: FakeAnthropic, home: Path, project: Path) -> None:
    fake_anthropic.responder = responder(slow_lead(fail="none", latency=0.0), lambda *a: answer("unused"))
    files = [str(p) for p in sorted((project / "tasks").glob("*.yaml"))][:3]
    proc = run_cli(["run", *files, "--parallel", "3"], env=cli_env(fake_anthropic.url, home))
    assert proc.returncode == 0, proc.stderr
    header, *rows = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    assert header.split()[:5] == ["#", "task", "status", "outcome", "turns"]
    assert [r.split()[1:4] for r in rows] == [["alpha", "completed", "satisfied"], ["bravo", "completed", "satisfied"],
                                              ["charlie", "completed", "satisfied"]]
    err = proc.stderr.splitlines()
    assert sum(ln.startswith("> [") and " started (session " in ln for ln in err) == 3
    assert sum(ln.startswith("ok [") for ln in err) == 3
    assert any("done 3 · failed 0 · queued 0" in ln for ln in err)
    assert err[-1] == "3 runs: 3 ok, 0 failed"


def test_bad_input_is_exit_2_before_anything_runs(fake_anthropic: FakeAnthropic, home: Path, project: Path) -> None:
    proc = run_cli(["run", str(project / "nothing" / "*.yaml"), "--parallel", "2"], env=cli_env(fake_anthropic.url,
                                                                                                   home))
    assert proc.returncode == 2 and "no task files match" in proc.stderr
    (project / "tasks" / "echo.yaml").write_text("name: echo\nprompt: hi\ntools: [teleport]\n")
    proc = run_cli(["run", str(project / "tasks" / "*.yaml")], env=cli_env(fake_anthropic.url, home))
    assert proc.returncode == 2 and "echo.yaml:3: tools.0: unknown tool 'teleport'" in proc.stderr
    proc = run_cli(["run", str(project / "tasks" / "alpha.yaml"), "-p", "x", "--parallel", "2"],
                   env=cli_env(fake_anthropic.url, home))
    assert proc.returncode == 2
    assert not (home / "sessions").exists() or not list((home / "sessions").rglob("*.jsonl"))
    assert fake_anthropic.requests == []


@pytest.mark.slow
def test_ctrl_c_stops_parallel_runs_and_their_subagents(fake_anthropic: FakeAnthropic, home: Path,
                                                        project: Path) -> None:
    fake_anthropic.allow_leftovers = True

    def lead(req: Any, turn: int) -> Reply:
        if first_text(req).startswith("Task alpha"):  # alpha delegates to two slow sub-agents
            return tool_reply(tool_use("delegate", {"tasks": [{"brief": "slow one"}, {"brief": "slow two"}]}))
        reply = answer("never delivered")
        reply.latency = 30
        return reply

    def child(brief: str, turn: int, req: Any) -> Reply:
        reply = answer("never delivered")
        reply.latency = 30
        return reply

    fake_anthropic.responder = responder(lead, child)
    files = [str(project / "tasks" / f"{n}.yaml") for n in ("alpha", "bravo", "charlie")]
    proc = subprocess.Popen([DREAMCLI, "run", *files, "--parallel", "3", "--json"],
                            env=cli_env(fake_anthropic.url, home), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while len(fake_anthropic.requests) < 5 and time.monotonic() < deadline:  # alpha, 2 children, bravo, charlie
            time.sleep(0.02)
        assert len(fake_anthropic.requests) == 5
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
        took = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert took < 8, took
    assert "error: interrupted" in err.strip().splitlines()[-1]
    runs = json.loads(out)["runs"]
    assert [r["status"] for r in runs] == ["interrupted"] * 3
    logs = sorted((home / "sessions").rglob("*.jsonl"))
    assert len(logs) == 5
    for path in logs:
        validate_log(path)
        end = read_log(path)[-1]
        assert end["type"] == "session.end" and end["status"] == "interrupted", (path, end)
    assert sum(is_child(r) for r in fake_anthropic.requests) == 2


@pytest.mark.slow
def test_outcome_option_grades_every_task(fake_anthropic: FakeAnthropic, home: Path, project: Path) -> None:
    other = project / "alpha-only.yaml"
    other.write_text("name: alpha-only\ncriteria:\n  - id: says-alpha\n"
                     "    check: {type: contains, in: answer, value: alpha}\nmax_iterations: 1\n")
    fake_anthropic.responder = responder(slow_lead(fail="none", latency=0.0), lambda *a: answer("unused"))
    files = [str(project / "tasks" / f"{n}.yaml") for n in ("alpha", "bravo")]
    proc = run_cli(["run", *files, "--outcome", str(other), "--json"], env=cli_env(fake_anthropic.url, home))
    assert proc.returncode == 1
    runs = json.loads(proc.stdout)["runs"]
    assert [(r["task"], r["outcome"]["name"], r["outcome"]["result"]) for r in runs] == [
        ("alpha", "alpha-only", "satisfied"), ("bravo", "alpha-only", "max_iterations_reached")]
