"""Bundle member paths the workspace's file system cannot hold, or too deep to walk, are refused before anything
is written (exit 2, one line); and a deep tree left in `state/import-staging/` (by an older dreamcli, or a kill)
is swept by the next command instead of ending every later `sessions import` and `doctor` in a RecursionError."""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from dreamcli.doctor.home import check_permissions
from dreamcli.workspace.deeptree import remove_tree, walk
from dreamcli.workspace.home import Workspace
from tests.portability.support import cli, destination, exported, refused
from tests.support.transcripts import claude_transcript, utc

DEEP = 2000  # past Python's recursion limit, and past PATH_MAX (4096 bytes) once under a workspace


def plant_deep(root: Path, depth: int = DEEP) -> None:
    """`root/d/d/…/d/x.md`, `depth` folders deep, made one level at a time relative to an open folder (a path
    that long cannot be named whole)."""
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(depth):
            os.mkdir("d", 0o700, dir_fd=fd)
            child = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = child
        os.close(os.open("x.md", os.O_CREAT | os.O_WRONLY, 0o600, dir_fd=fd))
    finally:
        os.close(fd)


def tarball(tmp_path: Path, bundle_dir: Path, *extra: str) -> Path:
    """The exported bundle as a tarball, with a 3-byte member of each name in `extra` first."""
    out = tmp_path / "bad.tar.gz"
    with tarfile.open(out, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        for name in extra:
            info = tarfile.TarInfo(name)
            info.size = 3
            tar.addfile(info, io.BytesIO(b"abc"))
        for path in sorted(p for p in bundle_dir.rglob("*") if p.is_file()):
            tar.add(path, arcname=path.relative_to(bundle_dir).as_posix())
    return out


@pytest.fixture(autouse=True)
def _removed_after(tmp_path: Path) -> Iterator[None]:
    """Each test's folder removed at its end: pytest's own clean-up of old ones (shutil.rmtree) would end in a
    RecursionError on a deep tree left there."""
    yield
    remove_tree(tmp_path)


@pytest.fixture
def bundle_dir(tmp_path: Path) -> Path:
    return exported(tmp_path)


@pytest.fixture
def dest(tmp_path: Path) -> Workspace:
    return destination(tmp_path)


@pytest.mark.parametrize(("extra", "words"), [
    (["playbooks/" + "d/" * DEEP + "x.md"], ["2002 levels deep", "at most 16", "characters)"]),
    (["playbooks/" + "a" * 300 + ".md"], ["name too long", "255 bytes"]),
    (["sessions/2026/03/01/" + "é" * 200 + ".jsonl"], ["name too long"]),
    (["playbooks/."], ["'playbooks/.'", "'.' part"]),
    (["playbooks//x.md"], ["'playbooks//x.md'", "empty"]),
    (["playbooks"], ["'playbooks' is both a file and a folder"]),
    (["zz/a.md", "zz"], ["'zz' is both a file and a folder"]),
], ids=["deep", "long-name", "long-utf8-name", "dot-part", "empty-part", "file-then-folder", "folder-then-file"])
def test_member_path_past_the_bounds_is_refused_before_anything_is_written(
        dest: Workspace, bundle_dir: Path, tmp_path: Path, extra: list[str], words: list[str]) -> None:
    line = refused(dest, tarball(tmp_path, bundle_dir, *extra), *words)  # exit 2, no staging left
    assert len(line) < 300  # a 4,000-character name is cut in the message


def test_a_leading_dot_slash_is_still_read(dest: Workspace, bundle_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "dotted.tar.gz"
    with tarfile.open(out, "w:gz") as tar:
        for path in sorted(p for p in bundle_dir.rglob("*") if p.is_file()):
            tar.add(path, arcname="./" + path.relative_to(bundle_dir).as_posix())
    r = cli(dest.root, "import", str(out))
    assert r.exit_code == 0, r.output
    assert (dest.playbooks_dir / "ops.md").is_file()


def test_a_bundle_directory_nested_deep_is_refused(dest: Workspace, bundle_dir: Path) -> None:
    plant_deep(bundle_dir / "playbooks")
    refused(dest, bundle_dir, "16 folders deep")


def test_a_deep_tree_left_in_staging_is_swept_and_sessions_import_and_doctor_work(tmp_path: Path) -> None:
    src = tmp_path / "projects"
    claude_transcript(src / "-p" / "0001-aaaa.jsonl", session_id="0001-aaaa", start=utc(2026, 4, 1, 9))
    home = tmp_path / "ws"
    assert cli(home, "init").exit_code == 0
    ws = Workspace(root=home, source="option")
    left = ws.state_dir / "import-staging" / "01M99QPWYHS3DQ979J7WJ6CQE9-999999999"  # a pid that never ran
    plant_deep(left / "bundle")
    os.chmod(ws.state_dir / "import-staging", 0o700)
    for d in (left, left / "bundle"):
        os.chmod(d, 0o700)
    assert check_permissions(home)[0].status == "ok"  # doctor walks it without recursing
    r = cli(home, "sessions", "import", "claude-code", str(src))
    assert r.exit_code == 0, r.output
    assert "1 imported" in r.output
    assert not (ws.state_dir / "import-staging").exists()


def test_every_command_survives_a_due_sweep_over_a_deep_tree(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    assert cli(home, "init").exit_code == 0
    ws = Workspace(root=home, source="option")
    plant_deep(ws.state_dir / "import-staging" / "01M99QPWYHS3DQ979J7WJ6CQE9-999999999" / "bundle")
    (ws.state_dir / "live" / ".swept").rmdir()  # a full sweep is due (it walks state/ for temp files)
    r = cli(home, "sessions", "list")
    assert r.exit_code == 0, r.output
    assert not (ws.state_dir / "import-staging").exists()


def test_remove_tree_and_walk_reach_past_the_path_limit(tmp_path: Path) -> None:
    plant_deep(tmp_path / "t", 3000)
    (tmp_path / "outside").write_text("kept")
    os.symlink(tmp_path / "outside", tmp_path / "t" / "link")
    folders = sum(1 for _ in walk(tmp_path / "t"))
    assert 1000 < folders < 3000  # the folders a path can still name: no RecursionError
    assert remove_tree(tmp_path / "t")
    assert not (tmp_path / "t").exists()
    assert (tmp_path / "outside").read_text() == "kept"
