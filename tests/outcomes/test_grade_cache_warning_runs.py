"""`run --parallel` and `pilot` grade with an outcome as `grade` does, and say a grade cache they cannot write
(here: a file where its folder belongs) through dreamcli.ui's `warn`, as `grade` and a single `run` do, never
straight to stderr around the console's live view (git show 64dd694)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.testing import FakeAnthropic, RecordedRequest, Reply, text_reply
from dreamcli.ui import console
from dreamcli.workspace.home import Workspace
from tests.pilot.helpers import DREAM, seed_workspace
from tests.support.outcomes import GRADER_SPEC, verdict_reply, write_spec


def _answers(req: RecordedRequest) -> Reply:
    """The grader's verdicts to a grading request; the agent's one-turn answer to any other."""
    if any(t.get("name") == "record_verdicts" for t in (req.body or {}).get("tools", [])):
        return verdict_reply(cites_sections=True, no_advice=True)
    return text_reply("Section 12.1: either party, 30 days.")


def _task(tmp_path: Path) -> Path:
    work = tmp_path / "wd"
    work.mkdir()
    (work / "summary.md").write_text("# Termination\n- Section 12.1\n")
    write_spec(tmp_path / "spec.yaml", GRADER_SPEC.replace("pass_threshold", "max_iterations: 1\npass_threshold"))
    task = tmp_path / "task.yaml"
    task.write_text("name: review\nprompt: List the termination clauses.\nworkdir: wd\noutcome: spec.yaml\n"
                    "tools: [read]\nmax_turns: 2\n")
    return task


def _warned(ws: Workspace, fake_anthropic: FakeAnthropic, monkeypatch: pytest.MonkeyPatch, *args: str) -> list[str]:
    (ws.state_dir / "grade-cache").write_text("not a folder")  # every cache write fails
    fake_anthropic.responder = _answers
    said: list[str] = []
    monkeypatch.setattr(console, "warn", said.append)
    r: Any = CliRunner().invoke(app, ["--home", str(ws.root), *args], env={"NO_COLOR": "1"})
    assert any(req.reply is not None and "record_verdicts" in str(req.body) for req in fake_anthropic.requests)
    assert "grade cache not written" not in r.stderr, r.stderr  # nothing written around the console
    return [w for w in said if w.startswith("grade cache not written: ")]


def test_run_parallel_warns_through_the_console(ws: Workspace, tmp_path: Path, fake_anthropic: FakeAnthropic,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    [warning] = _warned(ws, fake_anthropic, monkeypatch, "run", str(_task(tmp_path)), "--parallel", "1", "--yes")
    assert "grade-cache" in warning


def test_pilot_warns_through_the_console(ws: Workspace, tmp_path: Path, fake_anthropic: FakeAnthropic,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    seed_workspace(ws)
    warnings = _warned(ws, fake_anthropic, monkeypatch, "pilot", str(_task(tmp_path)), "--proposal", DREAM,
                       "--trials", "1", "--yes")
    assert warnings and all("grade-cache" in w for w in warnings)
