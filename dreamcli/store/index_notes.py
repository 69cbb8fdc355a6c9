"""Noting in the session index the session files just written (a sealed run, imported transcripts), so
the next listing neither re-lists their day directory nor re-reads them. A cache's upkeep: never raises."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from contextlib import closing, suppress
from pathlib import Path

from dreamcli.store.index_db import ensure_schema, index_path
from dreamcli.store.index_refresh import SETTLE_NS, scan_dir, upsert
from dreamcli.timeutil import now_rfc3339
from dreamcli.workspace.fsutil import append_line
from dreamcli.workspace.home import Workspace

NOTE_TIMEOUT_S = 1.0  # how long note_session waits for a busy index before leaving the row to the next refresh
NOTE_UNKNOWN_LIMIT = 16  # other new files of the day a note indexes too; beyond that the refresh re-lists the day


def note_session(ws: Workspace, path: Path) -> None:
    """Upsert the index row of one session file just written (a sealed run, an imported transcript), and mark
    its day directory current when every file in it has a row, so the next listing neither re-lists the day
    nor re-reads the file. Cheap: the file's first and last lines, one listing of the day directory's names
    and one small transaction. Without an index file it does nothing (listings scan; `init` and `sessions
    reindex` create the index). Never raises: a busy, unreadable or corrupt index is logged to
    state/logs/index.log and skipped, and the next listing's refresh catches up from the files."""
    note_sessions(ws, [path])


def note_sessions(ws: Workspace, paths: Iterable[Path]) -> None:
    """`note_session` for many files at once (a batch of imports): one connection, one transaction, one
    listing per day directory. Never raises."""
    paths = list(paths)
    try:
        if not paths or not index_path(ws).exists():
            return
        db = sqlite3.connect(index_path(ws), timeout=NOTE_TIMEOUT_S)
        with closing(db):
            ensure_schema(db, ws)
            _note(ws, db, paths)
    except Exception as e:  # the index is a cache: never fail a run or an import over it
        _log(ws, f"{len(paths)} session(s), e.g. {paths[0]}: {type(e).__name__}: {e}")


def _note(ws: Workspace, db: sqlite3.Connection, paths: list[Path]) -> None:
    days: dict[str, list[str]] = {}
    for path in paths:
        rel = _rel(ws, Path(path))
        if rel is not None:
            days.setdefault(rel.rsplit("/", 1)[0], []).append(rel)
    with db:
        for day, rels in days.items():
            folder = ws.sessions_dir / day
            for rel in rels:
                path = folder / f"{rel.rsplit('/', 1)[1]}.jsonl"
                try:
                    st = path.stat()
                except FileNotFoundError:
                    db.execute("DELETE FROM sessions WHERE rel = ?", (rel,))
                    continue
                upsert(db, rel, path, st)
            _settle_day(db, day, folder)


def _rel(ws: Workspace, path: Path) -> str | None:
    """`YYYY/MM/DD/<stem>` of a file in the sessions tree, as `refresh` names its row; None elsewhere."""
    if not path.name.endswith(".jsonl") or path.name.startswith("."):
        return None
    for root, p in ((ws.sessions_dir, path), (ws.sessions_dir.resolve(), path.resolve())):
        try:
            parts = p.relative_to(root).parts
        except ValueError:
            continue
        if len(parts) == 4 and not any(x.startswith(".") for x in parts[:3]):
            return "/".join((*parts[:3], parts[3][:-6]))
        return None
    return None


def _settle_day(db: sqlite3.Connection, day: str, folder: Path) -> None:
    """Record the day directory's modification time when its rows match its files (each file has a row; rows
    of removed files dropped), so the next refresh skips it; else leave it for the refresh to re-list."""
    try:
        before = folder.stat().st_mtime_ns
    except FileNotFoundError:  # the day's last file was removed with its directory: the refresh drops the day
        return
    present = {f"{day}/{e.name[:-6]}": e for e in scan_dir(folder, dirs=False)}
    have = {rel for (rel,) in db.execute("SELECT rel FROM sessions WHERE day = ?", (day,))}
    unknown = sorted(set(present) - have)
    if len(unknown) > NOTE_UNKNOWN_LIMIT:
        return
    for rel in unknown:  # a run still going, or a file an older version wrote: summarised now
        upsert(db, rel, Path(present[rel].path), present[rel].stat())
    for rel in have - set(present):
        db.execute("DELETE FROM sessions WHERE rel = ?", (rel,))
    if folder.stat().st_mtime_ns != before:  # changed while we looked: the refresh re-lists it
        return
    db.execute("INSERT OR REPLACE INTO days VALUES (?, ?)",
               (day, before if time.time_ns() - before > SETTLE_NS else -1))


def _log(ws: Workspace, message: str) -> None:
    with suppress(OSError):
        append_line(ws.logs_dir / "index.log", f"{now_rfc3339()} note_session skipped: {message}")
