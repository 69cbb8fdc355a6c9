"""`error:` and `warning:` lines on an 80-column terminal wrap under their text (issue: they went on at
column 0 with a trailing space, and cut "(did you mean `export sessions DIR`?)" in two): a wrapped
message continues under the text after the label, no line ends in a space, and an inline code span that
fits on a line stays whole on one. Off a terminal the message is one line, exactly as before: scripts
and tests grep it."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys

import pytest

from dreamcli.ui import console
from dreamcli.ui.console import error_line, warn
from tests.support.run import DREAMCLI
from tests.support.terminal import in_pty

SGR = re.compile(r"\x1b\[[0-9;]*m")
EXPORT = "export: unexpected argument 'x y z w' (did you mean `export sessions DIR`?)"  # 84 columns
LONG = ("dream 01JEXAMPLE: proposal.json has an op this reader lacks; run `dreamcli dream --since 7d --dry-run` "
        "to see it again, or remove dreams/01JEXAMPLE/ by hand after reading it")


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _stderr(monkeypatch: pytest.MonkeyPatch, *, tty: bool, no_color: bool = False) -> io.StringIO:
    stream: io.StringIO = _Tty() if tty else io.StringIO()
    monkeypatch.setenv("COLUMNS", "80")
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setattr(sys, "stderr", stream)
    monkeypatch.setattr(console, "_cache", {})
    return stream


def _hangs(lines: list[str], label: str) -> None:
    """Each line fits 80 columns and ends in no space; the first starts with the label, the others under
    the text after it."""
    assert len(lines) > 1, lines
    assert lines[0].startswith(label + " ") and not lines[0].startswith(label + "  "), lines
    for line in lines:
        assert len(line) <= 80 and line == line.rstrip(), lines
    pad = " " * (len(label) + 1)
    for line in lines[1:]:
        assert line.startswith(pad) and line[len(pad)] != " ", lines


@pytest.mark.parametrize("no_color", [False, True])
def test_a_long_error_on_a_terminal_hangs_under_its_text(no_color: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    stream = _stderr(monkeypatch, tty=True, no_color=no_color)
    error_line(EXPORT)
    text = stream.getvalue()
    assert ("\x1b[" in text) is not no_color  # the label coloured, unless NO_COLOR
    lines = SGR.sub("", text).splitlines()
    _hangs(lines, "error:")
    assert any("`export sessions DIR`?)" in line for line in lines), lines
    assert " ".join(" ".join(lines).split()) == "error: " + EXPORT  # every word, in order


def test_a_long_warning_on_a_terminal_keeps_its_code_span_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = _stderr(monkeypatch, tty=True)
    warn(LONG)
    lines = SGR.sub("", stream.getvalue()).splitlines()
    _hangs(lines, "warning:")
    assert any("`dreamcli dream --since 7d --dry-run`" in line for line in lines), lines
    assert " ".join(" ".join(lines).split()) == "warning: " + LONG


def test_a_short_message_on_a_terminal_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = _stderr(monkeypatch, tty=True)
    error_line("no playbook named 'legal'")
    assert SGR.sub("", stream.getvalue()) == "error: no playbook named 'legal'\n"


@pytest.mark.parametrize("no_color", [False, True])
def test_off_a_terminal_a_long_message_stays_one_line(no_color: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    stream = _stderr(monkeypatch, tty=False, no_color=no_color)
    error_line(EXPORT)
    warn(LONG)
    assert stream.getvalue() == f"error: {EXPORT}\nwarning: {LONG}\n"


def test_a_wrapped_message_cannot_forge_a_line() -> None:
    """A continuation line starts with spaces, never with a label (`grep '^error:'` finds one per error)."""
    from dreamcli.ui.wrapping import hang_plain

    lines = hang_plain("error: " + "x " * 33 + "error: fake", 40, 7)
    assert lines[-1] == "       error: fake", lines  # the quoted label starts a line, indented
    assert [n for n, line in enumerate(lines) if line.startswith("error:")] == [0]


def test_hang_plain_keeps_a_span_whole_when_it_fits_and_a_long_word_whole() -> None:
    from dreamcli.ui.wrapping import hang_plain

    assert hang_plain("error: see `a b c`", 80, 7) == ["error: see `a b c`"]
    assert hang_plain("error: run `a b c d` now", 16, 7) == ["error: run", "       `a b c d`", "       now"]
    word = "/very/long/path/" * 6
    assert hang_plain(f"error: no file {word} here", 40, 7) == ["error: no file", f"       {word}", "       here"]


def _pty_stderr(args: list[str], columns: int) -> str:
    """What `dreamcli ARGS` shows on a terminal `columns` wide (it exits 2: the shell's `exit 0` lets
    `in_pty` keep its own check of the exit status)."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")
           and not k.startswith("DREAMCLI_")}
    env.update(TERM="xterm-256color")
    return in_pty(["sh", "-c", '"$0" "$@"; exit 0', DREAMCLI, *args], columns=columns, env=env)


def test_on_a_real_terminal_the_export_hint_stays_whole() -> None:
    text = _pty_stderr(["export", "x", "y", "z", "w"], 80)
    lines = SGR.sub("", text).strip("\n").split("\n")
    _hangs(lines, "error:")
    assert any("`export sessions DIR`?)" in line for line in lines), lines


def test_piped_the_export_hint_is_one_line_as_before() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DREAMCLI_")}
    env.update(COLUMNS="80")
    out = subprocess.run([DREAMCLI, "export", "x", "y", "z", "w"], env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 2
    assert out.stderr == f"error: {EXPORT}\n"


def test_wrapping_loads_only_when_a_line_wraps() -> None:
    """Start-up: the views `sessions list` and `playbooks list` import, and the console, load no wrapping
    module until a line is wrapped; prose's copy of the code-span pattern is wrapping's."""
    code = ("import sys; import dreamcli.ui.console, dreamcli.ui.prose, dreamcli.ui.sessions_view, "
            "dreamcli.ui.playbooks_view; print('dreamcli.ui.wrapping' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "False", out.stderr
    from dreamcli.ui import prose, wrapping

    assert prose.CODE_SPAN == wrapping.CODE_SPAN
