"""`dreamcli sessions reindex` on a full disk is the machine's error: exit 74 and one line naming the index
(state/sessions-index.sqlite), not `internal error: OperationalError: database or disk is full`. The disk is a
real small tmpfs (tests/support/mounts.py)."""

from __future__ import annotations

import errno
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.errors import EXIT_IOERR, sqlite_os_error, storage_error
from dreamcli.store.index import index_path
from dreamcli.testing.synthetic import GenConfig, generate
from dreamcli.workspace.home import Workspace
from tests.support.mounts import fill, tmpfs


def test_reindex_on_a_full_disk_exits_74_naming_the_index(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "mnt", "size=2m") as mnt:
        ws = Workspace(root=mnt / "ws", source="option")
        ws.ensure()
        generate(ws, GenConfig(sessions=20, seed=3))
        fill(mnt)
        r = CliRunner().invoke(app, ["--home", str(ws.root), "sessions", "reindex"], catch_exceptions=False)
    assert r.exit_code == EXIT_IOERR, r.output
    [line] = r.stderr.strip().splitlines()
    assert line.startswith(f"error: no space left on device (writing {index_path(ws)}): free some space"), line


def test_a_read_only_database_is_the_machine_too(tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite"
    with closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE t (a)")
    with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as db, \
            pytest.raises(sqlite3.OperationalError) as raised:
        db.execute("INSERT INTO t VALUES (1)")
    os_error = sqlite_os_error(raised.value, path)
    assert os_error is not None and os_error.errno == errno.EACCES and os_error.filename == str(path)
    stored = storage_error(os_error, workspace=tmp_path)
    assert stored is not None and str(stored).startswith(f"permission denied ({path}): ")
    assert sqlite_os_error(sqlite3.OperationalError("no such table: t"), path) is None  # a bug stays one
