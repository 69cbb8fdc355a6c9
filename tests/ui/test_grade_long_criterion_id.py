"""`grade` at 60 columns with a criterion id longer than the line (issue: the failing criteria moved under
the row, where Rich folded the id at the last column, `…-contract-listed-i` / `n-the-summary`; docs/cli.md
promises that tables never split a word and fold a long name after `-`, `_`, `/` or `.`)."""

from __future__ import annotations

import io
import sys
from types import SimpleNamespace

import pytest
from rich.cells import cell_len

from dreamcli.ui import console
from dreamcli.ui.grade_view import render_results

LONG_ID = "complete-all-termination-rights-of-every-contract-listed-in-the-summary"  # 71 characters


def _row() -> SimpleNamespace:
    return SimpleNamespace(session_id="01M99HF2B1A3J2ENSYMA93FDAP", task="契約レビュー-grade", outcome="契約レビュー",
                           result="needs_revision", score=0.25, threshold=0.8, error=None, skipped=[], flaky=[],
                           failing=["cite-sections", "resume-mentioned", LONG_ID], explanation="")


@pytest.mark.parametrize("columns", [60, 40])
def test_a_long_failing_criterion_folds_after_a_hyphen(monkeypatch: pytest.MonkeyPatch, columns: int) -> None:
    stream = io.StringIO()
    monkeypatch.setenv("COLUMNS", str(columns))
    monkeypatch.setattr(sys, "stdout", stream)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    monkeypatch.setattr(console, "_cache", {})
    render_results([_row()], SimpleNamespace(line=lambda: "graded 1 session(s)"))
    lines = stream.getvalue().splitlines()
    assert all(cell_len(line) <= columns for line in lines), lines
    start = next(i for i, line in enumerate(lines) if line.startswith("  failing criteria:"))
    words = " ".join(lines[start:]).split()
    assert "cite-sections," in words and "resume-mentioned," in words
    pieces = [w for w in words if w not in ("failing", "criteria:", "cite-sections,", "resume-mentioned,")]
    assert "".join(pieces) == LONG_ID  # every piece of the id, in order, nothing else
    assert all(piece.endswith("-") for piece in pieces[:-1]) and len(pieces) > 1, pieces


def test_fold_words_prefers_a_separator_and_splits_only_a_word_without_one() -> None:
    from dreamcli.ui.tables import fold_words

    folded = "a complete-all-termination-rights-of-every-contract-listed-\nin-the-summary"
    assert fold_words("a " + LONG_ID, 58).plain == folded
    assert fold_words("x" * 25 + " ok", 10).plain == "xxxxxxxxxx\nxxxxxxxxxx\nxxxxx ok"
    assert fold_words("契約" * 6, 10).plain == "契約契約契\n約契約契約\n契約"  # in columns: a wide character takes two
    assert fold_words("short words only", 10).plain == "short words only"
