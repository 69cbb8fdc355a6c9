"""`dreamcli run` counts its wait for the model again after a line that the loop prints right before a
model call: the grader's follow-up, a reply cut off at max_tokens, a retry. A sub-agent's line while its
tool runs still resumes the tool's counter, not the model's."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.agent.tools.base import ToolResult
from dreamcli.cli.app import app
from dreamcli.testing import FakeAnthropic, text_reply
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


@pytest.mark.parametrize("notice", ["follow-up sent to the model",
                                    "reply cut off at max_tokens; asking the model to continue"])
def test_the_model_s_counter_comes_back_after_the_loop_s_notice(capsys: pytest.CaptureFixture[str],
                                                                 notice: str) -> None:
    view = RunView(wait_after_s=0.05)
    view.waiting.every_s = 10
    view.on_text("First try.\n")  # the model's text stopped its counter
    view.on_turn_review(True)
    view.on_turn_review(False)
    view.on_notice(notice)
    time.sleep(0.3)
    view.waiting.close()
    assert lines(capsys.readouterr().err) == ["First try.", f"- {notice}", "waiting for the model"]


def test_a_retry_counts_for_the_model_again(capsys: pytest.CaptureFixture[str]) -> None:
    view = RunView(wait_after_s=0.05)
    view.waiting.every_s = 10
    view.on_text("Half a ")
    view.on_retry(1, "overloaded_error", 0.5)
    time.sleep(0.3)
    view.waiting.close()
    said = lines(capsys.readouterr().err)
    assert said[0].startswith("retry: response broke off") and said[1:] == ["waiting for the model"], said


def test_a_sub_agent_s_line_resumes_its_tool_not_the_model(capsys: pytest.CaptureFixture[str]) -> None:
    view = RunView(wait_after_s=0.05)
    view.waiting.every_s = 0.1  # a resumed counter shows again a tick later
    view.on_tool_start("delegate", "1 brief")
    view.on_notice("sub-agent 1/1 started (session S)")
    time.sleep(0.3)
    view.on_tool_end("delegate", "1 brief", ToolResult("ok"), 300)
    view.waiting.close()
    said = lines(capsys.readouterr().err)
    assert said == ["- sub-agent 1/1 started (session S)", "running delegate", "  ok delegate 1 brief (300 ms)"]


def test_quiet_says_nothing_after_a_notice(capsys: pytest.CaptureFixture[str]) -> None:
    view = RunView(quiet=True, wait_after_s=0.01)
    view.on_notice("follow-up sent to the model")
    time.sleep(0.1)
    view.waiting.close()
    assert capsys.readouterr().err == ""


@pytest.fixture
def quick_counter(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's counter says its first line after 0.2 s (not 15 s), then no other for a while."""
    quicken(monkeypatch, 0.2)


@pytest.mark.slow
@pytest.mark.usefixtures("quick_counter")
def test_run_counts_the_model_s_revision(fake_anthropic: FakeAnthropic, tmp_path: Path) -> None:
    """End to end, piped: the grader asks for a revision, and the model's slow second reply gets its line."""
    wd = tmp_path / "w"
    wd.mkdir()
    spec = write_spec(tmp_path / "spec.yaml", """
        name: revised
        max_iterations: 2
        criteria:
          - id: counts-right
            description: The answer counts right.
        """)
    revised = text_reply("Second try.\n")
    revised.latency = 1.0
    fake_anthropic.expect(text_reply("First try.\n"), verdict_reply(counts_right=False), revised,
                          verdict_reply(counts_right=True))
    r = CliRunner().invoke(app, ["--home", str(tmp_path / "home"), "run", "-p", "Count.", "-C", str(wd),
                                 "--yes", "--outcome", str(spec)])
    assert r.exit_code == 0, r.output
    said = [line for line in lines(r.stderr) if line != "waiting for the grader"]  # a slow machine's
    at = said.index("- follow-up sent to the model")
    assert said[at + 1:at + 3] == ["waiting for the model", "Second try."], said
