"""A COLUMNS that is not a width (`abc`, `-5`, `0`, a superscript digit, a huge number) falls back to the
default layout: the command runs as without it, never an internal error (before: `doctor` and `dream`
stopped with `internal error: ValueError: invalid literal for int()`)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from dreamcli.ui.console import MAX_COLUMNS, env_columns
from tests.support.run import DREAMCLI, cli_env


@pytest.mark.parametrize(("raw", "width"), [
    ("", None), ("abc", None), ("-5", None), ("0", None), ("²", None), ("7.5", None),
    (" 70 ", 70), ("80", 80), ("99999999999999999999", MAX_COLUMNS),
])
def test_columns_are_read_as_a_width_or_not_at_all(monkeypatch: pytest.MonkeyPatch, raw: str,
                                                   width: int | None) -> None:
    monkeypatch.setenv("COLUMNS", raw)
    assert env_columns() == width


@pytest.mark.parametrize("command", [["doctor"], ["dream", "--offline", "--dry-run"], ["config", "show"]])
@pytest.mark.parametrize("columns", ["abc", "-5", "²"])
def test_a_bad_columns_leaves_commands_working(tmp_path: Path, command: list[str], columns: str) -> None:
    home = tmp_path / "ws"
    env = cli_env(None, home)
    subprocess.run([DREAMCLI, "init"], env=env, capture_output=True, check=True)
    plain = subprocess.run([DREAMCLI, *command], env=env, capture_output=True, text=True, timeout=60)
    bad = subprocess.run([DREAMCLI, *command], env={**env, "COLUMNS": columns}, capture_output=True, text=True,
                         timeout=60)
    assert "internal error" not in bad.stderr and "Traceback" not in bad.stderr, bad.stderr
    assert bad.returncode == plain.returncode
