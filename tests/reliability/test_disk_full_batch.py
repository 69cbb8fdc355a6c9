"""`run TASK... --parallel N` on a full disk: a run whose log cannot be written ends with the one line a single
`run` prints for it (the file, what to do), exit 74 in its `--json` result and for the command, never an
`internal error` (which the docs call a bug) in the per-run results or the summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.errors import EXIT_CREDENTIALS, EXIT_FAILED, EXIT_INFRA, EXIT_IOERR
from dreamcli.testing import FakeAnthropic, text_reply
from tests.support.disk import HAS_PROC_FD, full_disk

pytestmark = pytest.mark.skipif(not HAS_PROC_FD, reason="the simulated disk reads /proc/self/fd")

FREE_SPACE = "free some space and run the command again; nothing written before is lost"


def cli(home: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["--home", str(home), *args], env={"NO_COLOR": "1"})


@pytest.fixture
def task(tmp_path: Path) -> Path:
    (tmp_path / "wd").mkdir()
    path = tmp_path / "task.yaml"
    path.write_text("name: refund-policy\nprompt: Decide the refund for T-1001.\nworkdir: wd\ntools: [read]\n"
                    "max_turns: 2\n")
    return path


def test_a_run_of_a_batch_that_fills_the_disk_is_a_storage_error(fake_anthropic: FakeAnthropic, home: Path,
                                                                   task: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_anthropic.expect(text_reply("T-1001, escalate"))
    assert cli(home, "init").exit_code == 0
    is_full = full_disk(monkeypatch, home / "sessions", after=lambda data: b'"session.end"' in data)
    r = cli(home, "run", str(task), "--parallel", "1", "--yes", "--json")
    assert is_full()
    assert r.exit_code == EXIT_IOERR, r.output
    [run] = json.loads(r.stdout)["runs"]
    assert run["exit_code"] == EXIT_IOERR and run["ok"] is False
    error = run["error"]
    assert error.startswith(f"no space left on device (writing {home / 'sessions'}") and ".jsonl)" in error, error
    assert error.endswith(FREE_SPACE)
    assert "internal error" not in r.stderr and "OSError" not in r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("error: 1 of 1 runs failed (1 could not store its files): no space left on device ")
    assert last.endswith(FREE_SPACE)


def test_a_session_log_that_cannot_be_opened_is_a_storage_error(fake_anthropic: FakeAnthropic, home: Path,
                                                                 task: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Refused as the writer opens the log (a read-only sessions folder), before run_agent is called."""
    from tests.support.disk import read_only

    assert cli(home, "init").exit_code == 0
    read_only(monkeypatch, home / "sessions")
    r = cli(home, "run", str(task), "--parallel", "1", "--yes", "--json")
    assert r.exit_code == EXIT_IOERR, r.output
    [run] = json.loads(r.stdout)["runs"]
    assert run["exit_code"] == EXIT_IOERR and run["error"].startswith(f"read-only file system (writing {home}")
    assert "internal error" not in r.stderr


class _Run:
    def __init__(self, exit_code: int) -> None:
        self.exit_code, self.ok = exit_code, exit_code == 0


@pytest.mark.parametrize(("codes", "wanted"), [
    ((EXIT_FAILED, EXIT_IOERR), EXIT_IOERR),
    ((EXIT_INFRA, EXIT_IOERR), EXIT_IOERR),
    ((EXIT_CREDENTIALS, EXIT_IOERR), EXIT_CREDENTIALS),
    ((0, EXIT_FAILED), EXIT_FAILED),
])
def test_the_batch_exit_code(codes: tuple[int, ...], wanted: int) -> None:
    """The machine's disk, like the endpoint, stops every run until it is fixed: 74 wins over 3 and 1."""
    from dreamcli.cli.run_batch import exit_code_for

    assert exit_code_for([_Run(c) for c in codes]) == wanted
