"""`sessions list --json` filters with SessionFilter.matches itself, reading of each index row only the summary
fields SessionFilter.READS names: a condition added to `matches` (and READS) is applied by every listing, and
one reading a field READS does not name fails here."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest

from dreamcli.sessions.summary import SessionFilter, SessionSummary
from dreamcli.store.index import index_path, rebuild
from dreamcli.store.index_schema import HEAD_FIELDS, listing_head
from dreamcli.testing.synthetic import GenConfig, generate
from dreamcli.workspace.home import Workspace
from tests.support.listing import reference_listing, streamed_listing

# a set value of each condition of SessionFilter (its default is the other)
CASES: dict[str, Any] = {"since": datetime(2026, 10, 20, tzinfo=UTC), "status": "error", "task": "t",
                         "include_children": False, "source": "s", "include_pilot": False}
CONDITIONS = {f.name for f in fields(SessionFilter)} - {"skipped", "skipped_pilot"}
SUMMARY_FIELDS = {f.name for f in fields(SessionSummary)}


class _Recording(SessionSummary):
    """A summary that notes which of its fields are read."""

    seen: ClassVar[set[str]] = set()

    def __getattribute__(self, name: str) -> Any:
        if name in SUMMARY_FIELDS:
            _Recording.seen.add(name)
        return super().__getattribute__(name)


def _summaries() -> list[SessionSummary]:
    base: dict[str, Any] = dict(session_id="01", path="p", started="2026-11-01T00:00:00Z", task="t", source="s",
                                model="m", parent_session_id=None, status="error")
    return [_Recording(**{**base, **change}) for change in (
        {}, {"started": None}, {"started": "not a time"}, {"started": "2026-01-01T00:00:00Z"}, {"status": "completed"},
        {"task": "u"}, {"source": "x"}, {"parent_session_id": "00"}, {"import_parent_source_id": "tr"},
        {"pilot": {"id": "p", "arm": "a", "trial": 1}}, {"pilot": {"id": "p"}, "parent_session_id": "00"})]


def test_every_condition_names_what_it_reads() -> None:
    assert set(SessionFilter.READS) == CONDITIONS, "SessionFilter.READS: name the summary fields of each condition"
    assert set(CASES) == CONDITIONS, "CASES: give each SessionFilter condition a value that is not its default"


@pytest.mark.parametrize("set_", [*sorted(CONDITIONS), "all", "none"])
def test_matches_reads_only_what_the_filter_names(set_: str) -> None:
    kw = CASES if set_ == "all" else {} if set_ == "none" else {set_: CASES[set_]}
    flt = SessionFilter(**kw)
    for s in _summaries():
        _Recording.seen.clear()
        flt.matches(s)
        extra = _Recording.seen - set(flt.reads())
        assert not extra, (f"SessionFilter.matches reads {sorted(extra)} with {sorted(kw)} set: name them in "
                           "SessionFilter.READS, or `sessions list --json` decides without them")


@dataclass
class _ByModel(SessionFilter):
    """A condition added as the docs say: in `matches` and READS only, nothing in the index's SQL."""

    READS: ClassVar[dict[str, tuple[str, ...]]] = {**SessionFilter.READS, "model": ("model",)}
    model: str | None = None

    def matches(self, s: SessionSummary) -> bool:
        return (self.model is None or s.model == self.model) and super().matches(s)


@pytest.mark.parametrize("limit", [2, None])
def test_the_json_listing_applies_a_condition_of_matches_alone(ws: Workspace, limit: int | None) -> None:
    generate(ws, GenConfig(sessions=60, seed=3, days=10))
    rebuild(ws)
    with sqlite3.connect(index_path(ws)) as db:
        rels = [r for (r,) in db.execute("SELECT rel FROM sessions WHERE listable = 1 ORDER BY rel DESC LIMIT 20")]
        for rel in rels[::4]:
            db.execute("UPDATE sessions SET model = 'other-model' WHERE rel = ?", (rel,))
            values = db.execute(f"SELECT {', '.join(HEAD_FIELDS)} FROM sessions WHERE rel = ?", (rel,)).fetchone()
            db.execute("UPDATE sessions SET head = ? WHERE rel = ?", (listing_head(values), rel))
    streamed = streamed_listing(ws, _ByModel(model="other-model", include_pilot=False), limit)
    reference = reference_listing(ws, _ByModel(model="other-model", include_pilot=False), limit)
    assert streamed == reference
    listed = json.loads(streamed)["sessions"]
    assert listed and {s["model"] for s in listed} == {"other-model"}
