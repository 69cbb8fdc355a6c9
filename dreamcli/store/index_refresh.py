"""Bringing the session index up to date with the files: a day directory whose modification time changed
since the last refresh is re-listed (new and removed files), and rows still `incomplete` (or unreadable)
are read again when their file changed. A refresh costs one stat per day directory plus one per running
session."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from dreamcli.sessions.summary import summarize
from dreamcli.store.index_schema import COLUMNS, HEAD_FIELDS, listing_head, to_row
from dreamcli.workspace.home import Workspace

UNREADABLE = "unreadable"  # the status of an unlistable row whose file could not be opened
SETTLE_NS = 2_000_000_000  # a directory modified this recently is re-listed next time too (mtime granularity)


def scan_dir(path: Path, *, dirs: bool) -> list[os.DirEntry[str]]:
    """The entries of one level of the sessions tree as the index names them, in name order: its
    directories, or its session files; hidden ones left out, an unreadable directory as empty."""
    try:
        return sorted((e for e in os.scandir(path) if not e.name.startswith(".")
                       and (e.is_dir() if dirs else e.name.endswith(".jsonl") and e.is_file())),
                      key=lambda e: e.name)
    except OSError:
        return []


def refresh(ws: Workspace, db: sqlite3.Connection, *, full: bool = False) -> int:
    """Bring the index up to date with the files; returns the rows written or deleted."""
    changed, seen_days, now = 0, set[str](), time.time_ns()
    known_days = dict(db.execute("SELECT day, mtime_ns FROM days"))
    with db:
        for y in scan_dir(ws.sessions_dir, dirs=True):
            for m in scan_dir(Path(y.path), dirs=True):
                for d in scan_dir(Path(m.path), dirs=True):
                    day = f"{y.name}/{m.name}/{d.name}"
                    seen_days.add(day)
                    mtime = d.stat().st_mtime_ns
                    if not full and known_days.get(day) == mtime:
                        continue
                    changed += _refresh_day(db, day, Path(d.path))
                    db.execute("INSERT OR REPLACE INTO days VALUES (?, ?)",
                               (day, mtime if now - mtime > SETTLE_NS else -1))
        for day in set(known_days) - seen_days:
            changed += db.execute("DELETE FROM sessions WHERE day = ?", (day,)).rowcount
            db.execute("DELETE FROM days WHERE day = ?", (day,))
        for rel, path, size, mtime, status in db.execute(
                "SELECT rel, path, size, mtime_ns, status FROM sessions WHERE status IN ('incomplete', ?)",
                (UNREADABLE,)).fetchall():
            try:
                st = os.stat(path)
            except OSError:
                continue
            # a file that could not be opened is tried again: a chmod changes neither its size nor its mtime
            if (st.st_size, st.st_mtime_ns) != (size, mtime) or (status == UNREADABLE and _readable(path)):
                changed += upsert(db, rel, Path(path), st)
    return changed


def _refresh_day(db: sqlite3.Connection, day: str, folder: Path) -> int:
    have = {rel: (size, mtime) for rel, size, mtime in
            db.execute("SELECT rel, size, mtime_ns FROM sessions WHERE day = ?", (day,))}
    changed = 0
    present = set()
    for e in scan_dir(folder, dirs=False):
        rel = f"{day}/{e.name[:-6]}"
        present.add(rel)
        st = e.stat()
        if have.get(rel) != (st.st_size, st.st_mtime_ns):
            changed += upsert(db, rel, Path(e.path), st)
    for rel in set(have) - present:
        changed += db.execute("DELETE FROM sessions WHERE rel = ?", (rel,)).rowcount
    return changed


def upsert(db: sqlite3.Connection, rel: str, path: Path, st: os.stat_result) -> int:
    """Write the row of one session file (`rel` as `refresh` names it) from its summary; returns 1."""
    s = summarize(path)
    if s is None:  # not a readable session: index it as unlistable so it is not re-read until it changes;
        # one that cannot be opened (no permission) as `unreadable`, tried again at each refresh
        status = None if _readable(path) else UNREADABLE
        db.execute("INSERT OR REPLACE INTO sessions (rel, day, path, size, mtime_ns, listable, status) "
                   "VALUES (?, ?, ?, ?, ?, 0, ?)",
                   (rel, rel.rsplit("/", 1)[0], str(path), st.st_size, st.st_mtime_ns, status))
        return 1
    db.execute(f"INSERT OR REPLACE INTO sessions ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
               to_row(rel, s, st.st_size, st.st_mtime_ns))
    values = db.execute(f"SELECT {', '.join(HEAD_FIELDS)} FROM sessions WHERE rel = ?", (rel,)).fetchone()
    db.execute("UPDATE sessions SET head = ? WHERE rel = ?", (listing_head(values), rel))  # as read back
    return 1


def _readable(path: str | Path) -> bool:
    from dreamcli.sessions.reader import cannot_read  # only for files that do not list: the codec stays unloaded

    return cannot_read(path) is None
