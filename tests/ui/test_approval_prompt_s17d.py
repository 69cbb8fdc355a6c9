"""The approval prompt ends its own line when the answer does not (Ctrl-C, Ctrl-D), so the next output
(`■ interrupted …`, `✗ bash … refused`) starts on a line of its own instead of after the question."""

from __future__ import annotations

import io

import pytest

from dreamcli.ui.run_view import RunView

PROMPT = "Run command: ls -la\n  allow? [y]es, [N]o, [a]lways 'ls *' this session, [w] 'ls *' in this workspace: "


class _CtrlC(io.StringIO):
    def readline(self, size: int | None = -1) -> str:
        raise KeyboardInterrupt


def test_ctrl_c_at_the_prompt_ends_its_line(monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", _CtrlC())
    with pytest.raises(KeyboardInterrupt):
        RunView().ask_approval("command", "ls -la")
    assert capsys.readouterr().err == PROMPT + "\n"


@pytest.mark.parametrize(("typed", "approved"), [("", False), ("y", True)])
def test_ctrl_d_at_the_prompt_ends_its_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                            typed: str, approved: bool) -> None:
    """End of input, at once or after a typed answer (its Enter never came): no echoed newline either."""
    monkeypatch.setattr("sys.stdin", io.StringIO(typed))
    assert RunView().ask_approval("command", "ls -la") is approved
    assert capsys.readouterr().err == PROMPT + "\n"


def test_an_answer_with_enter_adds_no_blank_line(monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """The terminal echoed the Enter: the prompt writes no newline of its own."""
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    assert RunView().ask_approval("command", "ls -la") is False
    assert capsys.readouterr().err == PROMPT
