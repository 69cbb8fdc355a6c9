"""Cuts that keep graphemes and escapes whole (issue: `run`'s tool line cut `echo 👨‍👩‍👧‍👦👨‍👩‍👧‍👦…` inside a
ZWJ sequence, leaving `U+1F468 U+200D …`; the `error:` line showed a quoted emoji family as
`👨\\u200d👩\\u200d…`, `repr`'s escapes of the joiners, and its long-value cut split one: `👩\\u20…200d👧`).
A ZWJ or ZWNJ between two letters or emoji is part of the text; other zero-width and bidi controls stay
escaped."""

from __future__ import annotations

import io
import re
import sys
import unicodedata

import pytest
from rich.cells import cell_len
from typer.testing import CliRunner

from dreamcli.agent.tools.base import ToolResult
from dreamcli.cli.app import app
from dreamcli.ui import console
from dreamcli.ui.console import error_line
from dreamcli.ui.run_summary import short
from dreamcli.ui.run_view import RunView
from dreamcli.ui.wrapping import cut_to
from dreamcli.workspace.home import Workspace

FAMILY = "👨‍👩‍👧‍👦"
ZWJ_ALONE = "\u200d"
SGR = re.compile(r"\x1b\[[0-9;:]*m")


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _stderr(monkeypatch: pytest.MonkeyPatch, *, tty: bool, columns: int = 80) -> io.StringIO:
    stream: io.StringIO = _Tty() if tty else io.StringIO()
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("COLUMNS", str(columns))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setattr(sys, "stderr", stream)
    monkeypatch.setattr(console, "_cache", {})
    return stream


def _whole_families(shown: str, before: str) -> None:
    """`shown` is `before`, whole families, then `…`: no family cut, no joiner left at the cut."""
    assert shown.startswith(before) and shown.endswith("…"), shown
    assert shown[len(before):-1].replace(FAMILY, "") == "", ascii(shown)


def test_the_tool_line_on_a_terminal_cuts_between_graphemes(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = _stderr(monkeypatch, tty=True, columns=40)
    view = RunView()
    assert view.live
    view.on_tool_end("bash", "echo " + FAMILY * 30, ToolResult("x"), 1)
    line = SGR.sub("", stream.getvalue()).splitlines()[0]
    assert cell_len(line) <= 40
    _whole_families(line.split(" (")[0].removeprefix("  ✓ bash "), "echo ")


def test_the_tool_line_on_a_pipe_cuts_between_graphemes(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = _stderr(monkeypatch, tty=False)
    RunView().on_tool_end("bash", "echo " + FAMILY * 30, ToolResult("x"), 1)
    _whole_families(stream.getvalue().removeprefix("  ok bash ").split(" (")[0], "echo ")


@pytest.mark.parametrize("room", range(10, 40))
def test_cuts_keep_accents_flags_and_escapes_whole(room: int) -> None:
    text = unicodedata.normalize("NFD", "résumé デ ") + "🇯🇵🇫🇷" + "\\u202e\\x1b" * 4 + FAMILY * 3
    for cut in (cut_to(text, room)[:-1], short(text, room)[:-1]):
        rest = text[len(cut):]
        assert text.startswith(cut) and not unicodedata.combining(rest[:1]), ascii(cut)
        assert not re.search(r"\\(?:u[0-9a-f]{0,3}|x[0-9a-f]?)$", cut), ascii(cut)  # no escape cut
        assert sum(0x1F1E6 <= ord(ch) <= 0x1F1FF for ch in cut) % 2 == 0, ascii(cut)  # no flag in two
        assert "\u200d" not in (cut[-1:], rest[:1]), ascii(cut)  # no family in two


def test_the_error_line_shows_joiners_between_emoji_and_letters(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = _stderr(monkeypatch, tty=False)
    persian = "می\u200cخواهم"  # "I want": its ZWNJ is part of the spelling
    error_line(f"no session matches {FAMILY * 3!r} or {persian!r} or {'a' + chr(0x200B) + 'b'!r} or {ZWJ_ALONE!r}")
    line = stream.getvalue()
    assert FAMILY * 3 in line and persian in line  # not `👨\u200d👩…`
    assert "'a\\u200bb'" in line and "'\\u200d'" in line  # any other zero-width character, or a lone joiner


def test_a_long_quoted_value_is_cut_between_whole_escapes() -> None:
    from dreamcli.ui.graphemes import head_and_tail, show_joiners

    quoted = repr(FAMILY * 40 + "\u202e" + "x\u200b" * 60)[1:-1]
    for head in range(1, 120):
        first, last = head_and_tail(quoted, head, head)
        for part in (first, last, show_joiners(first), show_joiners(last)):
            assert re.fullmatch(r"(?:[^\\]|\\u[0-9a-f]{4})*", part), ascii(part)  # escapes whole
        assert len(first) <= head and len(last) <= head and quoted.startswith(first) and quoted.endswith(last)
    first, _ = head_and_tail(show_joiners(quoted), 100, 100)
    assert first.replace(FAMILY, "") == "", ascii(first)  # whole families, none cut


@pytest.mark.parametrize("args", [["playbooks", "show", "def\u200dault"], ["sessions", "show", "01M66NPATS\u200dHCGF"],
                                  ["playbooks", "show", "def\u200cault"]])
def test_a_joiner_between_ascii_letters_stays_escaped_on_the_error_line(ws: Workspace, args: list[str]) -> None:
    """Issue: `'def<ZWJ>ault'` was shown with the real (invisible) joiner, which reads as 'default': the
    culprit hidden. A joiner next to an ASCII character is hidden text (`dreamcli.textnorm.joins`)."""
    r = CliRunner().invoke(app, ["--home", str(ws.root), *args])
    assert r.exit_code == 2
    assert "\u200d" not in r.stderr and "\u200c" not in r.stderr, ascii(r.stderr)
    assert repr(args[-1]) in r.stderr, ascii(r.stderr)  # 'def\u200dault', as before


def test_the_error_line_shows_a_joiner_where_the_dream_keeps_one() -> None:
    """One rule for joiners: the `error:` line shows one as the character exactly where
    `textnorm.strip_hidden` keeps it as part of the spelling, and escapes it where that removes it."""
    from dreamcli.textnorm import strip_hidden
    from dreamcli.ui.graphemes import show_joiners

    sides = ["a", "_", "7", " ", "'", "é", "ی", "क", "\u094d", "👨", "\u2695", "\ufe0f", "契", "٣", "-"]
    for joiner in ("\u200d", "\u200c"):
        for before in sides:
            for after in sides:
                text = before + joiner + after
                kept = strip_hidden(text)[0] == text
                assert (show_joiners(repr(text)[1:-1]) == text) == kept, ascii(text)
