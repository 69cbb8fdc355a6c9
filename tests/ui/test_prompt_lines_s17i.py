"""The Rich prompts (`pilot`'s `start the pilot?`, the `playbooks review` and `decide` questions) end their own
line when the answer does not (Ctrl-C echoes `^C` and no newline, Ctrl-D nothing), so the next output (the
CLI's `error:` line, the next question) starts on a line of its own instead of after the question. The
approval prompt of `run` does the same (tests/ui/test_approval_prompt_s17d.py)."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest

from dreamcli.ui.pilot_view import confirm_start
from dreamcli.ui.playbooks_view import ask_text, choose, confirm

PROMPTS: list[tuple[Callable[[], Any], str, Any]] = [  # (the prompt, its question as shown, its Ctrl-D answer)
    (confirm_start, "start the pilot? [y/n] (n): ", EOFError),  # Ctrl-D stops the CLI (exit 130), as before
    (lambda: confirm("approve?"), "approve? [y/n] (n): ", False),
    (lambda: choose("which?", ["a", "b"], "a"), "which? [a/b] (a): ", "a"),
    (lambda: ask_text("reason"), "reason: ", None),
]
IDS = ["confirm_start", "confirm", "choose", "ask_text"]


class _CtrlC(io.StringIO):
    def readline(self, size: int | None = -1) -> str:
        raise KeyboardInterrupt


@pytest.fixture(autouse=True)
def _plain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")


@pytest.mark.parametrize(("ask", "shown", "_eof"), PROMPTS, ids=IDS)
def test_ctrl_c_at_the_prompt_ends_its_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                            ask: Callable[[], Any], shown: str, _eof: Any) -> None:
    monkeypatch.setattr("sys.stdin", _CtrlC())
    with pytest.raises(KeyboardInterrupt):
        ask()
    assert capsys.readouterr().err == shown + "\n"


@pytest.mark.parametrize(("ask", "shown", "eof"), PROMPTS, ids=IDS)
def test_ctrl_d_at_the_prompt_ends_its_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                            ask: Callable[[], Any], shown: str, eof: Any) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    if eof is EOFError:
        with pytest.raises(EOFError):
            ask()
    else:
        assert ask() == eof
    assert capsys.readouterr().err == shown + "\n"


@pytest.mark.parametrize(("ask", "shown", "_eof"), PROMPTS, ids=IDS)
def test_an_answer_with_enter_adds_no_blank_line(monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str],
                                                 ask: Callable[[], Any], shown: str, _eof: Any) -> None:
    """The terminal echoed the Enter: the prompt writes no newline of its own."""
    monkeypatch.setattr("sys.stdin", io.StringIO("b\n" if "which" in shown else "y\n"))
    ask()
    assert capsys.readouterr().err == shown
