"""The session index: one SQLite row per session file (its listing summary), in state/sessions-index.sqlite.

`sessions list` and dream selection read it instead of opening every file. It is updated on write: a run's
writer notes its session when it is sealed (`note_session`, through dreamcli.store.sink), and imports note
what they wrote, so the day directory's row is current and a listing does not re-list it. It is also kept
fresh at each use, for files written by older versions, by hand or by a run killed before its end: a day
directory whose modification time changed since the last refresh is re-listed (new and removed files), and
rows still `incomplete` are re-read when their file grew (a run that has since ended). So a refresh costs
one stat per day directory plus one per running session, and a listing is one indexed query. `dreamcli
sessions reindex` rebuilds it from the files; without an index file (a workspace older than the index)
listings scan the files as before.

This module holds the entry points other packages use; the work is split by step: opening the index
(index_db), its table and rows (index_schema), bringing it up to date (index_refresh), reading it with a
filter (index_query) and noting the sessions just written (index_notes)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

from dreamcli.errors import UsageError, sqlite_os_error
from dreamcli.sessions.summary import SessionFilter, SessionSummary, list_sessions
from dreamcli.store.index_db import connect, index_path
from dreamcli.store.index_notes import note_session, note_sessions
from dreamcli.store.index_query import query, session_files, transcript_holders, unlisted
from dreamcli.store.index_refresh import refresh
from dreamcli.workspace.home import Workspace

# the names callers import from here, whichever step module holds them
__all__ = ["connect", "fresh_connection", "index_path", "list_summaries", "note_session", "note_sessions",
           "rebuild", "refresh", "session_files", "transcript_holders", "unlisted"]


def rebuild(ws: Workspace) -> int:
    """`sessions reindex`: drop the index and build it again from the files; returns the sessions indexed."""
    path = index_path(ws)
    for suffix in ("", "-wal", "-shm", "-journal"):
        part = Path(str(path) + suffix)
        if part.is_dir() and not part.is_symlink():  # unlink would fail with IsADirectoryError
            raise UsageError(f"{part}: a directory where the session index belongs; move it away and run "
                             "`dreamcli sessions reindex` again")
        part.unlink(missing_ok=True)
    try:
        db = connect(ws, create=True)
        assert db is not None
        with closing(db):
            refresh(ws, db, full=True)
            return int(db.execute("SELECT COUNT(*) FROM sessions WHERE listable = 1").fetchone()[0])
    except sqlite3.Error as e:  # a full or read-only disk: the machine's one line naming the index (exit 74)
        if (stored := sqlite_os_error(e, path)) is None:
            raise
        raise stored from e


def fresh_connection(ws: Workspace) -> sqlite3.Connection | None:
    """The index, refreshed for files written since; None when there is no usable index."""
    try:
        db = connect(ws)
    except sqlite3.Error:
        return None
    if db is None:
        return None
    try:
        refresh(ws, db)
    except sqlite3.Error:
        db.close()
        return None
    return db


def list_summaries(ws: Workspace, flt: SessionFilter, *, newest_first: bool = True) -> Iterator[SessionSummary]:
    """Matching summaries from the index (refreshed first), or by scanning the files when there is no
    usable index."""
    db = fresh_connection(ws)
    if db is None:
        yield from list_sessions(ws, flt, newest_first=newest_first)
        return
    with closing(db):
        yield from query(db, flt, newest_first=newest_first)
