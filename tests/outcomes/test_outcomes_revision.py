"""The revision loop end to end through `dreamcli run --outcome` against the fake server."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.config import Config
from dreamcli.outcomes.revision import RevisionLoop
from dreamcli.outcomes.spec import load_spec
from dreamcli.outcomes.store import iter_grades
from dreamcli.sessions.writer import SessionWriter
from dreamcli.testing import FakeAnthropic, error_reply, text_reply, tool_reply, tool_use
from tests.support.outcomes import verdict_reply, workspace, write_spec
from tests.support.run import of_type, session_files, validate_log

SPEC = """
name: notes-summary
description: summary.md counts the lines of notes.txt.
criteria:
  - id: counts-right
    description: The answer gives the right number of lines.
    weight: 2
  - id: summary-written
    check: {type: file_exists, in: summary.md}
pass_threshold: 1.0
max_iterations: {n}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    wd = tmp_path / "project" / "docs"
    wd.mkdir(parents=True)
    (wd / "notes.txt").write_text("a\nb\nc\n")
    return wd


def run(home: Path, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["--home", str(home), "run", *args])


def grader_verdict(passed: bool):  # type: ignore[no-untyped-def]
    reply = verdict_reply(counts_right=passed)
    reply.match = lambda req: not req.stream and req.body.get("tool_choice", {}).get("name") == "record_verdicts"
    return reply


def write_summary():  # type: ignore[no-untyped-def]
    return tool_reply(tool_use("write", {"file_path": "summary.md", "content": "3 lines\n"}, id="toolu_w"))


def test_needs_revision_then_satisfied(fake_anthropic: FakeAnthropic, tmp_path: Path, project: Path) -> None:
    spec = write_spec(tmp_path / "spec.yaml", SPEC.replace("{n}", "3"))
    fake_anthropic.expect(
        write_summary(), text_reply("notes.txt has 4 lines."),     # agent, first attempt
        grader_verdict(False),                                      # evaluation 1: needs_revision
        text_reply("Sorry: notes.txt has 3 lines."),               # agent revises
        grader_verdict(True),                                       # evaluation 2: satisfied
    )
    home = tmp_path / "home"
    r = run(home, "-p", "Count the lines of notes.txt; write summary.md", "-C", str(project),
            "--outcome", str(spec), "--json", "--quiet")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["outcome"] == {"name": "notes-summary", "result": "satisfied", "score": 1.0,
                                               "iterations": 2}
    # the grader's explanation went back to the agent as the next user message
    feedback = fake_anthropic.requests[3].last_user_text
    assert "needs revision" in feedback and "counts-right: counts_right judged" in feedback
    assert "summary-written" not in feedback.split("Criteria not met:")[1]  # only what failed
    [log] = session_files(home)
    events = validate_log(log)
    evals = of_type(events, "outcome.evaluation")
    assert [(e["iteration"], e["result"]) for e in evals] == [(1, "needs_revision"), (2, "satisfied")]
    assert evals[0]["score"] == pytest.approx(1 / 3) and evals[0]["grader_model"]
    assert {c["id"]: c["passed"] for c in evals[0]["criteria"]} == {"counts-right": False, "summary-written": True}
    assert evals[1]["usage"]["input_tokens"] == 900
    assert events[-1]["outcome"]["result"] == "satisfied"
    grades = list(iter_grades(workspace(tmp_path)))
    assert [(g["session_id"], g["result"]) for g in grades] == [(events[0]["session_id"], "satisfied")]
    listing = CliRunner().invoke(app, ["--home", str(home), "sessions", "list", "--json"])
    assert json.loads(listing.stdout)["sessions"][0]["outcome"] == "satisfied"


def test_max_iterations_reached_exits_1(fake_anthropic: FakeAnthropic, tmp_path: Path, project: Path) -> None:
    spec = write_spec(tmp_path / "spec.yaml", SPEC.replace("{n}", "2"))
    fake_anthropic.expect(write_summary(), text_reply("4 lines."), grader_verdict(False),
                          text_reply("5 lines."), grader_verdict(False))
    home = tmp_path / "home"
    r = run(home, "-p", "Count", "-C", str(project), "--outcome", str(spec), "--quiet")
    assert r.exit_code == 1
    assert "max_iterations_reached after 2 evaluation(s)" in r.stderr
    events = validate_log(session_files(home)[0])
    assert [e["result"] for e in of_type(events, "outcome.evaluation")] == ["needs_revision",
                                                                           "max_iterations_reached"]
    assert events[-1]["status"] == "completed" and events[-1]["outcome"]["result"] == "max_iterations_reached"


def test_grader_error_fails_closed_exit_3(fake_anthropic: FakeAnthropic, tmp_path: Path, project: Path) -> None:
    spec = write_spec(tmp_path / "spec.yaml", SPEC.replace("{n}", "3"))
    fake_anthropic.expect(text_reply("3 lines."), text_reply("I think it passes."))  # grader: no verdicts
    home = tmp_path / "home"
    r = run(home, "-p", "Count", "-C", str(project), "--outcome", str(spec), "--quiet")
    assert r.exit_code == 3 and "grader error" in r.stderr
    events = validate_log(session_files(home)[0])
    (ev,) = of_type(events, "outcome.evaluation")
    assert ev["result"] == "failed" and ev["score"] is None and ev["error"]
    assert events[-1]["outcome"]["result"] == "failed"


def test_agent_error_before_a_grade_is_failed(fake_anthropic: FakeAnthropic, tmp_path: Path, project: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "config.yaml").write_text("limits:\n  model_retries: 0\n")
    spec = write_spec(tmp_path / "spec.yaml", SPEC.replace("{n}", "3"))
    fake_anthropic.expect(error_reply(529, message="Overloaded"))
    r = run(tmp_path / "home", "-p", "Count", "-C", str(project), "--outcome", str(spec), "--quiet")
    assert r.exit_code == 3
    events = validate_log(session_files(tmp_path / "home")[0])
    (ev,) = of_type(events, "outcome.evaluation")
    assert ev["result"] == "failed" and "status error" in ev["explanation"]
    assert events[-1]["outcome"] == {"name": "notes-summary", "result": "failed", "score": None, "iterations": 0}


def test_task_files_outcome_with_deterministic_checks(fake_anthropic: FakeAnthropic, tmp_path: Path,
                                                      project: Path) -> None:
    write_spec(tmp_path / "project" / "outcome.yaml", """
        name: summary
        criteria:
          - id: summary-written
            check: {type: contains, in: summary.md, value: "3 lines"}
        """)
    (tmp_path / "project" / "task.yaml").write_text(
        "name: count\nprompt: Count the lines.\nworkdir: docs\noutcome: outcome.yaml\ntools: [write]\n")
    fake_anthropic.expect(text_reply("3 lines."), write_summary(), text_reply("Written."))  # no grader call
    home = tmp_path / "home"
    r = run(home, str(tmp_path / "project" / "task.yaml"), "--quiet")
    assert r.exit_code == 0, r.output
    assert "summary.md: not found" in fake_anthropic.requests[1].last_user_text
    events = validate_log(session_files(home)[0])
    assert [e["result"] for e in of_type(events, "outcome.evaluation")] == ["needs_revision", "satisfied"]


def test_invalid_outcome_spec_is_exit_2_before_the_run(fake_anthropic: FakeAnthropic, tmp_path: Path,
                                                       project: Path) -> None:
    spec = write_spec(tmp_path / "bad.yaml", "name: x\nmax_iterations: 50\ncriteria:\n  - {id: a, description: d}\n")
    r = run(tmp_path / "home", "-p", "Count", "-C", str(project), "--outcome", str(spec))
    assert r.exit_code == 2 and f"{spec}:2: max_iterations" in r.stderr
    assert session_files(tmp_path / "home") == []


def test_interrupted_before_a_grade(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    spec = load_spec(write_spec(tmp_path / "spec.yaml", SPEC.replace("{n}", "3")))
    loop = RevisionLoop(ws, Config(), spec)
    writer = SessionWriter(ws)
    writer.start(task={"name": "t", "prompt": "p"}, model="m", workdir=str(tmp_path))
    ctx = SimpleNamespace(writer=writer, status="interrupted", end_fields={})
    loop.before_end(ctx)  # type: ignore[arg-type]
    writer.end("interrupted", **ctx.end_fields)
    assert loop.result == "interrupted" and loop.exit_code == 130
    events = validate_log(writer.path)
    assert of_type(events, "outcome.evaluation")[0]["result"] == "interrupted"
    assert events[-1]["outcome"]["result"] == "interrupted"
