"""A lead session and its sub-agent, each with the same tool error (a pattern of one episode), as dreamcli runs
them (the child names its lead by `parent_session_id`) or as an import run apart from its lead's writes them (the
child names its lead's transcript only: `import.parent_source_id`). Every session is recorded as an arrival, as
an import does, so a dream reads it whatever the watermark."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dreamcli.ids import ulid_at
from dreamcli.sessions.arrivals import record_arrivals
from dreamcli.sessions.writer import SessionWriter
from dreamcli.workspace.home import Workspace


def at(minute: int) -> str:
    """A session id started on 2026-04-03 at 08:`minute` (file order is start order)."""
    return ulid_at(int(started(minute).timestamp() * 1000), bytes([3, minute]))


def started(minute: int) -> datetime:
    return datetime(2026, 4, 3, 8, minute, tzinfo=UTC)


def session(ws: Workspace, sid: str, task: str, *, transcript: str | None = None, names: str | None = None,
            parent: str | None = None, source: str = "codex") -> str:
    """A finished session of `task` with a tool error: imported (of `source`, holding `transcript`, naming its lead
    by the transcript `names` only) when `transcript` is given, else run by dreamcli (`parent`: its lead)."""
    extra: dict[str, Any] = {}
    if transcript is not None:
        info = {"path": f"/t/{transcript}.jsonl", "source_id": transcript}
        if names is not None:
            info["parent_source_id"] = names
        extra = {"source": source, "import": info}
    w = SessionWriter(ws, session_id=sid)
    w.start(task={"name": task, "prompt": "List the clauses."}, model="m", workdir=None, parent_session_id=parent,
            **extra)
    w.message("user", [{"type": "text", "text": "List the clauses."}])
    w.message("assistant", [{"type": "tool_use", "id": "toolu_1", "name": "read",
                             "input": {"file_path": "contract.docx"}}], stop_reason="tool_use")
    w.tool(tool_use_id="toolu_1", name="read", error_kind="exception")
    w.message("user", [{"type": "tool_result", "tool_use_id": "toolu_1", "is_error": True,
                        "content": "contract.docx is a binary file"}])
    w.end("completed", totals={"turns": 2, "cost_usd": 0.01})
    record_arrivals(ws, [sid], source="import")
    return sid


def pair(ws: Workspace, kind: str, *, lead_task: str = "lead-task", kid_task: str = "kid-task",
         kids: int = 1) -> tuple[str, ...]:
    """(lead, child…) started at 08:00, 08:01…: `kind` "native" (dreamcli ran them) or "imported" (the children
    name the lead's transcript L only)."""
    imported = kind == "imported"
    lead = session(ws, at(0), lead_task, transcript="L" if imported else None)
    children = tuple(session(ws, at(i), kid_task, transcript=f"L/{i}" if imported else None,
                             names="L" if imported else None, parent=None if imported else lead)
                     for i in range(1, kids + 1))
    return (lead, *children)
