"""`run TASK... --parallel N` at 80 columns: the live table and the summary keep the task (cut at a word
boundary when it must be) and every session id whole, dropping the less useful columns first (docs/cli.md)."""

from __future__ import annotations

import io
import re
import time
from types import SimpleNamespace
from typing import Any

import pytest
from rich.console import Console

from dreamcli.ui import console
from dreamcli.ui.parallel_view import ParallelView, render_batch_summary

# ids made in the same millisecond: they differ only in their last letters
SIDS = [f"01M98MYXR147B4S78N13VPBM{c}X" for c in "ABCDE"]
NAMES = ["build-log-triage", "contract-review", "medical-summary", "refund-policy", "lead"]


def _live(names: list[str], width: int, subagents: bool = True) -> list[str]:
    view = ParallelView([SimpleNamespace(index=i, label=n) for i, n in enumerate(names)], quiet=True)
    for i, row in enumerate(view.rows):
        row.state = ("running", "done", "failed", "queued", "running")[i % 5]
        if row.state != "queued":
            row.session_id, row.t0, row.turns, row.tools = SIDS[i], time.monotonic() - 65, 3, 12 + i
            row.tool_errors = i % 2
            row.children_running, row.children_done = (1, 2) if subagents and i == 0 else (0, 0)
    buf = io.StringIO()
    Console(file=buf, width=width, color_system=None, force_terminal=False).print(view)
    return [line.rstrip() for line in buf.getvalue().splitlines()]


@pytest.mark.parametrize("subagents", [True, False])
def test_live_table_at_80_keeps_task_and_whole_session_ids(subagents: bool) -> None:
    lines = _live(NAMES, 80, subagents)
    head = lines[1].split()
    assert head[:3] == ["#", "task", "state"] and head[-1] == "session", lines[1]
    assert all(len(line) <= 80 for line in lines), lines
    text = "\n".join(lines)
    for name in NAMES:
        assert name in re.findall(r"\S+", text), (name, text)
    for sid in (SIDS[0], SIDS[1], SIDS[2], SIDS[4]):  # the queued task has none yet
        assert sid in text.split(), (sid, text)
    assert "…" not in text
    assert "tools" not in head  # the least useful column went first


def test_live_table_cuts_a_long_task_at_a_word_boundary_not_the_id() -> None:
    names = ["contract-review-emea-legal-2026-q4-renewals", *NAMES[1:]]
    lines = _live(names, 60)
    text = "\n".join(lines)
    assert all(len(line) <= 60 for line in lines), lines
    for sid in (SIDS[0], SIDS[1], SIDS[2], SIDS[4]):
        assert sid in text.split(), (sid, text)
    assert "task" in lines[1].split()
    assert "legal-2026…" in text.split(), text  # folded after hyphens, the rest cut after a whole word

def _summary(names: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.delenv("NO_COLOR", raising=False)
    console._cache.clear()

    def run(i: int, task: str) -> Any:
        totals = SimpleNamespace(turns=4, input_tokens=12_000, output_tokens=900, cost_usd=0.0421)
        return SimpleNamespace(index=i, task=task, ok=True, status="completed", result=SimpleNamespace(totals=totals),
                               outcome={"result": "needs_revision", "score": 0.846}, duration_s=72.5,
                               session_id=SIDS[i], error=None)
    render_batch_summary([run(i, n) for i, n in enumerate(names)])
    return capsys.readouterr().out


def test_summary_at_80_keeps_every_session_id_next_to_a_long_task(capsys: pytest.CaptureFixture[str],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    text = _summary(["contract-review-emea-legal-2026-q4", "lead"], capsys, monkeypatch)
    lines = [line.rstrip() for line in text.splitlines()]
    assert all(len(line) <= 80 for line in lines), lines
    assert lines[0].split()[-1] == "session", lines[0]
    assert SIDS[0] in text.split() and SIDS[1] in text.split(), text
    assert "contract-review-" in text and "lead" in text.split()


def test_summary_at_80_with_the_samples_keeps_task_and_session(capsys: pytest.CaptureFixture[str],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    text = _summary(NAMES, capsys, monkeypatch)
    words = text.split()
    assert all(name in words for name in NAMES) and all(sid in words for sid in SIDS), text
