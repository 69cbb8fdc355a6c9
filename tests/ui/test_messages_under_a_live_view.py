"""A `warning:` or info line printed while a live view runs on stderr (the cloud status line) goes above the
live line, on a line of its own: a live view puts Rich's proxy in place of sys.stderr, and the console the
message is printed with is then the live view's own (before, a second console wrote past the proxy, and the
message went on after the spinner's text: `⠙ pulling cloud sessionswarning: …`)."""

from __future__ import annotations

import io
import re
import sys
import time

import pytest

from dreamcli.ui import console
from dreamcli.ui.console import err, info, warn


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("say", [warn, info], ids=["warn", "info"])
def test_a_message_during_a_live_status_starts_a_line_of_its_own(monkeypatch: pytest.MonkeyPatch, say: object) -> None:
    stream = _Tty()
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setattr(sys, "stderr", stream)
    monkeypatch.setattr(console, "_cache", {})

    with err().status("pulling cloud sessions"):
        assert sys.stderr is not stream  # the live view's proxy
        assert err() is console._cache["err"][1]
        time.sleep(0.3)  # the status line is drawn
        say("session sesn_01 skipped")  # type: ignore[operator]

    text = stream.getvalue()
    said = text.index("session sesn_01 skipped")
    start = text.rfind("\n", 0, said) + 1
    before = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text[start:said]).split("\r")[-1]
    assert "pulling cloud sessions" in text[:said], repr(text)
    assert before in ("", "warning: "), repr(text)  # nothing of the status line before it on its line
