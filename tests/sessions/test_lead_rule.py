"""The rule that links an imported sub-agent to its lead has one definition, dreamcli.sessions.lineage
(`parent_key`, `holds`, `named_lead`), which `sessions show` (`Family`), the dream's scan and the listing's file
scan (`summary.ImportLinks`) use; the session index keeps an SQL twin (`dreamcli.store.index_schema.LEAD`: one
correlated query for the whole listing, as fast as the listing needs). On a table of cases, every one of them
names the lead the definition names, with the index and without it, newest first and oldest first."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from dreamcli.dream.aggregates import Aggregates
from dreamcli.dream.scan import scan_files
from dreamcli.dream.selection import PlaybookScope
from dreamcli.ids import ulid_at
from dreamcli.sessions import reader
from dreamcli.sessions.lineage import Family, Key, Kin, holds, kin_of, named_lead
from dreamcli.sessions.paths import iter_session_files, session_path
from dreamcli.sessions.summary import SessionFilter, list_sessions
from dreamcli.store.index import index_path, list_summaries, rebuild
from dreamcli.workspace.home import Workspace
from tests.support.listing import streamed_listing

# a session: (name, source, parent_session_id: another's name or a literal "" / None, import: {source_id,
# parent_source_id} or None); a case: its sessions in file order, and the lead each child names (None: none)
Session = tuple[str, str, str | None, dict[str, Any] | None]


def imp(holds: Any = None, names: Any = None) -> dict[str, Any]:
    info: dict[str, Any] = {"path": "/t.jsonl"}
    if holds is not None:
        info["source_id"] = holds
    if names is not None:
        info["parent_source_id"] = names
    return info


CASES: dict[str, tuple[list[Session], dict[str, str | None]]] = {
    "by session id, before a transcript it names too": (
        [("L", "codex", None, imp("T")), ("M", "codex", None, imp("U")), ("K", "codex", "L", imp("K", "U"))],
        {"K": "L"}),
    "by transcript": ([("L", "codex", None, imp("T")), ("K", "codex", None, imp("K", "T"))], {"K": "L"}),
    "a transcript of another source": (
        [("L", "claude-code", None, imp("T")), ("K", "codex", None, imp("K", "T"))], {"K": None}),
    "of two holders, the last in file order": (
        [("A", "codex", None, imp("T")), ("B", "codex", None, imp("T")), ("K", "codex", None, imp("K", "T"))],
        {"K": "B"}),
    "a holder after the child in file order": (
        [("A", "codex", None, imp("T")), ("K", "codex", None, imp("K", "T")), ("B", "codex", None, imp("T"))],
        {"K": "B"}),
    "no session holds it": ([("K", "codex", None, imp("K", "T")), ("M", "codex", None, imp("M"))], {"K": None}),
    "an empty parent_session_id": (
        [("L", "codex", None, imp("T")), ("K", "codex", "", imp("K", "T")), ("J", "codex", "", imp("J", "X"))],
        {"K": "L", "J": None}),
    "an empty source": ([("L", "", None, imp("T")), ("K", "", None, imp("K", "T"))], {"K": None}),
    "an empty or non-string transcript id": (
        [("L", "codex", None, imp("")), ("M", "codex", None, imp(5)), ("K", "codex", None, imp("K", "")),
         ("J", "codex", None, imp("J", "5"))], {"K": None, "J": None}),
    "a session of dreamcli's": ([("L", "dreamcli", None, None), ("K", "dreamcli", "L", None)], {"K": "L"}),
    "itself": ([("S", "codex", None, imp("T", "T"))], {"S": "S"}),
    "a chain": (
        [("L", "codex", None, imp("T")), ("K", "codex", None, imp("T/k", "T")), ("G", "codex", None, imp("G", "T/k"))],
        {"K": "L", "G": "K"}),
}


def write(ws: Workspace, sessions: list[Session]) -> dict[str, str]:
    """The sessions, one a minute in file order; their ids by name."""
    ids = {name: ulid_at(int(datetime(2026, 4, 3, 8, i, tzinfo=UTC).timestamp() * 1000), bytes([i]))
           for i, (name, *_rest) in enumerate(sessions)}
    for name, source, parent, info in sessions:
        start = {"v": 1, "type": "session.start", "ts": "2026-04-03T08:00:00Z", "session_id": ids[name],
                 "task": {"name": "t", "prompt": "p"}, "model": "m", "workdir": None, "source": source,
                 "parent_session_id": ids.get(parent, parent) if parent else parent,
                 **({"import": info} if info is not None else {})}
        path = session_path(ws, ids[name])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(start) + "\n")
    return ids


def defined(ws: Workspace) -> dict[str, str | None]:
    """The lead of every session by the definition: `named_lead`, a transcript's holder the last session in file
    order that `holds` it."""
    kins = [kin_of(reader.read_first_event(p)) for p in iter_session_files(ws)]
    holder: dict[Key, str] = {}
    for kin in kins:
        assert kin is not None
        holder.update((key, kin.session_id) for key in holds(kin))
    return {k.session_id: named_lead(k, holder.get) for k in kins if k is not None}


def as_listed(rows: Any) -> dict[str, str | None]:
    """Each row's parent once the listing is done (a scan names a child's lead when it meets it, maybe later)."""
    return {r.session_id: r.parent_session_id or None for r in list(rows)}


def named(ids: dict[str, str], leads: dict[str, str | None]) -> dict[str, str | None]:
    return {name: ids[lead] if lead is not None else None for name, lead in leads.items()}


@pytest.mark.parametrize("case", CASES)
def test_every_place_names_the_lead_the_definition_names(ws: Workspace, case: str) -> None:
    sessions, expected = CASES[case]
    ids = write(ws, sessions)
    by_id = {sid: name for name, sid in ids.items()}
    rule = defined(ws)
    assert {name: rule[ids[name]] for name in expected} == named(ids, expected)
    index_path(ws).unlink(missing_ok=True)
    places: dict[str, dict[str, str | None]] = {
        "scan, newest first": as_listed(list_sessions(ws)),
        "scan, oldest first": as_listed(list_sessions(ws, newest_first=False)),
    }
    family = Family(ws)
    places["lineage.Family"] = {sid: family.lead_of(kin_of(reader.read_first_event(session_path(ws, sid))) or
                                                     Kin(sid)) for sid in by_id}
    rebuild(ws)
    places["index"] = as_listed(list_summaries(ws, SessionFilter()))
    places["index, oldest first"] = as_listed(list_summaries(ws, SessionFilter(), newest_first=False))
    listed = json.loads(streamed_listing(ws, SessionFilter(), None))["sessions"]
    places["index, --json"] = {s["session_id"]: s["parent_session_id"] or None for s in listed}
    for place, leads in places.items():
        assert {by_id[sid]: by_id.get(lead or "") for sid, lead in leads.items()} == \
            {by_id[sid]: by_id.get(lead or "") for sid, lead in rule.items()}, place


@pytest.mark.parametrize("case", CASES)
def test_the_dream_links_each_child_to_that_lead(ws: Workspace, case: str) -> None:
    """As the listing does, but never to itself (a session naming its own transcript is an episode of its own)."""
    sessions, expected = CASES[case]
    ids = write(ws, sessions)
    agg = Aggregates()
    scan_files([str(p) for p in iter_session_files(ws)], agg, playbook="default", scope=PlaybookScope("default"),
               now=datetime(2030, 1, 1, tzinfo=UTC))
    linked = {name: agg.parents.get(ids[name]) for name in expected}
    assert linked == {name: lead if lead != ids[name] else None for name, lead in named(ids, expected).items()}
