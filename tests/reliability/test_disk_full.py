"""A full disk or a read-only folder under a command (an operator's report, reproduced on a 2 MB tmpfs): `dream`,
`playbooks approve`, `run` and `sessions import` end with one line that names the file and says what to do,
exit 74 (EX_IOERR), never `internal error` (which the docs call a bug) nor "cannot read" the source; in `run`
the line starts on a line of its own after the agent's streamed text; nothing written before is lost, and
once there is space again the same command succeeds (docs/architecture.md, "Exit codes")."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.errors import EXIT_IOERR
from dreamcli.testing import FakeAnthropic, text_reply
from tests.support.disk import HAS_PROC_FD, full_disk, read_only
from tests.support.outcomes import verdict_reply
from tests.support.transcripts import claude_transcript, utc

pytestmark = pytest.mark.skipif(not HAS_PROC_FD, reason="the simulated disk reads /proc/self/fd")

FREE_SPACE = "free some space and run the command again; nothing written before is lost"


def cli(home: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["--home", str(home), *args], env={"NO_COLOR": "1"})


def error_lines(r: Any) -> list[str]:
    return [line for line in r.stderr.splitlines() if line.startswith("error:")]


def assert_storage_line(r: Any, cause: str, under: Path) -> str:
    """Exit 74 and one `error:` line: the cause, a file under `under`, no internal error; the line."""
    assert r.exit_code == EXIT_IOERR, r.output
    [line] = error_lines(r)
    assert line.startswith(f"error: {cause} (") and f"{under}{os.sep}" in line, line
    assert "internal error" not in r.stderr and "OSError" not in r.stderr and "Errno" not in r.stderr
    return line


def kept(home: Path) -> dict[str, str]:
    """What a failed command must not lose: the sessions, playbooks, dreams, grades and audit trail."""
    out = {}
    for top in ("sessions", "playbooks", "dreams", "grades", "audit.jsonl"):
        base = home / top
        files = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file())
        out.update({str(p.relative_to(home)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files})
    return out


@pytest.fixture(scope="module")
def dreamed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project's workspace with the sample sessions and one dream pending review."""
    base = tmp_path_factory.mktemp("full")
    assert CliRunner().invoke(app, ["init", str(base / "p"), "--with-samples"]).exit_code == 0
    home = base / "p" / ".dreamcli"
    assert cli(home, "dream", "--offline").exit_code == 0
    return home


@pytest.fixture
def ws(dreamed: Path, tmp_path: Path, no_model: None) -> Path:
    shutil.copytree(dreamed, tmp_path / "home")
    return tmp_path / "home"


def test_dream_on_a_full_disk_names_the_file_and_loses_nothing(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = kept(ws)
    full_disk(monkeypatch, ws)
    r = cli(ws, "dream", "--offline", "--all")
    line = assert_storage_line(r, "no space left on device", ws)
    assert line.startswith("error: no space left on device (writing ") and line.endswith(FREE_SPACE)
    monkeypatch.undo()  # space again
    assert kept(ws) == before
    again = cli(ws, "dream", "--offline", "--all")
    assert again.exit_code == 0, again.output


def test_approve_on_a_full_disk_then_again_with_space(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = kept(ws)
    full_disk(monkeypatch, ws)
    r = cli(ws, "playbooks", "approve", "--all", "--yes")
    assert_storage_line(r, "no space left on device", ws)
    monkeypatch.undo()
    assert kept(ws) == before
    again = cli(ws, "playbooks", "approve", "--all", "--yes")
    assert again.exit_code == 0, again.output
    verify = cli(ws, "playbooks", "audit", "--verify")
    assert verify.exit_code == 0, verify.output


def test_dream_into_a_read_only_dreams_folder(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    read_only(monkeypatch, ws / "dreams")
    r = cli(ws, "dream", "--offline", "--all")
    line = assert_storage_line(r, "read-only file system", ws / "dreams")
    assert "remount it read-write" in line


@pytest.fixture
def task(tmp_path: Path) -> Path:
    (tmp_path / "wd").mkdir()
    path = tmp_path / "task.yaml"
    path.write_text("name: refund-policy\nprompt: Decide the refund for T-1001.\ntools: [read]\nmax_turns: 2\n")
    return path


def test_run_when_the_disk_fills_mid_reply(fake_anthropic: FakeAnthropic, home: Path, task: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The report's `T-1001, escalateerror: internal error: OSError ...`: the streamed text had no newline."""
    fake_anthropic.expect(text_reply("T-1001, escalate"))
    assert cli(home, "init").exit_code == 0
    # the reply is logged and shown (no newline at its end); the disk fills as the session's end is logged
    is_full = full_disk(monkeypatch, home / "sessions", after=lambda data: b'"session.end"' in data)
    r = cli(home, "run", str(task), "-C", str(task.parent / "wd"))
    assert is_full()
    line = assert_storage_line(r, "no space left on device", home / "sessions")
    assert ".jsonl" in line and line.endswith(FREE_SPACE)
    lines = r.stderr.splitlines()
    assert "T-1001, escalate" in lines  # the agent's words on their own line, the error on the next
    assert lines.index("T-1001, escalate") < lines.index(line)


def test_run_with_a_read_only_sessions_folder(fake_anthropic: FakeAnthropic, home: Path, task: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli(home, "init").exit_code == 0
    read_only(monkeypatch, home / "sessions")
    r = cli(home, "run", str(task), "-C", str(task.parent / "wd"))
    assert_storage_line(r, "read-only file system", home / "sessions")


def test_run_keeps_the_verdict_its_grade_cache_could_not_store(fake_anthropic: FakeAnthropic, home: Path,
                                                               task: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The report's `grader error: internal error while grading: OSError ...` (exit 3) for a verdict paid for."""
    spec = task.parent / "outcome.yaml"
    spec.write_text("name: refund\ncriteria:\n  - id: decided\n    description: A refund is decided.\n")
    fake_anthropic.expect(text_reply("Refund T-1001 in full."), verdict_reply(decided=True))
    assert cli(home, "init").exit_code == 0

    def full(path: Path, text: str, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr("dreamcli.outcomes.cache.atomic_write_text", full)
    r = cli(home, "run", str(task), "-C", str(task.parent / "wd"), "--outcome", str(spec))
    assert r.exit_code == 0, r.output
    warnings = [line for line in r.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "grade cache not written" in warnings[0], r.stderr
    assert "outcome satisfied" in r.stderr


def test_sessions_import_on_a_full_disk_blames_the_staging_file_not_the_source(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_model: None) -> None:
    src = tmp_path / "cc" / "-home-dev-proj"
    for i in range(3):
        claude_transcript(src / f"{uuid.UUID(int=i)}.jsonl", session_id=str(uuid.UUID(int=i)),
                          start=utc(2026, 5, 1, 9 + i), seed=i)
    home = tmp_path / "home"
    assert cli(home, "init").exit_code == 0
    full_disk(monkeypatch, home / "state")
    r = cli(home, "sessions", "import", "claude-code", str(tmp_path / "cc"), "--workers", "1")
    line = assert_storage_line(r, "no space left on device", home / "state" / "import-staging")
    assert "cannot read" not in line and str(src) not in line
    monkeypatch.undo()
    again = cli(home, "sessions", "import", "claude-code", str(tmp_path / "cc"), "--workers", "1", "--json")
    assert again.exit_code == 0, again.output
    assert len(list((home / "sessions").rglob("*.jsonl"))) == 3


def test_grade_json_says_the_exit_code_the_process_exits_with(ws: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("name: any\ncriteria:\n  - id: short\n    check: {type: max_turns, value: 1000}\n")
    full_disk(monkeypatch, ws / "grades")
    r = cli(ws, "grade", "--last", "2", "--outcome", str(spec), "--json")
    line = assert_storage_line(r, "no space left on device", ws / "grades")
    doc = json.loads(r.stdout)
    assert doc["totals"]["exit_code"] == EXIT_IOERR and doc["error"] == line.removeprefix("error: ")


def test_an_error_that_is_not_the_environment_is_still_an_internal_error(
        ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """EINVAL from a write is not a full disk: still the bug's line and exit 1."""
    def broken(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))

    monkeypatch.setattr(tempfile, "mkstemp", broken)
    r = cli(ws, "dream", "--offline", "--all")
    assert r.exit_code == 1, r.output
    assert error_lines(r)[0].startswith("error: internal error: OSError:")


# --- the real thing, where this machine lets a test mount a small tmpfs -------------------------------------


@contextlib.contextmanager
def small_tmpfs(where: Path, size: str = "2m") -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], check=True,
                       capture_output=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        pytest.skip("mounting a tmpfs is not permitted here")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, timeout=20)


@pytest.mark.slow
def test_a_real_full_tmpfs(dreamed: Path, tmp_path: Path, no_model: None) -> None:
    with small_tmpfs(tmp_path / "mnt") as mnt:
        home = mnt / "home"
        shutil.copytree(dreamed, home)
        filler = mnt / "filler"
        with contextlib.suppress(OSError), open(filler, "wb") as f:
            while True:
                f.write(b"\0" * (64 << 10))
                f.flush()
        r = cli(home, "dream", "--offline", "--all")
        assert r.exit_code == EXIT_IOERR, r.output
        [line] = error_lines(r)
        assert line.startswith("error: no space left on device (writing ") and str(home) in line, line
        filler.unlink()
        assert cli(home, "dream", "--offline", "--all").exit_code == 0
