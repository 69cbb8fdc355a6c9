"""`dreamcli import BUNDLE` into a workspace whose disk is full is the machine's error (exit 74), naming the file of
the workspace it could not write: not the bundle it reads (on another disk, with room), and not `not a readable
bundle` (exit 2) for a good tarball. The disk is a real small tmpfs (tests/support/mounts.py)."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from dreamcli.errors import EXIT_IOERR
from dreamcli.portability import export_playbooks
from dreamcli.portability.bundle_io import copy_file, copy_tree
from dreamcli.workspace.home import Workspace
from tests.portability.support import audit, cli, destination, exported
from tests.support.mounts import fill, tmpfs


@pytest.mark.parametrize("kind", ["dir", "tarball"])
def test_a_full_workspace_disk_names_the_workspace_file(tmp_path: Path, kind: str) -> None:
    bundle = exported(tmp_path)
    if kind == "tarball":
        export_playbooks(Workspace(root=tmp_path / "src", source="option"), output=str(tmp_path / "b.tar.gz"))
        bundle = tmp_path / "b.tar.gz"
    with tmpfs(tmp_path / "mnt", "size=512k") as mnt:
        dest = destination(mnt)
        fill(mnt)
        r = cli(dest.root, "import", str(bundle))
        left = sorted(p.name for p in dest.playbooks_dir.iterdir()) if dest.playbooks_dir.exists() else []
        records = audit(dest)
    assert r.exit_code == EXIT_IOERR, r.output
    [line] = r.stderr.strip().splitlines()
    staging = f"{dest.state_dir / 'import-staging'}/"
    assert line.startswith(f"error: no space left on device (writing {staging}"), line
    assert str(bundle) not in line and "not a readable bundle" not in line
    assert left == [] and records == []  # nothing went live


def test_copies_name_the_file_they_could_not_write(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "v1.md").write_bytes(b"x" * 200_000)
    (src / "sub" / "v2.md").write_bytes(b"y" * 200_000)
    with tmpfs(tmp_path / "mnt", "size=256k") as mnt:
        with pytest.raises(OSError) as one:
            copy_file(src / "v1.md", mnt / "a.md")
            copy_file(src / "v1.md", mnt / "b.md")
        (mnt / "a.md").unlink()
        with pytest.raises(OSError) as tree:  # shutil.copytree says shutil.Error, with no errno
            copy_tree(src, mnt / "t")
    assert one.value.errno == errno.ENOSPC and one.value.filename == str(mnt / "b.md")
    assert tree.value.errno == errno.ENOSPC and tree.value.filename == str(mnt / "t" / "v1.md")
