"""`dreamcli export -o FILE` onto a full disk is the machine's error, not bad usage (docs/architecture.md, "Exit
codes"): exit 74 and one line naming the file, as every command's full disk reads. Only a bad -o is usage (2).

The disk is a real small tmpfs (tests/support/mounts.py), filled before the export starts."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from dreamcli.errors import EXIT_IOERR, EXIT_USAGE, StorageError, UsageError
from dreamcli.portability import export_playbooks
from dreamcli.workspace.home import Workspace
from tests.portability.support import audit, cli, make_workspace
from tests.support.mounts import fill, tmpfs


@pytest.fixture
def source_ws(tmp_path: Path) -> Workspace:
    return make_workspace(tmp_path / "ws", sessions=False)


@pytest.mark.parametrize(("fmt", "name"), [("json", "out.json"), ("claude-md", "CLAUDE.md"),
                                           ("bundle", "out.tar.gz")])
def test_a_full_disk_exits_74_naming_the_file(source_ws: Workspace, tmp_path: Path, fmt: str, name: str) -> None:
    with tmpfs(tmp_path / "mnt", "size=256k") as mnt:
        fill(mnt)
        r = cli(source_ws.root, "export", "-f", fmt, "-o", str(mnt / name))
        left = sorted(p.name for p in mnt.iterdir())
    assert r.exit_code == EXIT_IOERR, r.output
    [line] = r.stderr.strip().splitlines()
    assert line.startswith(f"error: no space left on device (writing {mnt / name}): free some space"), line
    assert left == ["filler"]  # nothing half-written is left beside it
    assert not [a for a in audit(source_ws) if a.get("action") == "export"]  # not audited as exported


def test_a_full_stdout_is_the_machine_too(source_ws: Workspace) -> None:
    class Full:
        def write(self, data: bytes) -> int:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def flush(self) -> None:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(StorageError, match=r"^no space left on device \(writing stdout\): free some space"):
        export_playbooks(source_ws, fmt="json", output="-", stdout=Full())  # type: ignore[arg-type]


def test_a_bad_path_stays_usage(source_ws: Workspace, tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    with pytest.raises(UsageError) as raised:
        export_playbooks(source_ws, fmt="json", output=str(tmp_path / "afile" / "out.json"))
    assert raised.value.exit_code == EXIT_USAGE
    assert str(tmp_path / "afile" / "out.json") in str(raised.value) and "Not a directory" in str(raised.value)
