"""The latest grade of each session, for listings: state/grades-index.sqlite, one row per graded session.

grades/grades.jsonl stays the truth (append-only, docs/grades.md). This index caches its latest record
per session (in append order, any outcome spec: what `store.latest_by_session` returns), keeping only the
fields a listing shows, and the byte offset up to which the file has been read. Each use first reads the
lines appended since (by `dreamcli grade`, `run --outcome`, an older dreamcli or a person: the file is
the only hook, so no writer has to know about the index), then looks up only the sessions asked for. A
listing therefore costs one stat and one indexed query when nothing was graded since, whatever the size
of the file, and its memory holds the rows it shows, not every grade.

A file that shrank, was replaced or was rewritten (another inode, or other bytes at its start or just
before the offset) is read again from the start. When the index cannot be used (a read-only or corrupt
state directory) the grades file is scanned as before, keeping only the sessions asked for.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any, BinaryIO

from dreamcli.codec import loads, loads_as_json_reads
from dreamcli.outcomes.grade_record import grade_problem
from dreamcli.workspace.fsutil import FILE_MODE, ensure_dir
from dreamcli.workspace.home import Workspace

INDEX_VERSION = 2  # PRAGMA user_version: another value is dropped and rebuilt from the grades file
LISTING_FIELDS = ("v", "ts", "grade_id", "session_id", "outcome", "result", "score")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS latest (session_id TEXT PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS source (id INTEGER PRIMARY KEY CHECK (id = 0), ino INTEGER, offset INTEGER,
                                   head BLOB, tail BLOB);
"""
_CHUNK = 1 << 22  # bytes of new grade lines folded in per step (memory stays flat on a big file)
_QUERY_VARS = 500  # session ids per query
_SCAN_OVER = 2000  # asked for more sessions than this: read the whole table
_MARK = 256  # bytes at the start of the file and before the offset that must not change between uses


def index_path(ws: Workspace) -> Path:
    return ws.state_dir / "grades-index.sqlite"


def latest_grades(ws: Workspace, session_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The latest grade of each session in `session_ids` that has one, by session id: the record's
    LISTING_FIELDS (those it has). Reads through the index, bringing it up to date first."""
    wanted = list(dict.fromkeys(session_ids))
    grades = ws.grades_file
    if not wanted or not grades.exists():
        return {}
    try:
        return _indexed(ws, grades, wanted)
    except (sqlite3.Error, OSError):
        return _scanned(ws, set(wanted))


def _indexed(ws: Workspace, grades: Path, wanted: list[str]) -> dict[str, dict[str, Any]]:
    path = index_path(ws)
    if not path.exists():
        ensure_dir(path.parent)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE))
    with closing(sqlite3.connect(path, timeout=30, isolation_level=None)) as db:
        if db.execute("PRAGMA user_version").fetchone()[0] != INDEX_VERSION:
            db.executescript(f"BEGIN IMMEDIATE; DROP TABLE IF EXISTS latest; DROP TABLE IF EXISTS source; {_SCHEMA}"
                             f"PRAGMA user_version = {INDEX_VERSION}; COMMIT;")
        _catch_up(db, grades)
        if len(wanted) > _SCAN_OVER:  # most of the table: one pass over it beats many lookups
            keep = set(wanted)
            found = [(sid, record) for sid, record in db.execute("SELECT session_id, record FROM latest")
                     if sid in keep]
        else:
            found = []
            for i in range(0, len(wanted), _QUERY_VARS):
                chunk = wanted[i:i + _QUERY_VARS]
                sql = f"SELECT session_id, record FROM latest WHERE session_id IN ({','.join('?' * len(chunk))})"
                found += db.execute(sql, chunk)
        return _decoded(found)


def _decoded(found: list[tuple[str, str]]) -> dict[str, dict[str, Any]]:
    """session id -> its record decoded: all in one msgspec call (a JSON array of the records), or one by
    one when that fails (a record only the standard library reads)."""
    try:
        records = loads("[" + ",".join(record for _, record in found) + "]")
    except (ValueError, RecursionError):
        return {sid: loads_as_json_reads(record) for sid, record in found}
    if len(records) != len(found):  # a record that is not one JSON value: decode each as before
        return {sid: loads_as_json_reads(record) for sid, record in found}
    return {sid: rec for (sid, _), rec in zip(found, records, strict=True)}


def _catch_up(db: sqlite3.Connection, grades: Path) -> None:
    """Fold the lines appended to the grades file since the last use into the index."""
    st = grades.stat()
    if db.execute("SELECT ino, offset FROM source").fetchone() == (st.st_ino, st.st_size):
        return  # nothing new: no write, no lock
    db.execute("BEGIN IMMEDIATE")  # one process catches up; the others wait, then find it done
    try:
        with open(grades, "rb") as f:
            ino = os.fstat(f.fileno()).st_ino
            row = db.execute("SELECT ino, offset, head, tail FROM source").fetchone()
            offset = row[1] if row is not None and row[0] == ino and _marks(f, row[1]) == (row[2], row[3]) else 0
            if offset == 0:  # new, replaced, shrunk or rewritten: read it all again
                db.execute("DELETE FROM latest")
            for batch, end in _new_records(f, offset):
                db.executemany("INSERT OR REPLACE INTO latest VALUES (?, ?)", batch.items())
                offset = end
            head, tail = _marks(f, offset)
        db.execute("INSERT OR REPLACE INTO source VALUES (0, ?, ?, ?, ?)", (ino, offset, head, tail))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _marks(f: BinaryIO, offset: int) -> tuple[bytes, bytes]:
    """The first bytes of the file and the last ones before `offset`: an append leaves both as they were."""
    f.seek(0)
    head = f.read(min(_MARK, offset))
    f.seek(max(0, offset - _MARK))
    return head, f.read(offset - max(0, offset - _MARK))


def _new_records(f: BinaryIO, offset: int) -> Iterator[tuple[dict[str, str], int]]:
    """(session id -> latest listing record as JSON, offset after the last whole line) per chunk read;
    a last line without its newline (being appended) is left for the next use."""
    f.seek(offset)
    tail = b""
    while chunk := f.read(_CHUNK):
        data = tail + chunk
        end = data.rfind(b"\n") + 1
        tail = data[end:]
        batch: dict[str, str] = {}
        for raw in data[:end].splitlines():
            rec = _record(raw)
            if rec is not None:
                batch[rec["session_id"]] = json.dumps(rec, ensure_ascii=False, separators=(",", ":"))
        offset += end
        yield batch, offset


def _record(raw: bytes) -> dict[str, Any] | None:
    """The listing fields of one grade line; None for a line `iter_grades` skips."""
    try:
        rec = loads_as_json_reads(raw)
    except (ValueError, RecursionError):
        return None
    if grade_problem(rec) is not None:
        return None
    return {k: rec[k] for k in LISTING_FIELDS if k in rec}


def _scanned(ws: Workspace, wanted: set[str]) -> dict[str, dict[str, Any]]:
    from dreamcli.outcomes.store import iter_grades

    out: dict[str, dict[str, Any]] = {}
    for rec in iter_grades(ws):
        sid = rec["session_id"]
        if sid in wanted:
            out[sid] = {k: rec[k] for k in LISTING_FIELDS if k in rec}
    return out
