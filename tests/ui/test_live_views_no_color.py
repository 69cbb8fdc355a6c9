"""NO_COLOR turns colour off and nothing else: on a terminal every live view (`run`'s lines, the table of
`run --parallel`, `pilot`'s bars, `grade`'s bar, `dream`'s bar, the cloud status line) stays live, with no
colour or style code (SGR) in it; cursor movement of a live display is fine. Off a terminal each view
prints its plain lines, NO_COLOR or not."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from dreamcli.agent.results import RunResult, StartInfo
from dreamcli.agent.tools.base import ToolResult
from dreamcli.agent.usage import Totals
from dreamcli.ui import console

SGR = re.compile(r"\x1b\[[0-9;:]*m")  # a colour or style code (cursor moves end in another letter)
LIVE = "\x1b[?25l"  # a live display hides the cursor while it redraws
SID = "01KAHV3Q8J1T0B8Z6W2XK4M5R7"


class _Tty(io.StringIO):
    """A stream that says it is a terminal, as a real one does."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(params=["no_color", "color"])
def colour(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each off-terminal test with NO_COLOR set and without: the plain lines are the same."""
    if request.param == "no_color":
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setattr(console, "_cache", {})
    return str(request.param)


def _tty_no_color(monkeypatch: pytest.MonkeyPatch) -> _Tty:
    """stderr a terminal with NO_COLOR set (in the test itself: pytest's capture resets what a fixture set)."""
    stream = _Tty()
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("TERM", "xterm-256color")  # not "dumb": Rich would not redraw a live display
    monkeypatch.setenv("COLUMNS", "120")
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "stderr", stream)
    monkeypatch.setattr(console, "_cache", {})
    return stream


def _no_sgr(text: str) -> None:
    assert not SGR.search(text), repr(text)


# --- the one rule -------------------------------------------------------------------------------------


def test_live_follows_the_terminal_not_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    _tty_no_color(monkeypatch)
    assert console.live_view() and console.err().is_terminal
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # a pipe, a file
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setattr(console, "_cache", {})
    assert not console.live_view()


# --- run ------------------------------------------------------------------------------------------------


def _run(view: Any) -> None:
    view.on_start(StartInfo(session_id=SID, path=Path("/x"), model="claude-sonnet-5-5", workdir=Path("/w"),
                            task_name="t", tools=["read"], max_turns=5, warnings=[], playbooks=[]))
    view.on_text("Reading.\n")
    view.on_tool_end("read", "notes.txt", ToolResult("x"), 3.2)
    view.on_tool_end("bash", "make", ToolResult("boom", is_error=True, exit_code=2), 1500)
    totals = Totals(turns=2, input_tokens=600, output_tokens=80, cost_usd=0.0026, tool_calls=2, tool_errors=1,
                    duration_ms=234)
    view.on_end(RunResult(session_id=SID, path=Path("/x.jsonl"), status="completed", error=None, final_text="ok",
                          totals=totals, exit_code=0, model="m", workdir=Path("/w"), task_name="t", playbooks=[]))


def test_run_view_on_a_terminal_with_no_color_is_live(monkeypatch: pytest.MonkeyPatch) -> None:
    from dreamcli.ui.run_view import RunView

    stream = _tty_no_color(monkeypatch)
    view = RunView()
    _run(view)
    lines = stream.getvalue().splitlines()
    _no_sgr(stream.getvalue())
    assert lines[0].startswith(f"▶ session {SID} · claude-sonnet-5-5")
    assert lines[1:4] == ["Reading.", "  ✓ read notes.txt (3 ms)", "  ✗ bash make  exit 2 (1.5 s)"]
    assert lines[4].startswith("■ completed · 2 turns")
    assert view.live and view.waiting.tty  # the waiting counter redraws its line, as on any terminal


def test_run_view_off_a_terminal_prints_plain_lines(colour: str, capsys: pytest.CaptureFixture[str]) -> None:
    from dreamcli.ui.run_view import RunView

    view = RunView()
    _run(view)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith(f"> session {SID} · claude-sonnet-5-5")
    assert lines[1:4] == ["Reading.", "  ok read notes.txt (3 ms)", "  x bash make  exit 2 (1.5 s)"]
    assert lines[4].startswith("completed · 2 turns")
    assert "\x1b" not in "\n".join(lines)
    assert not view.live and not view.waiting.tty


# --- run --parallel -------------------------------------------------------------------------------------


def _batch(view: Any) -> None:
    task = SimpleNamespace(index=0, label="count-notes")
    cb = view.callbacks_for(task)
    cb.on_start(StartInfo(session_id=SID, path=Path("/x"), model="m", workdir=Path("/w"), task_name="count-notes",
                          tools=[], max_turns=5, warnings=[], playbooks=[]))
    cb.on_message(1, "end_turn", {}, 0.0)
    view.done(SimpleNamespace(index=0, ok=True, duration_s=1.0, outcome=None, status="completed", error=None))


def test_parallel_view_on_a_terminal_with_no_color_is_live(monkeypatch: pytest.MonkeyPatch) -> None:
    from dreamcli.ui.parallel_view import ParallelView

    stream = _tty_no_color(monkeypatch)
    with ParallelView([SimpleNamespace(index=0, label="count-notes")]) as view:
        assert view.live_mode and view._live is not None
        _batch(view)
    text = stream.getvalue()
    _no_sgr(text)
    assert LIVE in text and "1 tasks · running 0 · done 1" in text and "count-notes" in text  # the live table
    assert "> [1/1]" not in text and "ok [1/1]" not in text  # not the plain lines


def test_parallel_view_off_a_terminal_prints_plain_lines(colour: str, capsys: pytest.CaptureFixture[str]) -> None:
    from dreamcli.ui.parallel_view import ParallelView

    with ParallelView([SimpleNamespace(index=0, label="count-notes")]) as view:
        assert not view.live_mode
        _batch(view)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == f"> [1/1] count-notes started (session {SID})"
    assert lines[1].startswith("ok [1/1] count-notes completed · 1 turn · ")
    assert len(lines) == 2


# --- pilot ----------------------------------------------------------------------------------------------


def _prepared() -> tuple[Any, Any]:
    arm = SimpleNamespace(name="baseline")
    ref = SimpleNamespace(arm=arm, task=SimpleNamespace(label="t"), index=0)
    return SimpleNamespace(plan=SimpleNamespace(arms=[arm]), done={}, todo=[ref]), ref


_RECORD = {"scored": True, "passed": True, "outcome": "satisfied", "cost_usd": 0.01, "wall_s": 1.0}


def test_pilot_view_on_a_terminal_with_no_color_is_live(monkeypatch: pytest.MonkeyPatch) -> None:
    from dreamcli.ui.pilot_view import PilotView

    stream = _tty_no_color(monkeypatch)
    prep, ref = _prepared()
    with PilotView(prep) as view:
        assert view.live and view._progress is not None
        view.trial_done(ref, _RECORD)
    text = stream.getvalue()
    _no_sgr(text)
    assert LIVE in text and "baseline" in text and "pass 1/1 (100%)" in text  # the bar, drawn
    assert "ok [1/1]" not in text


def test_pilot_view_off_a_terminal_prints_plain_lines(colour: str, capsys: pytest.CaptureFixture[str]) -> None:
    from dreamcli.ui.pilot_view import PilotView

    prep, ref = _prepared()
    with PilotView(prep) as view:
        assert not view.live
        view.trial_done(ref, _RECORD)
    assert capsys.readouterr().err == ("ok [1/1] baseline t #1: satisfied, $0.0100, 1.0 s  "
                                       "(baseline         pass 1/1 (100%))\n")


# --- grade ----------------------------------------------------------------------------------------------


def test_grade_progress_on_a_terminal_with_no_color_is_live(monkeypatch: pytest.MonkeyPatch) -> None:
    from dreamcli.ui import grade_view

    stream = _tty_no_color(monkeypatch)
    with grade_view.progress("grading", 2) as bar:
        assert not bar.p.disable
        bar.advance()
    text = stream.getvalue()
    _no_sgr(text)
    assert LIVE in text and "grading" in text and "1/2" in text


def test_grade_progress_off_a_terminal_is_silent(colour: str, capsys: pytest.CaptureFixture[str]) -> None:
    from dreamcli.ui import grade_view

    with grade_view.progress("grading", 2) as bar:
        bar.advance()
    assert capsys.readouterr().err == ""


# --- dream ----------------------------------------------------------------------------------------------


def test_dream_progress_on_a_terminal_with_no_color_is_live(monkeypatch: pytest.MonkeyPatch) -> None:
    from dreamcli.ui.dream_view import DreamProgress

    stream = _tty_no_color(monkeypatch)
    view = DreamProgress()
    assert view._progress is not None
    view.update("reading", 512, 1024)
    view.close()
    text = stream.getvalue()
    _no_sgr(text)
    assert LIVE in text and "dreaming: reading sessions" in text


def test_dream_progress_off_a_terminal_is_silent(colour: str, capsys: pytest.CaptureFixture[str]) -> None:
    from dreamcli.ui.dream_view import DreamProgress

    view = DreamProgress()
    view.update("reading", 512, 1024)
    view.close()
    assert view._progress is None and capsys.readouterr().err == ""


# --- cloud ----------------------------------------------------------------------------------------------


def test_cloud_status_line_on_a_terminal_with_no_color_is_live(monkeypatch: pytest.MonkeyPatch) -> None:
    from dreamcli.ui.cloud_view import progress_line

    stream = _tty_no_color(monkeypatch)
    with progress_line("pulling cloud sessions") as say:
        say("split across 2 dreams")  # a note: the status line shows it, no line of its own
    text = stream.getvalue()
    _no_sgr(text)
    assert "split across 2 dreams" in text and LIVE in text


def test_cloud_status_off_a_terminal_prints_plain_lines(colour: str, capsys: pytest.CaptureFixture[str]) -> None:
    from dreamcli.ui.cloud_view import progress_line

    with progress_line("pulling cloud sessions") as say:
        say("split across 2 dreams")
    assert capsys.readouterr().err == "split across 2 dreams\n"
