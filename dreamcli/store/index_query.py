"""Reading the session index: a SessionFilter as SQL (`where_clause`, `query`), and the read-only lookups of
a dream's selection (`session_files`, `transcript_holders`), which never write so --dry-run leaves no trace."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

from dreamcli.sessions.summary import SessionFilter, SessionSummary
from dreamcli.store.index_db import connect, index_path, owned, owner
from dreamcli.store.index_refresh import scan_dir
from dreamcli.store.index_schema import SELECT, from_row
from dreamcli.workspace.home import Workspace


def where_clause(flt: SessionFilter) -> tuple[str, list[object]]:
    """The SQL condition (and its arguments) that narrows the listable rows to those `flt` may match: a
    speed-up only, never stricter than SessionFilter.matches, which every reader applies to the rows it
    gets (it also checks a `since` against the start time as written)."""
    where: list[str] = ["listable = 1"]
    args: list[object] = []
    if flt.status:
        where.append("status = ?")
        args.append(flt.status)
    if flt.task and flt.task.isascii():  # another name may be stored in another Unicode form: `matches` decides
        where.append("task = ?")
        args.append(flt.task)
    if flt.source:
        where.append("source = ?")
        args.append(flt.source)
    if not flt.include_children:
        where.append("(parent_session_id IS NULL OR parent_session_id = '') AND import_parent_source_id IS NULL")
    if flt.since is not None:
        where.append("(started IS NULL OR started_ms >= ?)")
        args.append(int(flt.since.timestamp() * 1000))
    return " AND ".join(where), args


def query(db: sqlite3.Connection, flt: SessionFilter, *, newest_first: bool = True) -> Iterator[SessionSummary]:
    flt.skipped.extend(p for (p,) in db.execute("SELECT path FROM sessions WHERE listable = 0 ORDER BY rel"))
    where, args = where_clause(flt)
    order = "DESC" if newest_first else "ASC"
    sql = f"SELECT {SELECT} FROM sessions s WHERE {where} ORDER BY s.rel {order}"
    for row in db.execute(sql, args):
        s = from_row(row)
        if flt.matches(s):
            yield s


def unlisted(ws: Workspace) -> list[str]:
    """The session files the index holds as unlistable (unreadable, or no readable session.start), in
    file order: what a listing skips. Empty without an index."""
    db = connect(ws)
    if db is None:
        return []
    with closing(db):
        return [p for (p,) in db.execute("SELECT path FROM sessions WHERE listable = 0 ORDER BY rel")]


def session_files(ws: Workspace) -> list[Path] | None:
    """Every session file in id order, reading the index for the day directories it has fresh and listing
    only the others (a dream's selection: reads, never writes, so --dry-run leaves no trace). None
    without a usable index."""
    path = index_path(ws)
    if not path.exists():
        return None
    try:
        with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=30)) as db:
            if not owned(db, owner(ws)):  # listed in another workspace (a copy): its paths are not ours
                return None
            days = dict(db.execute("SELECT day, mtime_ns FROM days"))
            rows: dict[str, list[str]] = {}
            for day, p in db.execute("SELECT day, path FROM sessions ORDER BY rel"):
                rows.setdefault(day, []).append(p)
    except sqlite3.Error:
        return None
    out: list[Path] = []
    for y in scan_dir(ws.sessions_dir, dirs=True):
        for m in scan_dir(Path(y.path), dirs=True):
            for d in scan_dir(Path(m.path), dirs=True):
                day = f"{y.name}/{m.name}/{d.name}"
                if days.get(day) == d.stat().st_mtime_ns:
                    out.extend(Path(p) for p in rows.get(day, []))
                else:  # changed since the last refresh: list the directory itself
                    out.extend(Path(e.path) for e in scan_dir(Path(d.path), dirs=False))
    return out


def transcript_holders(ws: Workspace, keys: Iterable[tuple[str, str]]) -> tuple[dict[str, int], list[Any]] | None:
    """The listed sessions holding one of the transcripts `keys` ((source, import.source_id)), newest first, as
    (rel, session_id, source, parent_session_id, import_source_id, import_parent_source_id), and the day directories
    with the modification time they were listed at (rows of a directory changed since may be missing): read only,
    as `session_files`. None without a usable index."""
    path = index_path(ws)
    if not path.exists():
        return None
    try:
        with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=30)) as db:
            if not owned(db, owner(ws)):
                return None
            days = dict(db.execute("SELECT day, mtime_ns FROM days"))
            rows = [row for source, transcript in set(keys) for row in db.execute(
                "SELECT rel, session_id, source, parent_session_id, import_source_id, import_parent_source_id "
                "FROM sessions WHERE listable = 1 AND source = ? AND import_source_id = ?", (source, transcript))]
    except sqlite3.Error:
        return None
    return days, sorted(rows, reverse=True)
