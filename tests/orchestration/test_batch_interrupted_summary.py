"""An interrupted `dreamcli run TASK... --parallel N` through the installed command: it still prints its
summary (what ran, what was stopped, what never started), `--json` counts the never-started tasks apart
from the failed ones, SIGTERM is named in every task's error and in the last line, and `copy_workdir`
copies are made as each task starts (none for a task that never ran). Also: a task file given twice."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from dreamcli.testing import FakeAnthropic, Reply, tool_reply, tool_use
from tests.support.multiagent import answer, first_text, read_log, responder
from tests.support.run import DREAMCLI, cli_env, run_cli, session_files, until, validate_log

OUTCOME = """name: says-pass
criteria:
  - id: pass-said
    check: {type: contains, in: answer, value: PASS}
max_iterations: 1
"""
NAMES = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "tasks").mkdir(parents=True)
    (root / "work").mkdir()
    (root / "work" / "notes.txt").write_text("the task's own file\n")
    (root / "outcome.yaml").write_text(OUTCOME)
    for name in NAMES:
        (root / "tasks" / f"{name}.yaml").write_text(
            f"name: {name}\nprompt: Task {name}. Answer PASS when done.\nworkdir: ../work\ncopy_workdir: true\n"
            f"outcome: ../outcome.yaml\ntools: [read]\nmax_turns: 4\n")
    return root


def lead(req: Any, turn: int) -> Reply:
    """alpha passes and bravo fails at once; charlie's call returns a moment after the signal (it stops
    at its next step by itself), delta's never in time (its log is sealed); echo and foxtrot never start."""
    name = first_text(req).split()[1].rstrip(".")
    if name == "charlie":
        reply = tool_reply(tool_use("read", {"path": "notes.txt"}))
        reply.latency = 1.0
        return reply
    reply = answer(f"{name}: PASS" if name == "alpha" else f"{name}: nope")
    reply.latency = 30 if name == "delta" else 0
    return reply


def interrupt(fake: FakeAnthropic, home: Path, project: Path, signum: int, *extra: str) -> tuple[int, str, str]:
    """Run the six tasks two at a time; send `signum` once charlie and delta wait on the model."""
    fake.allow_leftovers = True
    fake.responder = responder(lead, lambda *a: answer("unused"))
    proc = subprocess.Popen([DREAMCLI, "run", "tasks/*.yaml", "--parallel", "2", "--yes", *extra],
                            env=cli_env(fake.url, home), cwd=project, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        until(lambda: len(fake.requests) >= 4, "charlie's and delta's first model calls")
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, out, err


def ends_by_task(home: Path) -> dict[str, dict[str, Any]]:
    logs = [validate_log(path) for path in session_files(home)]
    return {events[0]["task"]["name"]: events[-1] for events in logs}


@pytest.mark.slow
def test_ctrl_c_prints_the_summary_and_names_the_tasks_never_started(fake_anthropic: FakeAnthropic, home: Path,
                                                                     project: Path) -> None:
    code, out, err = interrupt(fake_anthropic, home, project, signal.SIGINT)
    assert code == 130, err
    header, *rows = [ln for ln in out.splitlines() if ln.startswith("#") or ln[:1].isdigit()]  # not wrapped parts
    assert header.split()[:4] == ["#", "task", "status", "outcome"]
    assert [r.split()[1:4] for r in rows] == [["alpha", "completed", "satisfied"],
                                              ["bravo", "completed", "max_iterations_reached"],
                                              ["charlie", "interrupted", "interrupted"],
                                              ["delta", "interrupted", "-"]]  # sealed: no outcome
    lines = err.strip().splitlines()
    assert "4 runs: 1 ok, 1 failed, 2 interrupted" in lines
    assert "2 of 6 tasks never started: tasks/echo.yaml, tasks/foxtrot.yaml" in lines
    assert lines[-1] == "error: interrupted; 2 session(s) closed with status interrupted"
    assert any(ln.startswith("  bravo: ") for ln in lines) and not any(ln.startswith("  delta: ") for ln in lines)
    # a copy of the workdir for each task that started (each its session's), none for echo and foxtrot
    ends = ends_by_task(home)
    assert sorted(ends) == ["alpha", "bravo", "charlie", "delta"]
    copies = sorted(p.name for p in (home / "workdirs").iterdir())
    starts = sorted(Path(read_log(path)[0]["workdir"]).name for path in session_files(home))
    assert copies == starts and len(copies) == 4
    assert all(c.startswith(tuple(ends)) for c in copies)


@pytest.mark.slow
def test_sigterm_json_counts_apart_and_names_the_signal(fake_anthropic: FakeAnthropic, home: Path,
                                                        project: Path) -> None:
    code, out, err = interrupt(fake_anthropic, home, project, signal.SIGTERM, "--json")
    assert code == 143, err
    data = json.loads(out)
    assert data["counts"] == {"total": 6, "ok": 1, "failed": 1, "interrupted": 2, "not_started": 2}
    runs = {r["task"]: r for r in data["runs"]}
    assert [runs[n]["status"] for n in NAMES] == ["completed", "completed", "interrupted", "interrupted",
                                                 "not_started", "not_started"]
    assert runs["charlie"]["error"] == "interrupted by SIGTERM"  # stopped by itself at the cancel
    assert runs["delta"]["error"].startswith("interrupted by SIGTERM (stopped while waiting")  # sealed
    assert all(runs[n]["exit_code"] == 143 for n in ("charlie", "delta", "echo", "foxtrot"))
    lines = err.strip().splitlines()
    assert lines[-1] == "error: interrupted by SIGTERM; 2 session(s) closed with status interrupted"
    assert [ln.split()[2] for ln in lines if ln.startswith("x [") and "interrupted by SIGTERM" in ln] == ["charlie"]
    assert not any("by the user" in ln for ln in lines)
    ends = ends_by_task(home)
    assert ends["charlie"]["status"] == ends["delta"]["status"] == "interrupted"
    assert ends["charlie"]["error"] == "interrupted by SIGTERM"
    assert ends["delta"]["error"].startswith("interrupted by SIGTERM")


@pytest.mark.slow
def test_a_task_file_given_twice_runs_once_and_says_so(fake_anthropic: FakeAnthropic, home: Path,
                                                       project: Path) -> None:
    fake_anthropic.responder = responder(lead, lambda *a: answer("unused"))
    proc = run_cli(["run", "tasks/alpha.yaml", "tasks/alpha.yaml", "--parallel", "2", "--yes"],
                   env=cli_env(fake_anthropic.url, home), cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert "warning: tasks/alpha.yaml given more than once; it runs once" in proc.stderr.splitlines()
    assert len(session_files(home)) == 1 and len(fake_anthropic.requests) == 1


def test_a_copy_into_the_workspace_is_refused_before_anything_runs(fake_anthropic: FakeAnthropic, home: Path,
                                                                   project: Path) -> None:
    """The copy is made as each task starts, but a workdir that is the workspace is still exit 2 up front."""
    home.mkdir()
    (project / "tasks" / "zulu.yaml").write_text(f"name: zulu\nprompt: hi\nworkdir: {home}\ncopy_workdir: true\n")
    proc = run_cli(["run", "tasks/*.yaml", "--parallel", "2", "--yes"], env=cli_env(fake_anthropic.url, home),
                   cwd=project)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(f"error: copy_workdir: cannot copy {home}")
    assert session_files(home) == [] and fake_anthropic.requests == []
    assert not (home / "workdirs").exists() or not any((home / "workdirs").iterdir())
