"""NO_COLOR turns colour off, nothing else: on a real terminal (a pty, COLUMNS not exported, as bash
leaves it) tables still fit the terminal's width, with no escape sequence in the output."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.outcomes import make_session, workspace
from tests.support.run import DREAMCLI
from tests.support.terminal import in_pty


@pytest.mark.parametrize("columns", [60, 80])
def test_no_color_on_a_terminal_fits_the_terminal(tmp_path: Path, columns: int) -> None:
    ws = workspace(tmp_path)
    make_session(ws, task="contract-review-with-a-long-task-name", turns=12, cost=1.2345)
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES") and not k.startswith("DREAMCLI_")}
    env.update(DREAMCLI_HOME=str(ws.root), NO_COLOR="1", TERM="xterm-256color")
    text = in_pty([DREAMCLI, "sessions", "list"], columns=columns, env=env)
    lines = [ln for ln in text.split("\n") if ln]
    assert lines and lines[0].split()[0] == "id", text
    assert "\x1b" not in text  # no colour, no other sequence
    assert max(len(ln) for ln in lines) <= columns, text
    assert max(len(ln) for ln in lines) > columns - 20, text  # it used the width, not a narrow default
