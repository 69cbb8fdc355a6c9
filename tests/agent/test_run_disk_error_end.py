"""A disk error in the middle of a run (the log's line of the model's reply refused, ENOSPC, once) ends the log
with what the user sees: session.end's error is the storage error's one line (the file, what to do), not an
`internal error: OSError…`, and the run exits 74 (docs/architecture.md, "Exit codes"). `sessions show` of that
session reads the same line. A workspace file refused to this user (EACCES, EPERM: dreamcli's own file, so the
machine and not a bug) ends the log the same way."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.errors import EXIT_IOERR
from dreamcli.testing import FakeAnthropic, text_reply
from tests.support.disk import HAS_PROC_FD

pytestmark = pytest.mark.skipif(not HAS_PROC_FD, reason="the disk error is matched by /proc/self/fd")

FREE_SPACE = "free some space and run the command again; nothing written before is lost"


def cli(home: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["--home", str(home), *args], env={"NO_COLOR": "1", "COLUMNS": "400"})


def _disk_fails_once(monkeypatch: pytest.MonkeyPatch, sessions: Path, code: int = errno.ENOSPC) -> list[bool]:
    """The first write of the model's reply into a file under `sessions` fails as a full disk does (ENOSPC, no
    file named; or `code`); the disk has room again after it. Returns [whether it failed]."""
    real_write, failed = os.write, [False]
    root = os.path.realpath(sessions)

    def write(fd: int, data: Any) -> int:
        if not failed[0] and b'"assistant"' in bytes(data):
            try:
                where = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                where = ""
            if where.startswith(root + os.sep):
                failed[0] = True
                raise OSError(code, os.strerror(code))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)
    return failed


def _run_failing_once(fake_anthropic: FakeAnthropic, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                      code: int) -> Any:
    """`dreamcli run` of a one-reply task whose log's line of the reply fails once with `code`; its result."""
    (tmp_path / "wd").mkdir()
    task = tmp_path / "task.yaml"
    task.write_text("name: refund-policy\nprompt: Decide the refund for T-1001.\nworkdir: wd\ntools: [read]\n")
    fake_anthropic.expect(text_reply("T-1001, escalate"))
    assert cli(home, "init").exit_code == 0
    failed = _disk_fails_once(monkeypatch, home / "sessions", code)
    r = cli(home, "run", str(task), "--yes")
    assert failed == [True]
    return r


def test_the_log_ends_with_the_storage_line_and_the_run_exits_74(fake_anthropic: FakeAnthropic, home: Path,
                                                                  tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    r = _run_failing_once(fake_anthropic, home, tmp_path, monkeypatch, errno.ENOSPC)
    assert r.exit_code == EXIT_IOERR, r.output
    [line] = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert line.startswith(f"error: no space left on device (writing {home / 'sessions'}") and FREE_SPACE in line

    [log] = (home / "sessions").rglob("*.jsonl")
    end = json.loads(log.read_text().splitlines()[-1])
    assert end["type"] == "session.end" and end["status"] == "error"
    assert end["error"] == line.removeprefix("error: "), end["error"]

    shown = cli(home, "sessions", "show", log.stem)
    assert shown.exit_code == 0, shown.output
    [ended] = [ln for ln in shown.stdout.splitlines() if ln.startswith("end error")]
    assert ended.endswith(line.removeprefix("error: ")), ended
    assert "internal error" not in shown.stdout and "OSError" not in shown.stdout


@pytest.mark.parametrize("code", [errno.EACCES, errno.EPERM], ids=["EACCES", "EPERM"])
def test_a_workspace_file_refused_to_this_user_ends_the_log_as_storage_not_a_bug(
        code: int, fake_anthropic: FakeAnthropic, home: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    r = _run_failing_once(fake_anthropic, home, tmp_path, monkeypatch, code)
    assert r.exit_code == EXIT_IOERR, r.output
    [line] = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    [log] = (home / "sessions").rglob("*.jsonl")
    cause = "permission denied" if code == errno.EACCES else "operation not permitted"
    assert line.startswith(f"error: {cause} ({log})") and "readable and writable by this user" in line, line

    end = json.loads(log.read_text().splitlines()[-1])
    assert end["type"] == "session.end" and end["status"] == "error"
    assert end["error"] == line.removeprefix("error: "), end["error"]
    assert "internal error" not in end["error"] and "Error:" not in end["error"]
