"""Progress while `dreamcli run` waits on something other than the model: a tool that runs a long time
(`running bash: 15s` on a terminal, a line now and then on a pipe) and the outcome's grader (`waiting for
the grader`), with the counter kept off the model's last words and off a `warning:` line."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.agent.tools.base import ToolResult
from dreamcli.cli.app import app
from dreamcli.testing import FakeAnthropic, text_reply, tool_reply, tool_use
from dreamcli.ui.console import warn
from dreamcli.ui.run_view import RunView
from tests.support.outcomes import verdict_reply, write_spec
from tests.support.waiting import quicken


@pytest.fixture(autouse=True)
def _plain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")


def lines(err: str) -> list[str]:
    """What was said, with the seconds left out (a loaded machine may count one more, or say it twice)."""
    said: list[str] = []
    for line in err.splitlines():
        line = line.split(" (", 1)[0] if line.endswith("s so far)") else line
        if not said or said[-1] != line:
            said.append(line)
    return said


def test_a_running_tool_says_so_until_it_ends(capsys: pytest.CaptureFixture[str]) -> None:
    view = RunView(wait_after_s=0.05)
    view.waiting.every_s = 10
    view.on_tool_start("bash", "sleep 60")
    time.sleep(0.3)
    view.on_tool_end("bash", "sleep 60", ToolResult("ok"), 300)
    view.waiting.close()
    assert lines(capsys.readouterr().err) == ["running bash", "  ok bash sleep 60 (300 ms)"]


def test_the_grader_s_wait_is_said(capsys: pytest.CaptureFixture[str]) -> None:
    view = RunView(wait_after_s=0.05)
    view.waiting.every_s = 10
    view.on_turn_review(True)
    time.sleep(0.3)
    view.on_turn_review(False)
    time.sleep(0.2)  # nothing more once the grade is in
    view.waiting.close()
    assert lines(capsys.readouterr().err) == ["waiting for the grader"]


def test_quiet_says_neither(capsys: pytest.CaptureFixture[str]) -> None:
    view = RunView(quiet=True, wait_after_s=0.01)
    view.on_tool_start("bash", "sleep 60")
    view.on_turn_review(True)
    time.sleep(0.1)
    view.waiting.close()
    assert capsys.readouterr().err == ""


def test_a_tool_s_counter_goes_on_after_a_notice_and_an_approval(monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """A sub-agent's notice, or the approval prompt, printed while the tool runs does not end its counter."""
    view = RunView(wait_after_s=0.05)
    view.waiting.every_s = 0.1
    view.on_tool_start("delegate", "2 briefs")
    view.on_notice("sub-agent 1/2 started (session S)")
    time.sleep(0.3)
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    assert view.ask_approval("command", "ls") is True
    time.sleep(0.3)
    view.on_tool_end("delegate", "2 briefs", ToolResult("ok"), 600)
    view.waiting.close()
    said = lines(capsys.readouterr().err)
    assert said[:2] == ["- sub-agent 1/2 started (session S)", "running delegate"]
    assert said[-2:] == ["running delegate", "  ok delegate 2 briefs (600 ms)"]
    assert said[2].startswith("Run command: ls")


def test_a_terminal_s_counter_keeps_the_model_s_last_words_and_a_warning_s_line(
        capsys: pytest.CaptureFixture[str]) -> None:
    view = RunView(wait_after_s=0.05)
    view.waiting.tty = True
    view.waiting.every_s = 10
    view.on_text("I'll run the tests.")
    view.on_message(1, "tool_use", {}, 0.0)  # the reply ended without a newline
    view.on_tool_start("bash", "pytest")
    time.sleep(0.3)
    warn("grade cache not written")  # someone else's line while the counter is drawn
    view.on_tool_end("bash", "pytest", ToolResult("ok"), 300)
    view.waiting.close()
    err = capsys.readouterr().err
    assert err.startswith("I'll run the tests.\n\r\033[K… running bash: 0s\nwarning: grade cache not written\n"), err
    assert err.endswith("  ok bash pytest (300 ms)\n")


@pytest.fixture
def quick_counter(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's counter says its first line after 0.1 s (not 15 s), then no other for a while."""
    quicken(monkeypatch, 0.1)


@pytest.mark.slow
@pytest.mark.usefixtures("quick_counter")
def test_run_says_a_command_runs_and_the_grader_grades(fake_anthropic: FakeAnthropic, tmp_path: Path) -> None:
    """End to end, piped: the tester's `sleep` (here 1 s) and a grader taking 1 s each get their line."""
    wd = tmp_path / "w"
    wd.mkdir()
    spec = write_spec(tmp_path / "spec.yaml", """
        name: slept
        criteria:
          - id: counts-right
            description: The agent slept.
        """)
    grade = verdict_reply(counts_right=True)
    grade.latency = 1.0
    fake_anthropic.expect(tool_reply(tool_use("bash", {"command": "sleep 1"})), text_reply("Slept.\n"), grade)
    r = CliRunner().invoke(app, ["--home", str(tmp_path / "home"), "run", "-p", "Sleep a second.", "-C", str(wd),
                                 "--yes", "--outcome", str(spec)])
    assert r.exit_code == 0, r.output
    said = [line for line in lines(r.stderr) if not line.startswith("waiting for the model")]  # a slow machine's
    assert said[1] == "running bash" and said[2].startswith("  ok bash sleep 1 ("), said
    assert said[3:5] == ["Slept.", "waiting for the grader"], said
    assert "outcome satisfied" in said[5] and len(said) == 6, said
