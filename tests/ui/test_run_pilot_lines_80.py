"""`run`'s and `pilot`'s lines on a terminal 80 or 60 columns wide (issue: `run`'s header and summary were
one long line each, which the terminal wrapped mid-word, splitting the session id `0|1M98Z9…`; a tool's
argument was cut at 70 characters whatever the width, so its line took 86 columns; `pilot`'s opening lines
broke `playbook d|efault` and `w/o pb-6e|7nsax3`). Now a line wider than the terminal breaks between
words, its later lines indented, no id or path split; a tool line, timing included, fits the width. Off a
terminal the lines are as before (tests/ui/test_run_view.py, tests/ui/test_live_views_no_color.py)."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from dreamcli.agent.results import RunResult, StartInfo
from dreamcli.agent.tools.base import ToolResult
from dreamcli.agent.usage import Totals
from dreamcli.ui import console
from dreamcli.ui.pilot_view import render_plan
from dreamcli.ui.run_view import MIN_ARG, RunView

SGR = re.compile(r"\x1b\[[0-9;:]*m")
SID = "01M98Z9Y4P0MX1NXAHNKPFYAYA"
WORKDIR = "/home/ana/My Contracts/workdirs/contract-review-01m98z9x3d"  # 58 columns, with a space
COMMAND = "unzip -p msa-northwind-2025.docx word/document.xml | sed -e 's/<[^>]*>//g' | grep -n Termination"


class _Tty(io.StringIO):
    """A stream that says it is a terminal, as a real one does."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(params=[80, 60])
def width(request: pytest.FixtureRequest) -> int:
    return int(request.param)


def _terminal(monkeypatch: pytest.MonkeyPatch, width: int, *, no_color: bool) -> _Tty:
    """stderr a terminal `width` columns wide (set in the test itself: pytest's capture resets a fixture's)."""
    stream = _Tty()
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("COLUMNS", str(width))
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "stderr", stream)
    monkeypatch.setattr(console, "_cache", {})
    return stream


def _shown(stream: _Tty) -> list[str]:
    return SGR.sub("", stream.getvalue()).splitlines()


def _wrapped(lines: list[str], text: str, width: int, indent: int) -> None:
    """`lines` are `text` broken between words only (each word whole, no space lost or added), each line
    within `width` columns and ending in no space, the later ones indented `indent` columns."""
    assert len(lines) > 1, lines
    assert " ".join(line.strip() for line in lines) == text, lines
    for line in lines:
        assert len(line) <= width and line == line.rstrip(), lines
    for line in lines[1:]:
        assert line.startswith(" " * indent) and line[indent] != " ", lines


def _start(view: RunView) -> None:
    view.on_start(StartInfo(session_id=SID, path=Path("/x"), model="claude-sonnet-5-5", workdir=Path(WORKDIR),
                            task_name="t", tools=["bash"], max_turns=5,
                            playbooks=[{"playbook": "default", "version": 1, "entry_ids": ["pb-7e84vhy8"]}]))


def _result() -> RunResult:
    totals = Totals(turns=3, input_tokens=5000, output_tokens=645, cost_usd=0.0213, tool_calls=2, duration_ms=96)
    return RunResult(session_id=SID, path=Path("/x.jsonl"), status="completed", error=None, final_text="ok",
                     totals=totals, exit_code=0, model="m", workdir=Path(WORKDIR), task_name="t", playbooks=[],
                     end_fields={"outcome": {"result": "satisfied", "score": 1.0, "iterations": 1}})


@pytest.mark.parametrize("no_color", [True, False])
def test_run_header_and_summary_break_between_words(width: int, no_color: bool,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    stream = _terminal(monkeypatch, width, no_color=no_color)
    view = RunView(wait_after_s=600)
    _start(view)
    header = _shown(stream)
    _wrapped(header, f"▶ session {SID} · claude-sonnet-5-5 · {WORKDIR} · playbooks: default v1 (1 entry)", width, 2)
    assert any(f"session {SID}" in line for line in header)  # the id whole, with the word that names it
    assert any(WORKDIR in line for line in header)  # the path whole, its space too
    stream.truncate(0)
    stream.seek(0)
    view.on_end(_result())
    summary = _shown(stream)
    _wrapped(summary, f"■ completed · 3 turns · 2 tool calls · 5645 tokens · $0.0213 · 96 ms · session {SID} · "
                      "outcome satisfied (1.00, 1 iteration)", width, 2)
    assert any(f"session {SID}" in line for line in summary)
    assert any("outcome satisfied (1.00, 1 iteration)" in line for line in summary)


@pytest.mark.parametrize(("ok", "tail"), [(True, " (7 ms)"), (False, "  exit 2 (1.5 s)")])
def test_a_tool_line_fits_the_width(width: int, ok: bool, tail: str, monkeypatch: pytest.MonkeyPatch) -> None:
    stream = _terminal(monkeypatch, width, no_color=True)
    result = ToolResult("x") if ok else ToolResult("boom", is_error=True, exit_code=2)
    RunView(wait_after_s=600).on_tool_end("bash", COMMAND, result, 7 if ok else 1500)
    [line] = _shown(stream)
    assert len(line) <= width and line.endswith(tail), line
    assert len(line) >= width - 1, line  # the argument takes the room there is, not a fixed 70 characters
    arg = line.removeprefix("  ✓ bash " if ok else "  ✗ bash ").removesuffix(tail)
    assert arg.endswith("…") and COMMAND.startswith(arg.removesuffix("…")), line


def test_a_tool_argument_keeps_a_sane_minimum_on_a_narrow_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = _terminal(monkeypatch, 30, no_color=True)
    RunView(wait_after_s=600).on_tool_end("a_tool_with_a_long_name", COMMAND, ToolResult("x"), 7)
    # the argument keeps its 20 columns; the line, wider than the terminal, breaks between words
    assert _shown(stream) == ["  ✓ a_tool_with_a_long_name", "    unzip -p msa-northw…", "    (7 ms)"]
    assert len("unzip -p msa-northw…") == MIN_ARG


def _prep() -> SimpleNamespace:
    arms = [SimpleNamespace(name=n) for n in ("baseline", "candidate", "without:pb-7e84vhy8", "without:pb-6e7nsax3")]
    plan = SimpleNamespace(arms=arms, dream_id="01M98Z0CJY8A3BF3PS2P6CP4Y6", playbook="default",
                           entry_ids=["pb-7e84vhy8", "pb-6e7nsax3"], tasks=[1], trials=2)
    est = SimpleNamespace(basis={"t": "median of 20 past runs"}, total_usd=0.11, trials=8)
    return SimpleNamespace(plan=plan, estimate=est, pilot_id="01M98Z9HM2X3X6SA882A6WMRR0", resumed=0, todo=[],
                           warnings=[])


def test_pilot_plan_lines_break_between_words(width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    stream = _terminal(monkeypatch, width, no_color=True)
    render_plan(_prep(), parallel=4, max_cost=None)  # type: ignore[arg-type]
    lines = _shown(stream)
    starts = [n for n, line in enumerate(lines) if not line.startswith("    ")] + [len(lines)]
    head = lines[starts[0]:starts[1]]
    arms = lines[starts[1]:starts[2]]
    _wrapped(head, "pilot 01M98Z9HM2X3X6SA882A6WMRR0: dream 01M98Z0CJY8A3BF3PS2P6CP4Y6 -> playbook default, "
                   "2 entries (pb-7e84vhy8, pb-6e7nsax3)", width, 4)
    _wrapped(arms, "1 task(s) x 2 trials x 4 arms (baseline, candidate, w/o pb-7e84vhy8, w/o pb-6e7nsax3), "
                   "4 at a time", width, 4)
    for words in ("dream 01M98Z0CJY8A3BF3PS2P6CP4Y6", "playbook default", "w/o pb-7e84vhy8", "w/o pb-6e7nsax3"):
        assert any(words in line for line in lines), (words, lines)
    assert all(len(line) <= width for line in lines), lines
