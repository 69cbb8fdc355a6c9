"""The parts of a full disk's one line (tests/reliability/test_disk_full.py has the commands): which OSErrors are
the machine's (`storage_error`, exit 74) and what each says; the writers of dreamcli/workspace/fsutil.py name the
file a nameless write error belongs to; a read-only workspace is called that; a grade whose cache cannot be
written keeps the verdict the grader returned, with one warning."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest

from dreamcli.config import Config
from dreamcli.errors import EXIT_IOERR, StorageError, UsageError, storage_error
from dreamcli.outcomes.grading import GradeOptions, Grader, grade_path
from dreamcli.outcomes.spec import load_spec
from dreamcli.sessions.paths import find_session
from dreamcli.testing import FakeAnthropic
from dreamcli.workspace import fsutil
from dreamcli.workspace.home import check_home_usable
from tests.support.outcomes import GRADER_SPEC, make_session, verdict_reply, workspace, write_spec


def oserror(code: int, filename: str | None = None) -> OSError:
    return OSError(code, os.strerror(code), *([filename] if filename else []))


# --- which errors are the machine's, and what each says ---------------------------------------------------


@pytest.mark.parametrize(("code", "start", "advice"), [
    (errno.ENOSPC, "no space left on device (writing /w/a.json)", "free some space and run the command again; "
     "nothing written before is lost"),
    (errno.EDQUOT, "disk quota exceeded (writing /w/a.json)", "nothing written before is lost"),
    (errno.EROFS, "read-only file system (writing /w/a.json)", "remount it read-write"),
    (errno.EIO, "input/output error (/w/a.json)", "check the disk"),
    (errno.ENFILE, "too many open files in the system (/w/a.json)", "close other programs"),
])
def test_each_error_of_the_machine_is_one_line_with_what_to_do(code: int, start: str, advice: str) -> None:
    """EMFILE's line, with how many descriptors are open: tests/reliability/test_too_many_open_files.py."""
    mapped = storage_error(oserror(code, "/w/a.json"))
    assert isinstance(mapped, StorageError) and mapped.exit_code == EXIT_IOERR == 74
    assert str(mapped).startswith(start + ": ") and advice in str(mapped)
    assert "\n" not in str(mapped) and "Errno" not in str(mapped)


def test_a_nameless_error_says_the_cause_alone() -> None:
    assert str(storage_error(oserror(errno.ENOSPC))).startswith("no space left on device: free some space")


def test_permission_errors_count_only_on_the_workspace_files() -> None:
    inside = storage_error(oserror(errno.EACCES, "/w/state/locks/dream.lock"), workspace="/w")
    assert inside is not None and str(inside).startswith("permission denied (/w/state/locks/dream.lock): ")
    assert "this user" in str(inside)
    assert storage_error(oserror(errno.EPERM, "/w/sessions/x.jsonl"), workspace="/w") is not None
    assert storage_error(oserror(errno.EACCES, "/etc/shadow"), workspace="/w") is None
    assert storage_error(oserror(errno.EACCES, "/w2/x"), workspace="/w") is None  # a sibling, not inside
    assert storage_error(oserror(errno.EACCES, "/w/x")) is None  # no workspace known


@pytest.mark.parametrize("code", [errno.EINVAL, errno.ENOENT, errno.EBADF, errno.EEXIST, errno.EISDIR])
def test_other_errors_stay_bugs(code: int) -> None:
    assert storage_error(oserror(code, "/w/x"), workspace="/w") is None


# --- the writers name the file ----------------------------------------------------------------------------


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="the file of a descriptor is read from /proc")
def test_an_append_that_fails_names_its_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "log.jsonl"
    fd = fsutil.open_append(target)

    def full(fd: int, data: Any) -> int:
        raise oserror(errno.ENOSPC)

    monkeypatch.setattr(os, "write", full)
    try:
        with pytest.raises(OSError) as caught:
            fsutil.write_all(fd, b"{}\n")
    finally:
        os.close(fd)
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(target)


def test_an_atomic_write_that_fails_names_its_target_and_leaves_no_temp(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "proposal.json"
    target.write_text("old")

    def full(fd: int) -> None:
        raise oserror(errno.ENOSPC)

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError) as caught:
        fsutil.atomic_write_text(target, "new")
    assert caught.value.filename == str(target)
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["proposal.json"]


def test_an_atomic_write_whose_temp_cannot_be_made_names_the_target(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    target = tmp_path / "proposal.json"

    def read_only(*args: Any, dir: Any = None, prefix: str = "", **kwargs: Any) -> Any:
        raise oserror(errno.EROFS, os.path.join(dir, f"{prefix}abc.tmp"))

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    with pytest.raises(OSError) as caught:
        fsutil.atomic_write_text(target, "new")
    assert caught.value.errno == errno.EROFS and caught.value.filename == str(target)


def test_a_named_error_keeps_its_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = str(tmp_path / "elsewhere")

    def named(fd: int) -> None:
        raise oserror(errno.EIO, other)

    monkeypatch.setattr(os, "fsync", named)
    with pytest.raises(OSError) as caught:
        fsutil.atomic_write_text(tmp_path / "a.json", "x")
    assert caught.value.filename == other


# --- a read-only workspace ------------------------------------------------------------------------------


class _Statvfs:
    def __init__(self, flags: int) -> None:
        self.f_flag = flags


def test_a_read_only_workspace_is_called_that(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "access", lambda *a, **k: False)
    monkeypatch.setattr(os, "statvfs", lambda path: _Statvfs(os.ST_RDONLY))
    with pytest.raises(StorageError) as caught:
        check_home_usable(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"workspace {tmp_path} is on a read-only file system")
    assert "remount it read-write" in message and "not readable and writable" not in message
    assert caught.value.exit_code == EXIT_IOERR


def test_a_workspace_without_permission_is_still_a_permission_problem(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "access", lambda *a, **k: False)
    monkeypatch.setattr(os, "statvfs", lambda path: _Statvfs(0))
    with pytest.raises(UsageError, match="is not readable and writable by this user"):
        check_home_usable(tmp_path)


# --- a grade cache that cannot be written -----------------------------------------------------------------


@pytest.fixture
def graded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    ws = workspace(tmp_path)
    spec = load_spec(write_spec(tmp_path / "spec.yaml", GRADER_SPEC))
    sid = make_session(ws, workdir=tmp_path / "wd", files={"summary.md": "# Termination\n- Section 12.1"})

    def full(path: Path, text: str, **kwargs: Any) -> None:
        raise oserror(errno.ENOSPC, str(path))

    monkeypatch.setattr("dreamcli.outcomes.cache.atomic_write_text", full)
    return ws, spec, find_session(ws, sid)


def test_a_verdict_is_kept_when_the_cache_cannot_be_written(fake_anthropic: FakeAnthropic, graded) -> None:  # type: ignore[no-untyped-def]
    ws, spec, path = graded
    fake_anthropic.expect(*[verdict_reply(cites_sections=True, no_advice=True) for _ in range(3)])
    said: list[str] = []
    grader = Grader(ws, Config(), GradeOptions(trials=3), on_warning=said.append)
    res = grade_path(grader, path, spec)
    assert res.result == "satisfied" and res.score == 1.0 and res.error is None and res.model_trials == 3
    [warning] = said  # once, for the three trials it could not store
    assert warning.startswith("grade cache not written: no space left on device (writing ") and "grade-cache" in warning
    assert "verdict" in warning


def test_the_cache_warning_goes_to_stderr_by_default(fake_anthropic: FakeAnthropic, graded,  # type: ignore[no-untyped-def]
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    ws, spec, path = graded
    fake_anthropic.expect(verdict_reply(cites_sections=True, no_advice=True))
    res = grade_path(Grader(ws, Config(), GradeOptions()), path, spec)
    assert res.result == "satisfied"
    err = capsys.readouterr().err
    assert err.count("warning: grade cache not written") == 1 and err.endswith("\n")
