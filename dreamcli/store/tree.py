"""A lead session and its sub-agents as a tree, for `sessions show` and `sessions list`.

- `children_of(ws, events)`: the children a session started (from its `subagent` events, in start
  order, then an imported lead's children its log does not name: dreamcli.sessions.lineage), each with
  its summary (status, turns, tokens, cost), brief, error and final answer.
- `list_with_children(ws, flt, limit)`: a listing where children follow their lead (in start
  order) and `limit` counts top-level sessions only; a child whose lead is not listed (filtered
  out) stays where it is. A child is a session with a parent_session_id, or an imported one that
  names its lead by transcript only (`import.parent_source_id`): the listing gives it its lead's
  session id when it finds that lead (dreamcli.sessions.summary.ImportLinks, index_schema.LEAD).
- `read_session(ws, session_id)`: one session as `sessions show` (and its HTML page) shows it: its
  events, read statistics, grades and children.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from dreamcli.errors import UsageError
from dreamcli.sessions import schema
from dreamcli.sessions.summary import SessionFilter, SessionSummary, summarize
from dreamcli.workspace.home import Workspace

if TYPE_CHECKING:
    import sqlite3

    from dreamcli.sessions.lineage import Family, Kin, Row
    from dreamcli.sessions.reader import ReadStats

FINAL_TEXT_LIMIT = 4000


@dataclass
class ShownSession:
    path: Path
    session_id: str
    events: list[dict[str, Any]]
    stats: ReadStats
    grades: list[dict[str, Any]]
    children: list[dict[str, Any]]


def read_session(ws: Workspace, session_id: str) -> ShownSession:
    """The session `session_id` (an id or a unique prefix) with its grades and children; UsageError
    when it has no readable event, or its file cannot be read (`cannot read FILE: Permission denied`)."""
    from dreamcli.outcomes.store import iter_grades
    from dreamcli.sessions.paths import find_session
    from dreamcli.sessions.reader import os_reason, read_events

    path = find_session(ws, session_id)
    try:
        events, stats = read_events(path)
    except OSError as e:  # no permission, a directory, gone since it was found, an I/O error
        raise UsageError(f"cannot read {path}: {os_reason(e)}") from None
    if not events:
        raise UsageError(f"{path}: no readable events")
    sid = str(events[0].get("session_id", path.stem))
    grades = [g for g in iter_grades(ws) if g.get("session_id") == sid]
    children = children_of(ws, events)
    # a lone surrogate escape (`"\ud800"`, a cut emoji another tool wrote) read as U+FFFD: no UTF-8 output
    # (the terminal, --json, the HTML page) can hold it
    from dreamcli.codec import utf8_safe

    return ShownSession(path, sid, utf8_safe(events), stats, utf8_safe(grades), utf8_safe(children))


class Listed(Protocol):
    """What the tree needs of a listed row: a SessionSummary, or the index's light row."""

    @property
    def session_id(self) -> str: ...

    @property
    def parent_session_id(self) -> str | None: ...

    @property
    def import_parent_source_id(self) -> str | None: ...


R = TypeVar("R", bound=Listed)


def _child(row: Listed) -> bool:
    """A sub-agent: its lead named by session id, or by transcript only (an imported one)."""
    return bool(row.parent_session_id or row.import_parent_source_id)


def children_of(ws: Workspace, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every child session: those the `subagent` events name, in the order they started, then those of an
    imported lead that its log does not name (imported in a later run: `lineage.Family`), oldest first. A
    child whose session.start links to the lead shows the lead's id as its parent_session_id, as the listing
    does."""
    from dreamcli.sessions.lineage import is_child_of, kin_of
    from dreamcli.sessions.paths import find_session

    order: list[str] = []
    info: dict[str, dict[str, Any]] = {}
    for e in events:
        if e.get("type") != schema.SUBAGENT or not e.get("child_session_id"):
            continue
        cid = str(e["child_session_id"])
        if cid not in info:
            order.append(cid)
            info[cid] = {"brief": e.get("brief"), "event_status": None}
        if e.get("event") == "finished":
            info[cid]["event_status"] = e.get("status")
        if e.get("brief") and not info[cid]["brief"]:
            info[cid]["brief"] = e.get("brief")
    lead = kin_of(events[0]) if events else None
    for kin in _family(ws, lead).children(lead) if lead is not None else []:
        if kin.session_id not in info:
            order.append(kin.session_id)
            info[kin.session_id] = {"brief": None, "event_status": None, "unnamed": True}
    out = []
    for cid in order:
        try:
            path = find_session(ws, cid)
        except UsageError:
            out.append({"session_id": cid, "status": info[cid]["event_status"] or "missing",
                        "brief": info[cid]["brief"], "final_text": None, "missing": True})
            continue
        summary = summarize(path)
        data: dict[str, Any] = summary.to_json() if summary else {"session_id": cid, "status": "unreadable"}
        if summary is not None and lead is not None and is_child_of(summary, lead):
            data["parent_session_id"] = lead.session_id  # named by transcript only: its lead, as listed
        try:
            final, error, brief = _read_child(path, prompt_as_brief=bool(info[cid].get("unnamed")))
        except OSError as e:  # the child's log cannot be read: said as its error, the lead still shown
            from dreamcli.sessions.reader import os_reason

            final, error, brief = None, f"cannot read {path}: {os_reason(e)}", None
        data["brief"] = brief or info[cid]["brief"]
        data["final_text"] = final
        data["error"] = error
        out.append(data)
    return out


def _family(ws: Workspace, lead: Kin) -> Family:
    """The workspace's sessions by lead, for `lead`'s children: from the session index when there is one
    (its rows that name `lead` or hold its transcript; no file opened), else from the files' first lines."""
    from dreamcli.sessions.lineage import Family
    from dreamcli.store.index import fresh_connection

    db = fresh_connection(ws)
    return Family(ws) if db is None else Family(ws, _indexed(db, lead))


def _indexed(db: sqlite3.Connection, lead: Kin) -> Iterator[Row]:
    """The index's sessions that may be `lead`'s children, or hold its transcript, newest first (the
    connection closed when done)."""
    from dreamcli.sessions.lineage import kin_from

    with closing(db):
        for row in db.execute(
                "SELECT rel, session_id, source, parent_session_id, import_source_id, import_parent_source_id "
                "FROM sessions WHERE listable = 1 AND (parent_session_id = ? OR (source = ? AND ? IN "
                "(import_source_id, import_parent_source_id))) ORDER BY rel DESC",
                (lead.session_id, lead.source, lead.import_source_id)):
            y, m, d = str(row[0]).split("/")[:3]
            kin = kin_from(row[1:])
            if kin is not None:
                yield (y, m, d), kin


def _read_child(path: Any, *, prompt_as_brief: bool = False) -> tuple[str | None, str | None, str | None]:
    """(final answer, session.end error, brief) of a child log, read tolerantly. `prompt_as_brief`: a child its
    lead's log does not name, whose task prompt is the brief its lead's `subagent` event would have given."""
    from dreamcli.sessions.reader import iter_events

    final: str | None = None
    error: str | None = None
    brief: str | None = None
    for e in iter_events(path):
        t = e.get("type")
        if t == schema.SESSION_START:
            b = e.get("brief")
            task = e.get("task")
            if b is None and prompt_as_brief and isinstance(task, dict):
                b = task.get("prompt")
            brief = b if isinstance(b, str) else None
        elif t == schema.MESSAGE and e.get("role") == "assistant":
            content = e.get("content")
            blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
            text = "\n".join(str(b.get("text", "")) for b in blocks if isinstance(b, dict) and b.get("type") == "text")
            if text.strip():
                final = text.strip()
        elif t == schema.SESSION_END:
            error = e.get("error")
    if final is not None and len(final) > FINAL_TEXT_LIMIT:
        final = final[:FINAL_TEXT_LIMIT] + f"… [{len(final) - FINAL_TEXT_LIMIT} more chars]"
    return final, error, brief


def group_children(rows: Iterable[R]) -> list[R]:
    """Rows reordered so each child follows its lead (children in start order); others keep their order."""
    rows = list(rows)
    ids = {r.session_id for r in rows}
    kids: dict[str, list[R]] = {}
    for r in rows:
        if r.parent_session_id and r.parent_session_id in ids:
            kids.setdefault(r.parent_session_id, []).append(r)
    out: list[R] = []
    placed: set[str] = set()

    def place(r: R) -> None:
        if r.session_id in placed:
            return
        placed.add(r.session_id)
        out.append(r)
        for child in sorted(kids.get(r.session_id, []), key=lambda c: c.session_id):
            place(child)

    for r in rows:
        if r.parent_session_id and r.parent_session_id in ids:
            continue  # placed under its lead
        if r.session_id in kids:
            place(r)
        elif r.session_id not in placed:  # place(r) without a call: most rows have no children
            placed.add(r.session_id)
            out.append(r)
    if len(placed) < len(ids):
        for r in rows:  # a cycle of parent ids (corrupt logs): keep every row anyway
            place(r)
    return out


def list_with_children(ws: Workspace, flt: SessionFilter, limit: int | None) -> list[SessionSummary]:
    """Newest first, children under their lead; `limit` counts top-level rows (see module docstring).

    Children start after their lead, so scanning newest first meets a lead's children before the
    lead; the scan stops at the `limit`-th top-level session."""
    from dreamcli.store.index import list_summaries  # the session index, or a scan without one

    return select_with_children(list_summaries(ws, flt), limit)


def select_with_children(listed: Iterable[R], limit: int | None) -> list[R]:
    """`list_with_children` over rows already filtered, newest first (summaries or light index rows)."""
    rows: list[R] = []
    top = 0
    for s in listed:
        rows.append(s)
        if not _child(s):
            top += 1
            if limit is not None and top >= limit:
                break
    shown = {r.session_id for r in rows if not _child(r)}
    # children of sessions older than the last lead shown: dropped, as are imported ones whose lead was not found
    # (older than the window, or not in the workspace)
    if limit is not None and top >= limit:
        rows = [r for r in rows if not _child(r) or r.parent_session_id in shown
                or (r.parent_session_id and _orphan_in_window(r, rows))]
    return group_children(rows)


def _orphan_in_window(row: Listed, rows: list[R]) -> bool:
    """A child whose lead was filtered out (not merely beyond the limit): keep it."""
    last = min((r.session_id for r in rows if not _child(r)), default="")
    return (row.parent_session_id or "") > last
