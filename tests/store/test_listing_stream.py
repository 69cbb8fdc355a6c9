"""`sessions list --json` streamed from the index writes the bytes the summaries path writes."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import fields
from datetime import UTC, datetime

import pytest

from dreamcli.sessions.summary import SessionFilter
from dreamcli.store.index import index_path, rebuild
from dreamcli.store.index_schema import HEAD_FIELDS, listing_head
from dreamcli.testing.synthetic import GenConfig, generate
from dreamcli.workspace.home import Workspace
from tests.support.listing import reference_listing, streamed_listing

# Every condition of SessionFilter, alone and together: `test_filters_cover_every_condition` fails until a new
# one has a case here (the two listings then must agree on it).
FILTERS = [dict(), dict(status="completed"), dict(include_children=False),
           dict(since=datetime(2026, 10, 20, tzinfo=UTC)), dict(task="no-such-task"),
           dict(since=datetime(2026, 10, 20, tzinfo=UTC), status="completed", include_children=False),
           dict(source="other"), dict(source="synthetic", include_pilot=False), dict(include_pilot=False)]


def test_filters_cover_every_condition() -> None:
    conditions = {f.name for f in fields(SessionFilter)} - {"skipped", "skipped_pilot"}
    missing = sorted(conditions - {name for kw in FILTERS for name in kw})
    assert not missing, (f"SessionFilter has conditions no FILTERS case sets: {missing}; add a case to FILTERS "
                         "in tests/store/test_listing_stream.py so `sessions list --json` is checked on them")


def _odd_values(ws: Workspace) -> None:
    """Values msgspec would write otherwise than json.dumps, a file that is no session, grades, sessions of
    another source and pilot trials."""
    (ws.sessions_dir / "2026" / "11" / "01").mkdir(parents=True, exist_ok=True)
    (ws.sessions_dir / "2026" / "11" / "01" / "broken.jsonl").write_text("not json\n")
    with sqlite3.connect(index_path(ws)) as db:
        rels = [r for (r,) in db.execute("SELECT rel FROM sessions WHERE listable = 1 ORDER BY rel DESC LIMIT 10")]
        db.execute("UPDATE sessions SET cost_usd = 1.5e-07 WHERE rel = ?", (rels[0],))
        db.execute("UPDATE sessions SET cost_usd = 1e16, task = ? WHERE rel = ?", ('a\x01"é\u2028\\', rels[1]))
        db.execute("UPDATE sessions SET tags = ?, outcome = NULL WHERE rel = ?", ('[1e-07, "x", {"k": 2}]', rels[2]))
        db.execute("UPDATE sessions SET cost_usd = 0.0001, score = 9.9e-05 WHERE rel = ?", (rels[3],))
        sids = [s for (s,) in db.execute("SELECT session_id FROM sessions WHERE rel IN (?, ?)", rels[4:6])]
        db.execute("UPDATE sessions SET source = 'other' WHERE rel IN (?, ?)", rels[6:8])
        db.execute("UPDATE sessions SET pilot = ? WHERE rel IN (?, ?)", ('{"id": "p1", "arm": "a", "trial": 1}',
                                                                         *rels[8:10]))
        for rel in [*rels[:4], *rels[6:10]]:  # the stored head follows the row, as index_refresh.upsert writes it
            values = db.execute(f"SELECT {', '.join(HEAD_FIELDS)} FROM sessions WHERE rel = ?", (rel,)).fetchone()
            db.execute("UPDATE sessions SET head = ? WHERE rel = ?", (listing_head(values), rel))
        db.execute("UPDATE sessions SET head = NULL WHERE rel = ?", (rels[1],))  # read as from_row does
    with ws.grades_file.open("a") as f:
        for sid, score in zip(sids, [1e-05, {"nested": 1.5e300}], strict=True):
            f.write(json.dumps({"v": 1, "ts": "2099-01-01T00:00:00Z", "grade_id": f"g-{sid}", "session_id": sid,
                                "outcome": "o", "result": "satisfied", "score": score}) + "\n")


@pytest.mark.parametrize("limit", [1, 7, 50, None])
def test_streamed_listing_is_byte_identical(ws: Workspace, limit: int | None) -> None:
    generate(ws, GenConfig(sessions=1200, seed=7, days=30))
    rebuild(ws)
    _odd_values(ws)
    for kw in FILTERS:
        assert streamed_listing(ws, SessionFilter(**kw), limit) == reference_listing(ws, SessionFilter(**kw), limit), kw  # type: ignore[arg-type]


def test_streamed_listing_without_an_index_scans(ws: Workspace) -> None:
    generate(ws, GenConfig(sessions=30, seed=2))
    index_path(ws).unlink(missing_ok=True)
    assert streamed_listing(ws, SessionFilter(), 10) == reference_listing(ws, SessionFilter(), 10)
    assert streamed_listing(ws, SessionFilter(task="none"), 10) == reference_listing(ws, SessionFilter(task="none"), 10)


def test_an_index_of_an_older_version_is_built_again(ws: Workspace) -> None:
    generate(ws, GenConfig(sessions=20, seed=4))
    rebuild(ws)
    with sqlite3.connect(index_path(ws)) as db:  # what the previous version wrote: no head column
        db.executescript("DROP TABLE sessions; PRAGMA user_version = 0;")
        db.execute("CREATE TABLE sessions (rel TEXT PRIMARY KEY, day TEXT NOT NULL, path TEXT NOT NULL)")
    assert streamed_listing(ws, SessionFilter(), 50) == reference_listing(ws, SessionFilter(), 50)
    with sqlite3.connect(index_path(ws)) as db:
        assert db.execute("SELECT COUNT(*) FROM sessions WHERE head IS NOT NULL").fetchone()[0] == 20
