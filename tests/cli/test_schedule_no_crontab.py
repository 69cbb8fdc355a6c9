"""A machine without `crontab` gives the same exit code whichever way the scheduler was chosen: 2, as for
`--with systemd` where `systemctl --user` does not work (a tool the command needs is missing: the command
did not run; docs/cli.md). Before, `--with cron` exited 1 and the default (`auto`) 2 for the same machine."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.errors import EXIT_USAGE
from dreamcli.workspace.home import Workspace


@pytest.mark.parametrize("choice", ["cron", "auto"])
def test_no_crontab_is_the_same_exit_code_with_any_choice(ws: Workspace, tmp_path: Path, choice: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # neither crontab nor systemctl here
    r = CliRunner().invoke(app, ["--home", str(ws.root), "schedule", "install", "--with", choice])
    assert r.exit_code == EXIT_USAGE, r.output
    assert r.stderr.startswith("error: ") and "crontab" in r.stderr and r.stdout == ""
