"""NO_COLOR on a real terminal (a pty) turns colour off and nothing else: `dreamcli run` still shows its
live lines (▶, ✓) and `run --parallel` its live table, with no colour or style code (SGR) anywhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dreamcli.testing import FakeAnthropic, text_reply, tool_reply, tool_use
from tests.support.run import DREAMCLI, cli_env
from tests.support.terminal import in_pty

SGR = re.compile(r"\x1b\[[0-9;:]*m")


def _env(server: FakeAnthropic, home: Path) -> dict[str, str]:
    env = cli_env(server.url, home, TERM="xterm-256color")  # NO_COLOR=1
    for name in ("COLUMNS", "LINES", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        env.pop(name, None)
    return env


def _task(root: Path, name: str, tools: str = "[]") -> Path:
    (root / "docs").mkdir(parents=True, exist_ok=True)
    (root / "docs" / "notes.txt").write_text("alpha\n")
    path = root / f"{name}.yaml"
    path.write_text(f"name: {name}\nprompt: Read notes.txt.\nworkdir: docs\ntools: {tools}\nmax_turns: 5\n")
    return path


@pytest.mark.slow
def test_run_on_a_terminal_with_no_color_shows_its_live_lines(fake_anthropic: FakeAnthropic, home: Path,
                                                              tmp_path: Path) -> None:
    fake_anthropic.expect(tool_reply(tool_use("read", {"file_path": "notes.txt"}), text="Looking."),
                          text_reply("one line."))
    task = _task(tmp_path / "project", "count", tools="[read]")
    text = in_pty([DREAMCLI, "run", str(task)], columns=100, env=_env(fake_anthropic, home))
    assert not SGR.search(text), repr(text)
    lines = text.splitlines()
    assert lines[0].startswith("▶ session "), text  # not the plain `> session` of a pipe
    assert "  ✓ read notes.txt" in text and "  ok read" not in text, text
    assert any(line.startswith("■ completed · 2 turns") for line in lines), text


@pytest.mark.slow
def test_run_parallel_on_a_terminal_with_no_color_shows_its_live_table(fake_anthropic: FakeAnthropic, home: Path,
                                                                       tmp_path: Path) -> None:
    fake_anthropic.expect(text_reply("done."), text_reply("done."))
    tasks = [str(_task(tmp_path / "project", name)) for name in ("alpha", "bravo")]
    text = in_pty([DREAMCLI, "run", *tasks, "--parallel", "2"], columns=100, env=_env(fake_anthropic, home))
    assert not SGR.search(text), repr(text)
    assert "2 tasks · " in text, text  # the live table's counts line
    assert "> [1/2]" not in text and "ok [1/2]" not in text, text  # not the plain lines of a pipe
