"""`playbooks diff` reads well at 60 and 80 columns without a terminal: long lines (the header, the
support line, evidence) wrap between words with their styles, ids and words whole."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.ui.playbooks_view import fit


def _text(lines: list[list[tuple[str, str]]]) -> list[str]:
    return ["".join(t for t, _ in line) for line in lines]


def test_a_short_line_is_left_alone() -> None:
    line = [("  support: ", "dim"), ("3 sessions", "")]
    assert fit(line, 80) == [line]


def test_a_long_line_wraps_between_words_keeping_styles() -> None:
    line = [("  · 01M3VA64YJ29NCR4EKAZ1GV2VP#10: ", "dim"),
            ("read(file_path=nda.docx) -> read: nda.docx: not valid UTF-8 text (only images)", "")]
    out = fit(line, 50)
    texts = _text(out)
    assert all(len(t) <= 50 for t in texts)
    assert texts[0].startswith("  · 01M3VA64YJ29NCR4EKAZ1GV2VP#10:")
    assert all(t.startswith("      ") for t in texts[1:])  # the hanging indent
    assert " ".join(" ".join(texts).split()) == " ".join("".join(t for t, _ in line).split())
    assert out[0][0] == ("  ", "dim") or out[0][1][1] == "dim"  # the id keeps its style


def test_a_word_longer_than_the_width_stays_whole() -> None:
    word = "x" * 70
    texts = _text(fit([("  · ", "dim"), (f"see {word} here", "")], 40))
    assert any(word in t for t in texts) and all(word not in t or t.strip() == word for t in texts)


@pytest.mark.parametrize("columns", [60, 80])
def test_diff_of_the_samples_fits_the_width(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, columns: int) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    home = ["--home", str(tmp_path / "ws")]
    runner = CliRunner()
    assert runner.invoke(app, [*home, "init", "--with-samples"]).exit_code == 0
    assert runner.invoke(app, [*home, "dream", "--offline", "-q"]).exit_code == 0
    monkeypatch.setenv("COLUMNS", "1000")
    wide = runner.invoke(app, [*home, "playbooks", "diff"])
    monkeypatch.setenv("COLUMNS", str(columns))
    narrow = runner.invoke(app, [*home, "playbooks", "diff"])
    assert narrow.exit_code == 0, narrow.output
    lines = narrow.stdout.splitlines()
    assert max(map(len, lines)) <= columns
    ids = set(re.findall(r"\b01[0-9A-HJKMNP-TV-Z]{24}\b", wide.stdout))
    assert ids and ids <= set(re.findall(r"\b01[0-9A-HJKMNP-TV-Z]{24}\b", narrow.stdout))  # never cut
    bullets = [ln for ln in wide.stdout.splitlines() if ln.startswith("  · ")]
    assert bullets and all(b.split()[1] in narrow.stdout for b in bullets)
