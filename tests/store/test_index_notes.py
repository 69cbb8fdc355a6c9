"""The session index is updated on write (`note_session`): a sealed run's row is current and its day is
not re-listed; files the writer never noted (older versions, by hand, killed runs) are still listed; a
missing, busy or corrupt index never fails a run."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import pytest

from dreamcli.config import Config
from dreamcli.ids import ulid_at
from dreamcli.sessions.summary import SessionFilter, list_sessions
from dreamcli.sessions.writer import SessionWriter
from dreamcli.store import index_notes
from dreamcli.store.index import connect, index_path, list_summaries, note_session, note_sessions, rebuild, refresh
from dreamcli.store.sink import session_sink
from dreamcli.workspace.home import Workspace

T0 = 1_764_000_000_000  # 2025-11-24


def _age(folder: Path, seconds: float = 60) -> None:
    """Date a day directory's last change `seconds` back (a run that started a while ago)."""
    t = time.time() - seconds
    os.utime(folder, (t, t))


def _run(ws: Workspace, n: int, *, task: str = "t", end: bool = True) -> SessionWriter:
    """A run's writer as `dreamcli run` makes it (with the workspace's sink)."""
    w = SessionWriter(ws, session_id=ulid_at(T0 + n, n.to_bytes(10, "big")), sink=session_sink(ws, Config()))
    w.start(task={"name": task, "prompt": "p"}, model=None, workdir=None)
    _age(w.path.parent)
    if end:
        w.end("completed", totals={"turns": n})
    return w


def _hand_written(ws: Workspace, n: int) -> Path:
    """A session file no writer noted (an older dreamcli, a copy, a person)."""
    sid = ulid_at(T0 + n, n.to_bytes(10, "big"))
    path = ws.sessions_dir / "2025" / "11" / "24" / f"{sid}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [{"v": 1, "type": "session.start", "ts": "2025-11-24T16:00:00.000Z", "session_id": sid, "seq": 0,
              "task": {"name": "by-hand", "prompt": "p"}},
             {"v": 1, "type": "session.end", "ts": "2025-11-24T16:00:01.000Z", "session_id": sid, "seq": 1,
              "status": "error", "totals": {}}]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def _listed(ws: Workspace) -> list[dict[str, object]]:
    return [s.to_json() for s in list_summaries(ws, SessionFilter())]


def _scanned(ws: Workspace) -> list[dict[str, object]]:
    return [s.to_json() for s in list_sessions(ws, SessionFilter())]


def _refresh(ws: Workspace) -> int:
    db = connect(ws)
    assert db is not None
    with closing(db):
        return refresh(ws, db)


def test_a_sealed_run_is_indexed_and_its_day_is_not_re_listed(ws: Workspace) -> None:
    rebuild(ws)
    first = _run(ws, 1)
    assert _refresh(ws) == 0  # the note made the row and the day current: nothing to re-read
    w = _run(ws, 2, task="second")
    with closing(sqlite3.connect(index_path(ws))) as db:
        row = db.execute("SELECT status, turns, task FROM sessions WHERE session_id = ?", (w.session_id,)).fetchone()
        day_mtime = db.execute("SELECT mtime_ns FROM days WHERE day = '2025/11/24'").fetchone()[0]
    assert row == ("completed", 2, "second")
    assert day_mtime == w.path.parent.stat().st_mtime_ns
    assert _refresh(ws) == 0
    assert [r["session_id"] for r in _listed(ws)] == [w.session_id, first.session_id]
    assert _listed(ws) == _scanned(ws)


def test_a_recently_changed_day_is_left_for_the_refresh(ws: Workspace) -> None:
    rebuild(ws)
    w = SessionWriter(ws, session_id=ulid_at(T0, bytes(10)), sink=session_sink(ws, Config()))
    w.start(task={"name": "quick", "prompt": "p"}, model=None, workdir=None)
    w.end("completed")  # the directory changed under a second ago: mtime granularity, re-list it once
    with closing(sqlite3.connect(index_path(ws))) as db:
        assert db.execute("SELECT mtime_ns FROM days").fetchall() == [(-1,)]
        assert db.execute("SELECT status FROM sessions").fetchall() == [("completed",)]
    assert _listed(ws) == _scanned(ws)


def test_files_no_writer_noted_are_listed_too(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    rebuild(ws)
    _hand_written(ws, 5)
    _run(ws, 1)  # the note indexes the unknown file of its day as well
    assert _refresh(ws) == 0
    assert [r["task"] for r in _listed(ws)] == ["by-hand", "t"]
    monkeypatch.setattr(index_notes, "NOTE_UNKNOWN_LIMIT", 1)
    _hand_written(ws, 6)
    _hand_written(ws, 7)
    _run(ws, 2)  # too many unknown files: the day stays for the refresh, which finds them
    assert _refresh(ws) == 2
    assert [r["task"] for r in _listed(ws)] == ["by-hand", "by-hand", "by-hand", "t", "t"]
    assert _listed(ws) == _scanned(ws)


def test_a_killed_run_and_a_removed_file_stay_correct(ws: Workspace) -> None:
    rebuild(ws)
    killed = _run(ws, 1, end=False)  # never sealed: no note
    os.close(killed._fd)  # type: ignore[arg-type]
    killed._fd = None
    done = _run(ws, 2)
    assert {r["session_id"]: r["status"] for r in _listed(ws)} == {killed.session_id: "incomplete",
                                                                     done.session_id: "completed"}
    os.unlink(done.path)
    note_session(ws, done.path)  # an importer noting a file it removed again
    with closing(sqlite3.connect(index_path(ws))) as db:
        assert db.execute("SELECT session_id FROM sessions").fetchall() == [(killed.session_id,)]
    assert _listed(ws) == _scanned(ws)
    os.unlink(killed.path)
    os.rmdir(killed.path.parent)  # the whole day directory gone
    note_session(ws, killed.path)
    with closing(sqlite3.connect(index_path(ws))) as db:
        assert db.execute("SELECT COUNT(*) FROM sessions").fetchone() == (0,)
    assert not (ws.logs_dir / "index.log").exists()
    assert _listed(ws) == _scanned(ws) == []


def test_without_an_index_a_note_does_nothing(ws: Workspace) -> None:
    w = _run(ws, 1)
    assert not index_path(ws).exists()  # the workspace lists by scanning, as before
    note_sessions(ws, [w.path, ws.root / "elsewhere.jsonl"])
    assert not index_path(ws).exists()
    assert not (ws.logs_dir / "index.log").exists()


def test_a_corrupt_index_never_fails_a_run(ws: Workspace) -> None:
    ws.state_dir.mkdir(parents=True, exist_ok=True)
    index_path(ws).write_bytes(b"this is not a database" * 100)
    w = _run(ws, 1)
    assert w.ended and w.path.exists()
    assert "note_session skipped: 1 session(s)" in (ws.logs_dir / "index.log").read_text()


def test_a_busy_index_is_skipped_quickly_and_caught_up_later(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    rebuild(ws)
    monkeypatch.setattr(index_notes, "NOTE_TIMEOUT_S", 0.05)
    holder = sqlite3.connect(index_path(ws), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # a reindex in progress
    try:
        t0 = time.perf_counter()
        w = _run(ws, 1)
        assert time.perf_counter() - t0 < 5
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "locked" in (ws.logs_dir / "index.log").read_text()
    assert [r["session_id"] for r in _listed(ws)] == [w.session_id]  # the refresh found it


def test_a_batch_of_imports_is_noted_at_once(ws: Workspace) -> None:
    rebuild(ws)
    paths = [_hand_written(ws, n) for n in range(30)]
    _age(paths[0].parent)
    note_sessions(ws, [*paths, ws.root / "not-a-session.jsonl", ws.sessions_dir / "x.jsonl"])
    assert _refresh(ws) == 0
    assert len(_listed(ws)) == 30 and _listed(ws) == _scanned(ws)
