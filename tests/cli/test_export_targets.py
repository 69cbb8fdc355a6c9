"""`dreamcli export` output targets: what exists at -o and is not a regular file (a FIFO, a symlink, a
device) is refused, never replaced by a file; a closed stdout and a target the export cannot write are
one-line errors with exit 2, a full disk or stdout one with exit 74, never internal errors. A read-only place
at -o is exit 74 too, its advice naming -o (the output is at fault, not the workspace)."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dreamcli.errors import EXIT_IOERR, EXIT_USAGE, StorageError, UsageError
from dreamcli.portability import export_playbooks
from dreamcli.workspace.home import Workspace
from tests.portability.support import cli, make_workspace
from tests.support.disk import HAS_PROC_FD, read_only


@pytest.fixture
def source_ws(tmp_path: Path) -> Workspace:
    return make_workspace(tmp_path / "ws", sessions=False)


def _one_line_error(r: Any, *words: str, code: int = EXIT_USAGE) -> None:
    assert r.exit_code == code, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "internal error" not in lines[0], r.stderr
    assert all(w in lines[0] for w in words), lines[0]


@pytest.mark.parametrize("fmt", ["json", "claude-md", "bundle"])
def test_a_fifo_is_refused_even_with_force(source_ws: Workspace, tmp_path: Path, fmt: str) -> None:
    fifo = tmp_path / ("fifo.tar.gz" if fmt == "bundle" else "fifo")
    os.mkfifo(fifo)
    r = cli(source_ws.root, "export", "-f", fmt, "-o", str(fifo), "--force")
    _one_line_error(r, "not a regular file")
    assert fifo.is_fifo()


@pytest.mark.parametrize("name", ["link.json", "link.tar.gz"])
def test_a_symlink_is_refused_and_kept(source_ws: Workspace, tmp_path: Path, name: str) -> None:
    real = tmp_path / "real"
    real.write_text("mine\n")
    link = tmp_path / name
    link.symlink_to(real)
    r = cli(source_ws.root, "export", "-f", "json" if name.endswith(".json") else "bundle", "-o", str(link),
            "--force")
    _one_line_error(r, "symbolic link")
    assert link.is_symlink() and real.read_text() == "mine\n"


@pytest.mark.parametrize("fmt", ["bundle", "memory-dir"])
def test_a_symlink_to_an_empty_directory_is_refused(source_ws: Workspace, tmp_path: Path, fmt: str) -> None:
    (tmp_path / "emptyd").mkdir()
    link = tmp_path / "linkd"
    link.symlink_to(tmp_path / "emptyd")
    r = cli(source_ws.root, "export", "-f", fmt, "-o", str(link))
    _one_line_error(r, "symbolic link")
    assert link.is_symlink() and not any((tmp_path / "emptyd").iterdir())
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left


def test_a_file_in_the_path_is_a_one_line_error(source_ws: Workspace, tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    _one_line_error(cli(source_ws.root, "export", "-f", "json", "-o", str(tmp_path / "afile" / "x.json")))
    _one_line_error(cli(source_ws.root, "export", "-o", str(tmp_path / "afile" / "bundle")))


def test_parquet_into_an_existing_file_is_refused(source_ws: Workspace, tmp_path: Path) -> None:
    pytest.importorskip("pyarrow", reason="pyarrow is not installed (pip install '.[parquet]')")
    afile = tmp_path / "afile"
    afile.write_text("x")
    for extra in ([], ["--force"]):
        r = cli(source_ws.root, "export", "sessions", "--format", "parquet", str(afile), *extra)
        _one_line_error(r, "not a directory")
    assert afile.read_text() == "x"


def test_a_plain_tar_name_is_refused(source_ws: Workspace, tmp_path: Path) -> None:
    r = cli(source_ws.root, "export", "-o", str(tmp_path / "x.tar"))
    _one_line_error(r, ".tar.gz")
    assert list(tmp_path.iterdir()) == [tmp_path / "ws"]
    assert cli(source_ws.root, "export", "-o", str(tmp_path / "x.TGZ")).exit_code == 0


class _Full:
    """A stream whose writes fail as on a full disk."""

    def write(self, data: bytes) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def flush(self) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("fmt", ["json", "bundle"])
def test_a_full_stdout_is_the_machines_error(source_ws: Workspace, fmt: str) -> None:
    with pytest.raises(StorageError, match=r"no space left on device \(writing stdout\)"):
        export_playbooks(source_ws, fmt=fmt, output="-", stdout=_Full())  # type: ignore[arg-type]


def test_a_full_disk_is_a_one_line_error(source_ws: Workspace, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    def full(path: Path, data: bytes, **kw: Any) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr("dreamcli.portability.export.atomic_write_bytes", full)
    r = cli(source_ws.root, "export", "-f", "json", "-o", str(tmp_path / "out.json"))
    _one_line_error(r, "no space left on device", str(tmp_path / "out.json"), code=EXIT_IOERR)


def test_a_closed_stdout_is_a_one_line_error(source_ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdout", None)
    with pytest.raises(UsageError, match="stdout is closed"):
        export_playbooks(source_ws, fmt="json", output="-")
    r = subprocess.run([sys.executable, "-m", "dreamcli", "--home", str(source_ws.root), "export", "-f", "json",
                        "-o", "-"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60,
                       preexec_fn=lambda: os.close(1))
    # the start-up check refuses before export's own: every command says the same with stdout closed
    assert r.returncode == 2 and r.stderr.decode().strip() == ("error: stdout is closed; redirect it to a file, "
                                                               "or to /dev/null to discard the output")


@pytest.mark.skipif(not HAS_PROC_FD, reason="tests/support/disk.py matches paths by /proc/self/fd")
@pytest.mark.parametrize(("fmt", "name"), [("json", "out"), ("bundle", "out.tar.gz"), ("bundle", "out"),
                                           ("memory-dir", "out")])
def test_a_read_only_output_names_o_not_home(source_ws: Workspace, tmp_path: Path, fmt: str, name: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The file named is the output, not the temporary it is written under (`.out.x1y2z3ab`)."""
    (tmp_path / "ro").mkdir()
    read_only(monkeypatch, tmp_path / "ro")
    out = tmp_path / "ro" / name
    r = cli(source_ws.root, "export", "-f", fmt, "-o", str(out))
    _one_line_error(r, f"read-only file system (writing {out}):",
                    "remount it read-write, or pass another -o PATH, and run the command again", code=EXIT_IOERR)
    assert "--home" not in r.stderr and list((tmp_path / "ro").iterdir()) == []


@pytest.mark.skipif(not HAS_PROC_FD, reason="tests/support/disk.py matches paths by /proc/self/fd")
def test_a_read_only_audit_trail_still_names_home(source_ws: Workspace, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The export appends to the workspace's audit trail: that file's advice is the workspace's, --home."""
    read_only(monkeypatch, source_ws.audit_path)
    r = cli(source_ws.root, "export", "-f", "json", "-o", str(tmp_path / "out.json"))
    _one_line_error(r, f"read-only file system (writing {source_ws.audit_path}",
                    "remount it read-write, or pass --home DIR, and run the command again", code=EXIT_IOERR)
