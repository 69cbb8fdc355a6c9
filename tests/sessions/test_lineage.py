"""dreamcli.sessions.lineage: a lead's sub-agents as the listing resolves them (by parent_session_id, or by
transcript within the same source), found by reading first lines newest first, no further back than asked."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dreamcli.ids import ulid_at
from dreamcli.sessions import reader
from dreamcli.sessions.lineage import Family, Kin, is_child_of, kin_of
from dreamcli.sessions.paths import session_path
from dreamcli.sessions.summary import SessionFilter
from dreamcli.sessions.writer import SessionWriter
from dreamcli.store.tree import list_with_children
from dreamcli.workspace.home import Workspace


def at(day: int, minute: int = 0) -> str:
    """A session id started on 2026-04-`day` at 08:`minute`."""
    return ulid_at(int(datetime(2026, 4, day, 8, minute, tzinfo=UTC).timestamp() * 1000), bytes([day, minute]))


def session(ws: Workspace, sid: str, *, source: str = "codex", source_id: str | None = None,
            parent_source_id: str | None = None, parent: str | None = None) -> str:
    w = SessionWriter(ws, session_id=sid)
    extra: dict[str, Any] = {}
    if source_id is not None:
        info = {"path": "/t.jsonl", "source_id": source_id}
        if parent_source_id:
            info["parent_source_id"] = parent_source_id
        extra["import"] = info
    w.start(task={"name": "t", "prompt": "p"}, model="m", workdir=None, source=source, parent_session_id=parent,
            **extra)
    w.end("completed", totals={"turns": 1})
    return sid


def kin(ws: Workspace, sid: str) -> Kin:
    found = kin_of(reader.read_first_event(session_path(ws, sid)))
    assert found is not None
    return found


def test_children_are_those_the_listing_puts_under_the_lead(ws: Workspace) -> None:
    """Two sessions of one transcript: its children by transcript go to the newer one, as listed."""
    old = session(ws, at(3, 0), source_id="L")
    new = session(ws, at(3, 1), source_id="L")
    by_transcript = session(ws, at(3, 2), source_id="L/k", parent_source_id="L")
    by_id = session(ws, at(3, 3), source_id="L/j", parent_source_id="L", parent=old)
    other_source = session(ws, at(3, 4), source="claude-code", source_id="L/m", parent_source_id="L")
    family = Family(ws)
    assert [k.session_id for k in family.children(kin(ws, new))] == [by_transcript]
    assert [k.session_id for k in family.children(kin(ws, old))] == [by_id]
    listed = {s.session_id: s.parent_session_id for s in list_with_children(ws, SessionFilter(), None)}
    assert (listed[by_transcript], listed[by_id], listed[other_source]) == (new, old, None)
    assert is_child_of(kin(ws, by_transcript), kin(ws, new)) and not is_child_of(kin(ws, other_source), kin(ws, new))


def test_a_session_dreamcli_ran_is_not_searched(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its log names every sub-agent it started: nothing is read for it."""
    lead = session(ws, at(3), source="dreamcli")
    session(ws, at(3, 1), source="dreamcli", parent=lead)
    read: list[Path] = []
    monkeypatch.setattr(reader, "read_first_event", read.append)
    assert Family(ws).children(Kin(lead, "dreamcli")) == []
    assert read == []


def test_the_search_stops_at_the_leads_day(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    session(ws, at(2), source_id="X")  # the day before the lead's: never opened
    lead = session(ws, at(3), source_id="L")
    kid = session(ws, at(4), source_id="L/k", parent_source_id="L")
    lead_kin = kin(ws, lead)
    days: list[str] = []
    first = reader.read_first_event

    def read_first(path: Path) -> dict[str, Any] | None:
        days.append(path.parent.name)
        return first(path)

    monkeypatch.setattr(reader, "read_first_event", read_first)
    assert [k.session_id for k in Family(ws).children(lead_kin)] == [kid]
    assert sorted(days) == ["03", "04"]
