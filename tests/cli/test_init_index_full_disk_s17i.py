"""`dreamcli init` on a disk that fills while it creates the session index is the machine's error: exit 74 and
one line naming the index (state/sessions-index.sqlite), as for the workspace's folders and config, not
`internal error: OperationalError: database or disk is full`. SQLite's own SQLITE_FULL is raised for real, by
a connection whose database may hold one page (PRAGMA max_page_count)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.errors import EXIT_FAILED, EXIT_IOERR
from dreamcli.store import index
from dreamcli.workspace.home import LOCAL_DIR_NAME, Workspace


def _one_page_connect(monkeypatch: pytest.MonkeyPatch) -> None:
    real = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        db = real(*args, **kwargs)
        db.execute("PRAGMA max_page_count = 1")  # the schema needs more: "database or disk is full"
        return db

    monkeypatch.setattr(index.sqlite3, "connect", connect)


def test_a_full_disk_at_the_index_exits_74_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _one_page_connect(monkeypatch)
    r = CliRunner().invoke(app, ["init", str(tmp_path / "p")], catch_exceptions=False)
    assert r.exit_code == EXIT_IOERR, r.output
    path = index.index_path(Workspace(root=tmp_path / "p" / LOCAL_DIR_NAME, source="local"))
    [line] = r.stderr.strip().splitlines()
    assert line.startswith(f"error: no space left on device (writing {path}): free some space"), line
    assert "internal error" not in r.output


def test_another_sqlite_error_is_still_a_bug(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def connect(ws: Workspace, *, create: bool = False) -> sqlite3.Connection | None:
        raise sqlite3.DatabaseError("file is not a database")  # not the machine: the CLI's internal error

    monkeypatch.setattr(index, "connect", connect)
    r = CliRunner().invoke(app, ["init", str(tmp_path / "p")], catch_exceptions=False)
    assert r.exit_code == EXIT_FAILED, r.output
    assert "internal error: DatabaseError: file is not a database" in r.stderr
