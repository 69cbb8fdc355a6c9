"""The session index: one SQLite row per session file (its listing summary), in state/sessions-index.sqlite.

`sessions list` and dream selection read it instead of opening every file. It is updated on write: a run's
writer notes its session when it is sealed (`note_session`, through dreamcli.store.sink), and imports note
what they wrote, so the day directory's row is current and a listing does not re-list it. It is also kept
fresh at each use, for files written by older versions, by hand or by a run killed before its end: a day
directory whose modification time changed since the last refresh is re-listed (new and removed files), and
rows still `incomplete` are re-read when their file grew (a run that has since ended). So a refresh costs
one stat per day directory plus one per running session, and a listing is one indexed query. `dreamcli
sessions reindex` rebuilds it from the files; without an index file (a workspace older than the index)
listings scan the files as before."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import closing, suppress
from pathlib import Path
from typing import Any

from dreamcli.errors import UsageError, sqlite_os_error
from dreamcli.sessions.summary import SessionFilter, SessionSummary, list_sessions, summarize
from dreamcli.store.index_schema import (
    COLUMNS,
    HEAD_FIELDS,
    INDEX_VERSION,
    SCHEMA,
    SELECT,
    from_row,
    listing_head,
    to_row,
)
from dreamcli.timeutil import now_rfc3339
from dreamcli.workspace.fsutil import FILE_MODE, append_line, ensure_dir
from dreamcli.workspace.home import Workspace

UNREADABLE = "unreadable"  # the status of an unlistable row whose file could not be opened
SETTLE_NS = 2_000_000_000  # a directory modified this recently is re-listed next time too (mtime granularity)
NOTE_TIMEOUT_S = 1.0  # how long note_session waits for a busy index before leaving the row to the next refresh
NOTE_UNKNOWN_LIMIT = 16  # other new files of the day a note indexes too; beyond that the refresh re-lists the day


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
    owner = _owner(ws)
    if owner is not None and not _owned(db, owner):
        with db:
            db.execute("DELETE FROM sessions")
            db.execute("DELETE FROM days")
            db.execute("INSERT OR REPLACE INTO owner VALUES (0, ?, ?, ?)", owner)


def _owner(ws: Workspace) -> tuple[str, int, int] | None:
    try:
        st = os.stat(ws.root)
    except OSError:
        return None
    # the path as rows hold it (a symlink's, if given so), not resolved: a workspace reached by another path
    # lists its files again, so no row names a path that only another way to it had
    return str(ws.root.absolute()), st.st_dev, st.st_ino  # not normalised: `a/../b` is spelt as rows spell it


def _owned(db: sqlite3.Connection, owner: tuple[str, int, int] | None) -> bool:
    return owner is not None and db.execute("SELECT root, dev, ino FROM owner").fetchone() == owner


def _scandir(path: Path, *, dirs: bool) -> list[os.DirEntry[str]]:
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
        for y in _scandir(ws.sessions_dir, dirs=True):
            for m in _scandir(Path(y.path), dirs=True):
                for d in _scandir(Path(m.path), dirs=True):
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
                changed += _upsert(db, rel, Path(path), st)
    return changed


def _refresh_day(db: sqlite3.Connection, day: str, folder: Path) -> int:
    have = {rel: (size, mtime) for rel, size, mtime in
            db.execute("SELECT rel, size, mtime_ns FROM sessions WHERE day = ?", (day,))}
    changed = 0
    present = set()
    for e in _scandir(folder, dirs=False):
        rel = f"{day}/{e.name[:-6]}"
        present.add(rel)
        st = e.stat()
        if have.get(rel) != (st.st_size, st.st_mtime_ns):
            changed += _upsert(db, rel, Path(e.path), st)
    for rel in set(have) - present:
        changed += db.execute("DELETE FROM sessions WHERE rel = ?", (rel,)).rowcount
    return changed


def _upsert(db: sqlite3.Connection, rel: str, path: Path, st: os.stat_result) -> int:
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


def unlisted(ws: Workspace) -> list[str]:
    """The session files the index holds as unlistable (unreadable, or no readable session.start), in
    file order: what a listing skips. Empty without an index."""
    db = connect(ws)
    if db is None:
        return []
    with closing(db):
        return [p for (p,) in db.execute("SELECT path FROM sessions WHERE listable = 0 ORDER BY rel")]


def where_clause(flt: SessionFilter) -> tuple[str, list[object]]:
    """The SQL condition (and its arguments) of the listable rows `flt` can match (SessionFilter.matches
    also checks a `since` against the start time as written)."""
    where: list[str] = ["listable = 1"]
    args: list[object] = []
    if flt.status:
        where.append("status = ?")
        args.append(flt.status)
    if flt.task:
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



def session_files(ws: Workspace) -> list[Path] | None:
    """Every session file in id order, reading the index for the day directories it has fresh and listing
    only the others (a dream's selection: reads, never writes, so --dry-run leaves no trace). None
    without a usable index."""
    path = index_path(ws)
    if not path.exists():
        return None
    try:
        with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=30)) as db:
            if not _owned(db, _owner(ws)):  # listed in another workspace (a copy): its paths are not ours
                return None
            days = dict(db.execute("SELECT day, mtime_ns FROM days"))
            rows: dict[str, list[str]] = {}
            for day, p in db.execute("SELECT day, path FROM sessions ORDER BY rel"):
                rows.setdefault(day, []).append(p)
    except sqlite3.Error:
        return None
    out: list[Path] = []
    for y in _scandir(ws.sessions_dir, dirs=True):
        for m in _scandir(Path(y.path), dirs=True):
            for d in _scandir(Path(m.path), dirs=True):
                day = f"{y.name}/{m.name}/{d.name}"
                if days.get(day) == d.stat().st_mtime_ns:
                    out.extend(Path(p) for p in rows.get(day, []))
                else:  # changed since the last refresh: list the directory itself
                    out.extend(Path(e.path) for e in _scandir(Path(d.path), dirs=False))
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
            if not _owned(db, _owner(ws)):
                return None
            days = dict(db.execute("SELECT day, mtime_ns FROM days"))
            rows = [row for source, transcript in set(keys) for row in db.execute(
                "SELECT rel, session_id, source, parent_session_id, import_source_id, import_parent_source_id "
                "FROM sessions WHERE listable = 1 AND source = ? AND import_source_id = ?", (source, transcript))]
    except sqlite3.Error:
        return None
    return days, sorted(rows, reverse=True)


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
                _upsert(db, rel, path, st)
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
    present = {f"{day}/{e.name[:-6]}": e for e in _scandir(folder, dirs=False)}
    have = {rel for (rel,) in db.execute("SELECT rel FROM sessions WHERE day = ?", (day,))}
    unknown = sorted(set(present) - have)
    if len(unknown) > NOTE_UNKNOWN_LIMIT:
        return
    for rel in unknown:  # a run still going, or a file an older version wrote: summarised now
        _upsert(db, rel, Path(present[rel].path), present[rel].stat())
    for rel in have - set(present):
        db.execute("DELETE FROM sessions WHERE rel = ?", (rel,))
    if folder.stat().st_mtime_ns != before:  # changed while we looked: the refresh re-lists it
        return
    db.execute("INSERT OR REPLACE INTO days VALUES (?, ?)",
               (day, before if time.time_ns() - before > SETTLE_NS else -1))


def _log(ws: Workspace, message: str) -> None:
    with suppress(OSError):
        append_line(ws.logs_dir / "index.log", f"{now_rfc3339()} note_session skipped: {message}")
