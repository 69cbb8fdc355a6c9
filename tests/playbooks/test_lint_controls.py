"""Control characters (ESC, BEL, the one-character CSI U+009B, DEL) from tool output must not reach a
proposed entry: the text normalisation the dream applies before mining removes them (whole terminal
sequences where they form one), and the lint blocks an entry text that still holds one (a reviewer's
edit, a live playbook, an import)."""

from __future__ import annotations

import pytest

from dreamcli.playbooks.lint import has_blocking, lint_entry_text
from dreamcli.textnorm import fold, strip_hidden


@pytest.mark.parametrize(("raw", "clean"), [
    ("not valid \x1b]0;PWNED\x07\x9b2J UTF-8 text", "not valid  UTF-8 text"),
    ("\x1b[31mError:\x1b[0m build failed", "Error: build failed"),
    ("link \x1b]8;;http://evil.example\x1b\\here\x1b]8;;\x1b\\ end", "link here end"),
    ("bell\x07 nul\x00 del\x7f c1\x85 esc\x1b", "bell nul del c1 esc"),
    ("two\r\nlines\tand tab\rcr", "two\nlines\tand tab\ncr"),
    ("zero\u200bwidth \u202eover", "zerowidth over"),
])
def test_strip_hidden_removes_control_characters(raw: str, clean: str) -> None:
    assert strip_hidden(raw)[0] == clean
    assert fold(raw) == fold(clean)


def test_controls_are_not_counted_as_hidden_text() -> None:
    """The count is the zero-width and bidi characters (`inputs.hidden_characters`, taint): a coloured
    test runner's output is not suspicious, only cleaned."""
    assert strip_hidden("\x1b[32mok\x1b[0m")[1] == 0
    assert strip_hidden("a\u200bb\x1b[0m")[1] == 1
    assert strip_hidden("plain ascii\nline") == ("plain ascii\nline", 0)


@pytest.mark.parametrize("ch", ["\x1b", "\x07", "\x9b", "\x7f", "\x00", "\r", "\x85"])
def test_lint_blocks_control_characters_in_entry_text(ch: str) -> None:
    findings = lint_entry_text(f"When the build fails, check the encoding{ch}]0;PWNED first.")
    assert has_blocking(findings)
    assert [f.rule for f in findings] == ["control-chars"]


def test_lint_allows_newlines_and_tabs() -> None:
    assert lint_entry_text("Step one.\n\tStep two.") == []
