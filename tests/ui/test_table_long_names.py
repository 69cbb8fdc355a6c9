"""`sessions list` with a long task name: at 80 columns one 38-character name hid every column but id and
status for every row; at 120 a 62-character name was cut mid-word. The table keeps id, started, task,
status and outcome at 80 columns (dropping turns, tokens and cost first), folds the task between words or
cuts it with an ellipsis at a word boundary, and never cuts a word."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from dreamcli.ui import console
from dreamcli.ui.tables import Col, layout

SID = ["01M66NPATSHCGF2087Q9KKPABC", "01M64XSYBDF84WRFFW93BKJR9C", "01M5Z0RBYG5BEF6MSFPZJV5RGN"]
LONG = "contract-review-emea-legal-operations1"  # 38 characters, one word
LONGER = "contract-review-for-the-emea-legal-operations-team-quarterly-x"  # 62
SPACED = "review the contract for the emea legal operations team quarterly"


def _rows(task: str) -> list[SimpleNamespace]:
    def row(i: int, name: str, parent: str | None, outcome: str | None) -> SimpleNamespace:
        return SimpleNamespace(session_id=SID[i], parent_session_id=parent, started=f"2026-11-2{i}T09:14:02.000Z",
                               task=name, status="completed", turns=3, tokens=2412, cost_usd=0.0153,
                               outcome=outcome, score=1.0 if outcome else None)
    # a sub-agent's row makes the id column 30 wide; with `needs_revision` (14) as well, the five columns
    # need 81 columns when a task has a 10-letter word: then `started` goes, as the least important
    return [row(0, task, None, "satisfied"), row(1, "refund-policy", None, None),
            row(2, "contract-review", SID[1], "failed")]


def _render(task: str, width: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> str:
    from dreamcli.ui.sessions_view import render_session_list

    monkeypatch.setenv("COLUMNS", str(width))
    monkeypatch.setenv("NO_COLOR", "1")
    console._cache.clear()
    render_session_list(_rows(task))
    text = capsys.readouterr().out
    lines = [line.rstrip() for line in text.splitlines()]
    assert all(len(line) <= width for line in lines), [line for line in lines if len(line) > width]
    return text


def _task_cells(text: str) -> list[str]:
    """Each row's task cell, its lines joined (the columns line up under their headers)."""
    lines = text.splitlines()
    head = lines[0]
    a, b = head.index("task"), head.index("status")
    cells: list[str] = []
    for line in lines[1:]:
        part = line[a:b].strip()
        if "01" in line[:a]:  # a row's first line: it starts with the session id
            cells.append(part)
        elif part:
            cells[-1] += part
    return cells


def _shown_whole_or_cut_at_a_boundary(cell: str, name: str) -> bool:
    if cell.replace(" ", "") == name.replace(" ", ""):  # whole, or folded between words or after a hyphen
        return True
    if not cell.endswith("\u2026"):
        return False
    kept = cell[:-1]
    return name.replace(" ", "").startswith(kept) and name.replace(" ", "")[len(kept)] in "-_/."


@pytest.mark.parametrize("task", [LONG, LONGER])
@pytest.mark.parametrize("width", [80, 120])
def test_sessions_list_keeps_the_columns_that_matter(task: str, width: int, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    text = _render(task, width, monkeypatch, capsys)
    head = text.splitlines()[0].split()
    for h in ("id", "started", "task", "status", "outcome"):
        assert h in head, (h, text)
    words = set(re.findall(r"\S+", text))
    assert set(SID) <= words and {"completed", "satisfied", "failed"} <= words, text
    cells = _task_cells(text)
    assert len(cells) == 3, text
    for cell, name in zip(cells, [task, "refund-policy", "contract-review"], strict=True):
        assert _shown_whole_or_cut_at_a_boundary(cell, name), (cell, name, text)
    if width >= 120 and len(task) < 40:
        assert cells[0] == task, text


@pytest.mark.parametrize("width", [80, 120])
def test_a_name_of_words_wraps_between_them(width: int, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    text = _render(SPACED, width, monkeypatch, capsys)
    head = text.splitlines()[0].split()
    assert {"id", "started", "task", "status", "outcome"} <= set(head), text
    words = set(re.findall(r"\S+", text))
    assert set(SPACED.split()) <= words and "\u2026" not in text, text


def test_a_long_name_is_whole_when_it_fits(monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    text = _render(LONGER, 200, monkeypatch, capsys)
    assert LONGER in text and "…" not in text


def test_restore_runs_whenever_a_dropped_column_fits_again() -> None:
    """A wide column dropped last makes room: the more important ones dropped before it come back."""
    cols = [Col("id", kind="id"), Col("wide", priority=1), Col("a", kind="num", priority=2),
            Col("b", kind="num", priority=3)]
    rows = [["x" * 10, "y" * 70, "1", "2"]]
    fitted, details = layout(cols, rows, 40)
    assert [i for i, _ in fitted] == [0, 2, 3] and not details
