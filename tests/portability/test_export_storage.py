"""The machine's refusals in `dreamcli export` (dreamcli/errors.py `storage_error`): a full or read-only disk
under `--into FILE` or a Parquet `DIR` is exit 74 and one line naming the file, its advice naming the option
that writes elsewhere, and no partial output left; a workspace file the export cannot read is the
workspace's error (naming that file, exit 74), not a failed write of the export, and one removed while the
export ran is one line too (exit 1, never `internal error`). A target the export may not write (no
permission) stays a usage error, exit 2, whatever its name next to the workspace's folder
(dreamcli/portability/failures.py)."""

from __future__ import annotations

import errno
import json
import os
import tarfile
from pathlib import Path
from typing import Any

import pytest

from dreamcli.errors import EXIT_FAILED, EXIT_IOERR, EXIT_USAGE
from dreamcli.workspace.home import Workspace
from tests.portability.support import S1, S2, S_MISSING, audit, cli, make_workspace
from tests.support.disk import HAS_PROC_FD, full_disk, read_only

needs_proc_fd = pytest.mark.skipif(not HAS_PROC_FD, reason="tests/support/disk.py matches paths by /proc/self/fd")
USER_TEXT = "# My project\n\nMy own notes.\n"


@pytest.fixture
def source_ws(tmp_path: Path) -> Workspace:
    return make_workspace(tmp_path / "ws")


def _one_line(r: Any, code: int, *words: str) -> str:
    assert r.exit_code == code, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "internal error" not in lines[0], r.stderr
    assert all(w in lines[0] for w in words), lines[0]
    return lines[0]


def _not_exported(ws: Workspace) -> None:
    assert not [a for a in audit(ws) if a.get("action") == "export"]


@needs_proc_fd
@pytest.mark.parametrize("existing", [True, False], ids=["existing-file", "new-file"])
def test_into_a_read_only_folder_exits_74_naming_into(source_ws: Workspace, tmp_path: Path, existing: bool,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "project").mkdir()
    target = tmp_path / "project" / "CLAUDE.md"
    if existing:
        target.write_text(USER_TEXT)
    read_only(monkeypatch, tmp_path / "project")
    r = cli(source_ws.root, "export", "-f", "claude-md", "--into", str(target))
    _one_line(r, EXIT_IOERR, f"error: read-only file system (writing {target}): remount it read-write, or pass "
                             "another --into FILE, and run the command again")
    assert "--home" not in r.stderr
    assert [p.name for p in target.parent.iterdir()] == (["CLAUDE.md"] if existing else [])
    if existing:
        assert target.read_text() == USER_TEXT
    _not_exported(source_ws)


@needs_proc_fd
def test_into_a_full_disk_exits_74_and_keeps_the_file(source_ws: Workspace, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "project").mkdir()
    target = tmp_path / "project" / "AGENTS.md"
    target.write_text(USER_TEXT)
    full_disk(monkeypatch, tmp_path / "project")
    r = cli(source_ws.root, "export", "-f", "agents-md", "--into", str(target))
    _one_line(r, EXIT_IOERR, f"error: no space left on device (writing {target}): free some space")
    assert [p.name for p in target.parent.iterdir()] == ["AGENTS.md"] and target.read_text() == USER_TEXT
    _not_exported(source_ws)


def test_into_a_file_that_fails_to_read_is_the_machines_error(source_ws: Workspace, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "CLAUDE.md"
    target.write_text(USER_TEXT)
    real = Path.read_text

    def failing(self: Path, *args: Any, **kwargs: Any) -> str:
        if self == target:
            raise OSError(errno.EIO, os.strerror(errno.EIO), str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", failing)
    r = cli(source_ws.root, "export", "-f", "claude-md", "--into", str(target))
    _one_line(r, EXIT_IOERR, f"error: input/output error ({target}): check the disk")
    assert target.read_bytes() == USER_TEXT.encode()


@pytest.mark.parametrize(("code", "exit_code", "words"), [
    (errno.EIO, EXIT_IOERR, "error: input/output error ({target}): check the disk"),
    (errno.EACCES, EXIT_USAGE, "error: --into {target}: Permission denied"),
])
def test_into_a_file_that_fails_to_stat(source_ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        code: int, exit_code: int, words: str) -> None:
    """Looking at --into FILE fails: the machine's error (EIO) is exit 74 naming the file; any other (no
    permission on the folder) stays the user's, exit 2."""
    target = tmp_path / "CLAUDE.md"
    target.write_text(USER_TEXT)
    real = Path.stat

    def failing(self: Path, *args: Any, **kwargs: Any) -> os.stat_result:
        if self == target:
            raise OSError(code, os.strerror(code), str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "stat", failing)
    r = cli(source_ws.root, "export", "-f", "claude-md", "--into", str(target))
    _one_line(r, exit_code, words.format(target=target))
    assert target.read_bytes() == USER_TEXT.encode()
    _not_exported(source_ws)


@needs_proc_fd
def test_parquet_into_a_read_only_folder_exits_74_naming_o(source_ws: Workspace, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pyarrow", reason="pyarrow is not installed (pip install '.[parquet]')")
    (tmp_path / "ro").mkdir()
    out = tmp_path / "ro" / "lake"
    read_only(monkeypatch, tmp_path / "ro")
    r = cli(source_ws.root, "export", "sessions", "--format", "parquet", str(out))
    _one_line(r, EXIT_IOERR, f"error: read-only file system (writing {out}): remount it read-write, or pass "
                             "another -o PATH, and run the command again")
    assert list((tmp_path / "ro").iterdir()) == []


OUT_NAME = {"json": "x.json", "bundle-dir": "bundle", "bundle-tar": "x.tar.gz"}


def _refuse_session(monkeypatch: pytest.MonkeyPatch, error: type[OSError], code: int) -> list[Path]:
    """Reading source session S1 (--include-sessions) fails with `error` naming its file; the files refused."""
    import dreamcli.portability.select as select

    real = select.iter_events
    refused: list[Path] = []

    def failing(path: Path, *args: Any, **kwargs: Any) -> Any:
        if path.stem.upper() == S1:
            refused.append(path)
            raise error(code, os.strerror(code), str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(select, "iter_events", failing)
    return refused


def _refuse_parquet_sessions(monkeypatch: pytest.MonkeyPatch, error: type[OSError], code: int) -> None:
    import dreamcli.portability.parquet as parquet

    def failing(path: Path, *args: Any, **kwargs: Any) -> Any:
        raise error(code, os.strerror(code), str(path))

    monkeypatch.setattr(parquet, "iter_events", failing)


@pytest.mark.parametrize("fmt", ["json", "bundle-dir", "bundle-tar"])
def test_a_session_the_export_cannot_read_is_the_workspaces_error(source_ws: Workspace, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    """Permission denied reading a source session (--include-sessions): the session file is named, with the
    workspace's advice; not `cannot write the export`. (The tests run as root, which no chmod refuses.)"""
    denied = _refuse_session(monkeypatch, PermissionError, errno.EACCES)
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / OUT_NAME[fmt]
    r = cli(source_ws.root, "export", "-f", fmt.split("-")[0], "-o", str(out), "--include-sessions")
    assert denied
    line = _one_line(r, EXIT_IOERR, f"error: permission denied ({denied[0]}): make the workspace's files readable")
    assert "cannot write" not in line and str(out) not in line
    assert list((tmp_path / "out").iterdir()) == []
    _not_exported(source_ws)


@pytest.mark.parametrize(("fmt", "error", "code"), [
    ("json", IsADirectoryError, errno.EISDIR), ("bundle-tar", NotADirectoryError, errno.ENOTDIR),
])
def test_a_session_changed_while_the_export_runs_is_one_line_exit_1(
        source_ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str, error: type[OSError],
        code: int) -> None:
    """A source session replaced between the listing and the read: not the user's usage, not the machine's,
    not a bug: exit 1, one line naming the file and the remedy, no partial output."""
    gone = _refuse_session(monkeypatch, error, code)
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / OUT_NAME[fmt]
    r = cli(source_ws.root, "export", "-f", fmt.split("-")[0], "-o", str(out), "--include-sessions")
    assert gone
    _one_line(r, EXIT_FAILED, f"error: cannot read {gone[0]}: {os.strerror(code)} (changed while the export ran); "
                              "run the export again")
    assert list((tmp_path / "out").iterdir()) == []
    _not_exported(source_ws)


@pytest.mark.parametrize("fmt", ["json", "bundle-dir", "bundle-tar"])
def test_a_session_removed_while_the_export_runs_is_a_missing_session(
        source_ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    """A source session removed between the listing and the read is one the workspace no longer has: the
    export completes without it (exit 0), naming it in `missing_sessions` (result and manifest) beside those
    it never had, in first-mention order."""
    gone = _refuse_session(monkeypatch, FileNotFoundError, errno.ENOENT)
    out = tmp_path / OUT_NAME[fmt]
    r = cli(source_ws.root, "export", "-f", fmt.split("-")[0], "-o", str(out), "--include-sessions", "--json")
    assert gone and r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["sessions"] == 1 and data["missing_sessions"] == [S1, S_MISSING]
    if fmt == "json":
        assert [s["session_id"] for s in json.loads(out.read_text())["sessions"]] == [S2]
    else:
        if fmt == "bundle-tar":
            with tarfile.open(out) as t:
                raw = t.extractfile("manifest.json").read()  # type: ignore[union-attr]
        else:
            raw = (out / "manifest.json").read_bytes()
        manifest = json.loads(raw)
        assert manifest["sessions"] == [S2] and manifest["missing_sessions"] == [S1, S_MISSING]
    assert [a["sessions"] for a in audit(source_ws) if a.get("action") == "export"] == [1]


def test_a_session_removed_while_parquet_runs_is_one_line_exit_1(source_ws: Workspace, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pyarrow", reason="pyarrow is not installed (pip install '.[parquet]')")
    _refuse_parquet_sessions(monkeypatch, FileNotFoundError, errno.ENOENT)
    out = tmp_path / "out" / "lake"
    r = cli(source_ws.root, "export", "sessions", "--format", "parquet", str(out))
    _one_line(r, EXIT_FAILED, f"error: cannot read {source_ws.root / 'sessions'}", ".jsonl: No such file or "
                              "directory (removed while the export ran); run the export again")
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize("name", ["cli", "dreamcli"])
@pytest.mark.parametrize("fmt", ["json", "bundle-dir", "parquet"])
def test_an_output_named_like_the_workspaces_folder_is_not_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              fmt: str, name: str) -> None:
    """The workspace at P/.dreamcli and -o P/NAME: a session it cannot read is the workspace's error (74), not
    a failed write of -o; only the exact temporary names of -o's writers are -o's."""
    ws = make_workspace(tmp_path / ".dreamcli")
    out = tmp_path / name
    if fmt == "parquet":
        pytest.importorskip("pyarrow", reason="pyarrow is not installed (pip install '.[parquet]')")
        _refuse_parquet_sessions(monkeypatch, PermissionError, errno.EACCES)
        r = cli(ws.root, "export", "sessions", "--format", "parquet", str(out))
    else:
        _refuse_session(monkeypatch, PermissionError, errno.EACCES)
        r = cli(ws.root, "export", "-f", fmt.split("-")[0], "-o", str(out), "--include-sessions")
    line = _one_line(r, EXIT_IOERR, f"error: permission denied ({ws.root / 'sessions'}", ".jsonl): make the "
                                    "workspace's files readable")
    assert "cannot write" not in line and str(out) not in line
    assert sorted(p.name for p in tmp_path.iterdir()) == [".dreamcli"]


def test_a_session_parquet_cannot_read_is_the_workspaces_error(source_ws: Workspace, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pyarrow", reason="pyarrow is not installed (pip install '.[parquet]')")
    _refuse_parquet_sessions(monkeypatch, PermissionError, errno.EACCES)
    out = tmp_path / "out" / "lake"
    r = cli(source_ws.root, "export", "sessions", "--format", "parquet", str(out))
    line = _one_line(r, EXIT_IOERR, f"error: permission denied ({source_ws.root / 'sessions'}", ".jsonl): make the "
                                    "workspace's files readable")
    assert "cannot write" not in line and list((tmp_path / "out").iterdir()) == []


@needs_proc_fd
@pytest.mark.parametrize("fmt", ["json", "bundle-dir", "bundle-tar", "memory-dir", "parquet"])
def test_a_read_only_output_inside_the_workspace_still_names_o(source_ws: Workspace, fmt: str,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """-o is the user's choice wherever it is: a read-only one inside the workspace's folder is not --home's,
    nor is the temporary its writer makes beside it (a bundle's `.bundle.<random>`, a tarball's
    `.x.tar.gz.<random>.tmp`, Parquet's `.tmp-parquet.lake-<pid>`), which the error names."""
    (source_ws.root / "exports").mkdir()
    out = source_ws.root / "exports" / {**OUT_NAME, "memory-dir": "memory", "parquet": "lake"}[fmt]
    read_only(monkeypatch, source_ws.root / "exports")
    if fmt == "parquet":
        pytest.importorskip("pyarrow", reason="pyarrow is not installed (pip install '.[parquet]')")
        r = cli(source_ws.root, "export", "sessions", "--format", "parquet", str(out))
    else:
        given = "memory-dir" if fmt == "memory-dir" else fmt.split("-")[0]
        r = cli(source_ws.root, "export", "-f", given, "-o", str(out))
    _one_line(r, EXIT_IOERR, f"error: read-only file system (writing {out.parent}{os.sep}", out.name,
              "): remount it read-write, or pass another -o PATH")
    assert "--home" not in r.stderr and list((source_ws.root / "exports").iterdir()) == []


def test_a_folder_made_for_o_inside_the_workspace_is_os(source_ws: Workspace,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A folder the export creates for -o, inside the workspace's folder, that it may not create: -o's usage
    error (exit 2), not the workspace's files out of reach."""
    made = source_ws.root / "exports"
    out = made / "sub" / "out.json"
    real = os.mkdir

    def mkdir(path: Any, *args: Any, **kwargs: Any) -> None:
        if os.fspath(path) == str(made):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))
        real(path, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", mkdir)
    _one_line(cli(source_ws.root, "export", "-f", "json", "-o", str(out)), EXIT_USAGE,
              f"error: cannot write the export to {out}: Permission denied ({made})")


def test_an_output_the_user_may_not_write_stays_usage(source_ws: Workspace, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(path: Path, data: bytes, **kw: Any) -> None:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))

    monkeypatch.setattr("dreamcli.portability.export.atomic_write_bytes", refused)
    out = tmp_path / "out.json"
    _one_line(cli(source_ws.root, "export", "-f", "json", "-o", str(out)), EXIT_USAGE,
              f"error: cannot write the export to {out}: Permission denied")


@pytest.mark.parametrize(("name", "mine"), [
    ("x.json", True), ("x.json/inside", True), (".x.json.{pid}.ab12cd_4.tmp", True), (".x.json.ab12cd_4.tmp", True),
    (".x.json.ab12cd_4/playbooks/a.md", True), (".tmp-parquet.x.json-{pid}/date=2026-01-01", True),
    (".parquet-old.x.json-{pid}", True), ("..", True),
    (".x.json", False), (".x.json.d", False), (".x.json.{other}.ab12cd_4.tmp", False), ("x.json.bak", False),
    (".tmp-parquet.x.json-{other}", False), (".x.json.ab12cd_4.tmp.d", False), (".x.jsonab12cd_4.tmp", False),
])
def test_the_outputs_own_names_are_only_those_its_writers_make(tmp_path: Path, name: str, mine: bool) -> None:
    """`of_output`: the output, a folder made for it, and the exact temporary names its writers give beside it
    (this process's pid); a sibling whose name merely holds the output's is not the output's."""
    from dreamcli.portability.failures import of_output

    out = tmp_path / "d" / "x.json"
    path = Path(os.path.abspath(out.parent / name.format(pid=os.getpid(), other=os.getpid() + 1)))
    assert of_output(path, out) is mine


@pytest.mark.parametrize(("name", "shown"), [
    (".x.json.ab12cd_4/playbooks/a.md", "x.json/playbooks/a.md"), (".x.json.ab12cd_4.tmp", "x.json"),
    (".x.json.{pid}.ab12cd_4.tmp", "x.json"), (".tmp-parquet.x.json-{pid}/date=1", "x.json/date=1"),
    ("x.json/a", "x.json/a"), (".x.json.d", ".x.json.d"), ("other", "other"), ("..", ".."),
    ("", ""),  # the folder made for -o (`-o /ro/new/x.json`): itself
])
def test_a_file_of_an_outputs_temporary_is_named_as_the_file_it_becomes(tmp_path: Path, name: str,
                                                                         shown: str) -> None:
    """`as_output`: what a storage error names, as the user knows it (not `.x.json.ab12cd_4/...`)."""
    from dreamcli.portability.failures import as_output

    out = tmp_path / "d" / "x.json"
    path = Path(os.path.abspath(out.parent / name.format(pid=os.getpid())))
    assert as_output(path, out) == Path(os.path.abspath(out.parent / shown))
