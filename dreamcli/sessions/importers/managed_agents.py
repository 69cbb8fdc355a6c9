"""Claude Managed Agents sessions (pulled by `dreamcli cloud sessions pull`) as dreamcli sessions.

The puller writes one JSONL file per cloud session: a header line
`{"type": "managed_agents.session", "session": {...BetaManagedAgentsSession...}, "prompt": ...}`, then
one line per session event as the API lists them (oldest first): `user.message`, `agent.message`,
`agent.tool_use` / `agent.mcp_tool_use` / `agent.custom_tool_use`, `agent.tool_result` /
`agent.mcp_tool_result` / `user.custom_tool_result`, `span.model_request_end` (usage),
`session.error`, status events. Session ids derive from the cloud session id and its creation time, so
a second pull skips what is already imported. The runner registers this module with `register()`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from dreamcli.errors import InputError
from dreamcli.sessions.importers.builder import SessionBuilder, clean_usage
from dreamcli.sessions.importers.common import (
    ODD_LINE,
    Transcript,
    clean_ts,
    deterministic_ulid,
    discover_files,
    parse_ts_ms,
    text_of,
)
from dreamcli.sessions.importers.context import UnitContext, UnitResult
from dreamcli.sessions.importers.lines import LineStream
from dreamcli.sessions.importers.units import Node, forest

SOURCE = "managed-agents"
HEADER = "managed_agents.session"
TOOL_USES = ("agent.tool_use", "agent.mcp_tool_use", "agent.custom_tool_use")
TOOL_RESULTS = ("agent.tool_result", "agent.mcp_tool_result", "user.custom_tool_result", "user.tool_result")
IGNORED = frozenset({"agent.thinking", "session.status_running", "session.status_idle", "session.status_rescheduled",
                     "session.status_terminated", "span.model_request_start", "session.updated", "session.usage",
                     "user.interrupt", "user.tool_confirmation", "session.thread_created"})


def register() -> None:
    """Make this format known to the import runner (`FORMATS`), once."""
    from dreamcli.sessions.importers import runner

    runner.FORMATS.setdefault(SOURCE, sys.modules[__name__])


def session_id_for(cloud_id: str, created_at: str) -> str:
    """The local session id of a cloud session (stable across pulls)."""
    return deterministic_ulid(SOURCE, cloud_id, parse_ts_ms(created_at) or 0)


def default_path() -> Path:
    return Path.cwd()


def discover(root: Path) -> list[Path]:
    return discover_files(root)


def head(stream: LineStream) -> list[dict[str, Any]]:
    return stream.head(max_lines=1)


def check(path: Path, first: dict[str, Any] | None) -> None:
    """Refuse a file without the header line the puller writes (id and creation time of the session)."""
    if first is None or first.get("type") != HEADER or not isinstance(first.get("session"), dict):
        raise InputError("not a Managed Agents session pulled by dreamcli (no managed_agents.session "
                         "header)", file=str(path), line=1)
    s = first["session"]
    if not s.get("id") or clean_ts(str(s.get("created_at") or "")) is None:
        raise InputError("session header without id or created_at", file=str(path), line=1)


def link(files: list[tuple[Path, int]], keys: dict[Path, Any]) -> list[Node]:
    return forest(files, {})


def transcript(path: Path, size: int, objs: list[dict[str, Any]], parent: Transcript | None) -> Transcript | None:
    """The transcript of a pulled session from its header line (checked by `check` before)."""
    if not objs or objs[0].get("type") != HEADER or not isinstance(objs[0].get("session"), dict):
        return None
    s = objs[0]["session"]
    cloud_id, created = str(s.get("id") or ""), str(s.get("created_at") or "")
    start_ms, start_ts = parse_ts_ms(created), clean_ts(created)
    if not cloud_id or start_ms is None or start_ts is None:
        return None
    agent: dict[str, Any] = s["agent"] if isinstance(s.get("agent"), dict) else {}
    model: dict[str, Any] = agent["model"] if isinstance(agent.get("model"), dict) else {}
    return Transcript(
        path=path, size=size, source_id=cloud_id, start_ms=start_ms,
        session_id=session_id_for(cloud_id, created), start_ts=start_ts,
        model=model.get("id") if isinstance(model.get("id"), str) else None,
        prompt=objs[0].get("prompt") if isinstance(objs[0].get("prompt"), str) else None,
        agent=agent.get("name") if isinstance(agent.get("name"), str) else None, tags=["managed-agents"],
        extra_import={"path": f"managed-agents://sessions/{cloud_id}", "agent_id": agent.get("id"),
                      "agent_version": agent.get("version"), "cloud_status": s.get("status"),
                      "title": s.get("title")},
    )


def _blocks(content: Any) -> list[dict[str, Any]]:
    """Content blocks as the session log keeps them: text kept, other blocks as a short marker."""
    out: list[dict[str, Any]] = []
    for b in content if isinstance(content, list) else []:
        if isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str):
            out.append({"type": "text", "text": b["text"]})
        elif isinstance(b, dict):
            out.append({"type": "text", "text": f"[{b.get('type', 'block')}]"})
    return out


def convert(t: Transcript, ctx: UnitContext, result: UnitResult) -> None:
    b: SessionBuilder = ctx.open_session(t, result)
    counts = result.counts
    turn = 0
    in_turn = False
    status = "completed"
    error: str | None = None
    for lineno, ev in ctx.lines(t, counts):
        try:
            kind = ev.get("type")
            if lineno == 1 and kind == HEADER:
                counts.ignored[HEADER] += 1
                continue
            ts = b.ts(ev.get("processed_at"))
            if kind in ("agent.message", *TOOL_USES):
                if not in_turn:
                    turn, in_turn = turn + 1, True
                if kind == "agent.message":
                    blocks = _blocks(ev.get("content"))
                else:
                    blocks = [{"type": "tool_use", "id": str(ev.get("id")), "name": str(ev.get("name") or "tool"),
                               "input": ev.get("input") if isinstance(ev.get("input"), dict) else {}}]
                b.assistant(ts, f"{t.source_id}#turn{turn}", blocks, model=t.model)
            elif kind == "user.message" or kind in TOOL_RESULTS:
                in_turn = False
                if kind == "user.message":
                    b.user(ts, _blocks(ev.get("content")))
                else:
                    text = text_of(_blocks(ev.get("content"))) or ""
                    tid = str(ev.get("tool_use_id") or ev.get("custom_tool_use_id"))
                    b.user(ts, [{"type": "tool_result", "tool_use_id": tid, "content": text,
                                 "is_error": ev.get("is_error") is True}])
            elif kind == "span.model_request_end" and isinstance(ev.get("model_usage"), dict):
                usage = clean_usage(ev["model_usage"]) or {}
                if not b.attach_usage(usage):
                    b.add_usage_only(usage)
            elif kind == "session.error":
                status = "error"
                err: dict[str, Any] = ev["error"] if isinstance(ev.get("error"), dict) else {}
                error = str(err.get("message") or err.get("type") or "session error")[:500]
            elif kind in IGNORED:
                counts.ignored[str(kind)] += 1
                continue
            else:
                counts.unknown[str(kind)] += 1
                continue
            counts.imported += 1
        except ODD_LINE:  # a line of a shape no version writes (the transcript is untrusted): skipped
            counts.malformed += 1
    b.end(status, **({"error": error} if error else {}))
