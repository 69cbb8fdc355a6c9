"""Opening the session index: its file, the connection, its tables brought to this version, and the
workspace its rows belong to (rows hold absolute paths, so a copied or moved workspace lists again)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from dreamcli.store.index_schema import INDEX_VERSION, SCHEMA
from dreamcli.workspace.fsutil import FILE_MODE, ensure_dir
from dreamcli.workspace.home import Workspace


def index_path(ws: Workspace) -> Path:
    return ws.state_dir / "sessions-index.sqlite"


def connect(ws: Workspace, *, create: bool = False) -> sqlite3.Connection | None:
    path = index_path(ws)
    if not path.exists():
        if not create:
            return None
        ensure_dir(path.parent)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE))
    db = sqlite3.connect(path, timeout=30)
    try:
        ensure_schema(db, ws)
    except BaseException:  # a full disk, ...: not left open until collected
        db.close()
        raise
    return db


def ensure_schema(db: sqlite3.Connection, ws: Workspace) -> None:
    """The tables, an index of an older version dropped first, and the rows of another workspace (a copy,
    a moved or unpacked one) cleared: the next refresh lists every file again."""
    if db.execute("PRAGMA user_version").fetchone()[0] == INDEX_VERSION:
        db.executescript(SCHEMA)
    else:
        db.executescript(f"BEGIN IMMEDIATE; DROP TABLE IF EXISTS sessions; DROP TABLE IF EXISTS days; "
                         f"DROP TABLE IF EXISTS owner; {SCHEMA} PRAGMA user_version = {INDEX_VERSION}; COMMIT;")
    me = owner(ws)
    if me is not None and not owned(db, me):
        with db:
            db.execute("DELETE FROM sessions")
            db.execute("DELETE FROM days")
            db.execute("INSERT OR REPLACE INTO owner VALUES (0, ?, ?, ?)", me)


def owner(ws: Workspace) -> tuple[str, int, int] | None:
    try:
        st = os.stat(ws.root)
    except OSError:
        return None
    # the path as rows hold it (a symlink's, if given so), not resolved: a workspace reached by another path
    # lists its files again, so no row names a path that only another way to it had
    return str(ws.root.absolute()), st.st_dev, st.st_ino  # not normalised: `a/../b` is spelt as rows spell it


def owned(db: sqlite3.Connection, me: tuple[str, int, int] | None) -> bool:
    return me is not None and db.execute("SELECT root, dev, ino FROM owner").fetchone() == me
