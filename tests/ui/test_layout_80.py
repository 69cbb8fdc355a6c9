"""Layout at 80 columns: `doctor`'s long WARN line wraps to the terminal's width; `sessions show` cuts
a very long message as it cuts tool results, saying how much it left out."""

from __future__ import annotations

import io
import re
import sys
from types import SimpleNamespace

import pytest

from dreamcli.doctor import Check
from dreamcli.ui import console


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _tty_stdout(monkeypatch: pytest.MonkeyPatch, columns: int = 80) -> _Tty:
    stream = _Tty()
    monkeypatch.setenv("COLUMNS", str(columns))
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setattr(sys, "stdout", stream)
    monkeypatch.setattr(console, "_cache", {})
    return stream


def _plain(text: str) -> list[str]:
    return [line.rstrip() for line in re.sub(r"\x1b\[[0-9;]*m", "", text).splitlines()]


DETAIL = ("config.yaml sets approvals.allow_commands that this workspace has not trusted yet, so every run "
          "asks about them again; the patterns are 'ls *', 'cat *' and 'pytest*'")


def test_doctor_wraps_a_long_line_to_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    from dreamcli.ui.doctor_view import render_checks

    stream = _tty_stdout(monkeypatch)
    render_checks([Check("workspace", "ok", "/tmp/w"),
                   Check("config trust", "warn", DETAIL, fix="dreamcli config trust")])
    lines = _plain(stream.getvalue())
    assert all(len(line) <= 80 for line in lines), lines
    assert lines[0].startswith("OK") and lines[1].startswith("WARN")
    words = " ".join(" ".join(lines).split())
    assert " ".join(DETAIL.split()) in words and "fix: dreamcli config trust" in words
    assert len(lines) > 2 and lines[2].startswith(" ")  # continued under its check, indented


def test_doctor_on_a_pipe_keeps_one_line_per_check(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from dreamcli.ui.doctor_view import render_checks

    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setattr(console, "_cache", {})
    render_checks([Check("config trust", "warn", DETAIL, fix="dreamcli config trust")])
    assert len(capsys.readouterr().out.splitlines()) == 1


@pytest.mark.parametrize("role", ["user", "assistant"])
def test_sessions_show_cuts_a_huge_message(role: str, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from dreamcli.ui.sessions_view import render_transcript

    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setattr(console, "_cache", {})
    huge = "lorem ipsum " * 20_000  # 240,000 characters
    events = [{"type": "session.start", "session_id": "S", "ts": "t", "source": "run", "task": {"name": "t"}},
              {"type": "message", "role": role, "content": [{"type": "text", "text": huge}]}]
    render_transcript(events, SimpleNamespace(skipped=0), [], [])
    out = capsys.readouterr().out
    assert len(out) < 10_000
    m = re.search(r"\[([0-9,]+) more chars\]", out)
    assert m is not None, out[-200:]
    assert int(m.group(1).replace(",", "")) > 200_000
