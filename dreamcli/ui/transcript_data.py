"""A session transcript as page data for the HTML transcript (`sessions show --html`, and the pages
`playbooks diff --html --with-transcripts` writes beside the review page)."""

from __future__ import annotations

import json
from typing import Any

from dreamcli.numbers import finite
from dreamcli.sessions.content import content_blocks, result_text

_RESULT_CAP = 20_000  # characters of a tool result shown on the page


def _cap(text: str, limit: int = _RESULT_CAP) -> str:
    return text if len(text) <= limit else text[:limit] + f"\n… [{len(text) - limit} more characters]"


def _short(value: Any, limit: int = 120) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


def _result_of(event: dict[str, Any]) -> str | None:
    """The tool_use id when a message holds nothing but one tool result."""
    if event.get("type") != "message":
        return None
    blocks = content_blocks(event.get("content"))
    if len(blocks) == 1 and blocks[0].get("type") == "tool_result" and isinstance(blocks[0].get("tool_use_id"), str):
        return str(blocks[0]["tool_use_id"])
    return None


def transcript_page(events: list[dict[str, Any]], *, grades: list[dict[str, Any]] | None = None,
                    children: list[dict[str, Any]] | None = None, skipped: int = 0,
                    generated: str = "") -> dict[str, Any]:
    """Header facts and one item per event; a tool call carries its result (shown folded)."""
    results: dict[str, dict[str, Any]] = {}
    facts: dict[str, dict[str, Any]] = {}
    for e in events:
        if e.get("type") == "tool" and isinstance(e.get("tool_use_id"), str):
            facts[e["tool_use_id"]] = e
        if e.get("type") == "message":
            for b in content_blocks(e.get("content")):
                if b.get("type") == "tool_result" and isinstance(b.get("tool_use_id"), str):
                    results[b["tool_use_id"]] = b
    start = next((e for e in events if e.get("type") == "session.start"), {})
    task_field = start.get("task")
    task: dict[str, Any] = task_field if isinstance(task_field, dict) else {}
    items: list[dict[str, Any]] = []
    holder: dict[str, dict[str, Any]] = {}  # tool_use id -> the item showing the call (and its result)
    tool_calls = 0
    for e in events:
        t = e.get("type")
        base: dict[str, Any] = {"seq": e.get("seq"), "ts": e.get("ts"), "also": []}
        owner = e.get("tool_use_id") if t == "tool" else _result_of(e)
        if isinstance(owner, str) and owner in holder:  # the tool's fact line or result: an anchor on its call
            holder[owner]["also"].append(e.get("seq"))
            continue
        if t == "message":
            role = str(e.get("role") or "")
            parts: list[dict[str, Any]] = []
            for b in content_blocks(e.get("content")):
                bt = b.get("type")
                if bt == "text" and b.get("text"):
                    parts.append({"kind": "text", "text": str(b["text"])})
                elif bt == "tool_use":
                    tool_calls += 1
                    tid = str(b.get("id") or "")
                    res = results.get(tid)
                    fact = facts.get(tid, {})
                    parts.append({
                        "kind": "tool", "id": tid, "name": str(b.get("name") or "?"), "summary": _short(b.get("input")),
                        "input": json.dumps(b.get("input"), indent=2, ensure_ascii=False, default=str),
                        "result": None if res is None else _cap(result_text(res.get("content"))),
                        "is_error": bool(res and res.get("is_error")), "duration_ms": finite(fact.get("duration_ms")),
                        "error_kind": fact.get("error_kind")})
                elif bt == "thinking" and b.get("thinking"):
                    parts.append({"kind": "thinking", "text": str(b["thinking"])})
            if parts:
                item = {**base, "kind": "message", "role": role, "parts": parts}
                items.append(item)
                for part in parts:
                    if part["kind"] == "tool":
                        holder[part["id"]] = item
        elif t == "outcome.evaluation":
            items.append({**base, "kind": "note", "label": f"evaluation {e.get('outcome')} #{e.get('iteration')}",
                          "text": f"{e.get('result')}: {e.get('explanation') or ''}"})
        elif t == "subagent":
            items.append({**base, "kind": "note", "label": f"sub-agent {e.get('event')}",
                          "text": f"{e.get('child_session_id') or ''} {e.get('brief') or ''} {e.get('status') or ''}"})
        elif t == "session.end":
            totals_field = e.get("totals")
            totals: dict[str, Any] = totals_field if isinstance(totals_field, dict) else {}
            tokens = (totals.get("input_tokens") or 0) + (totals.get("output_tokens") or 0)
            items.append({**base, "kind": "note", "label": f"end: {e.get('status')}",
                          "text": f"turns {totals.get('turns', '-')}, tokens {tokens}"
                                  + (f", error: {e.get('error')}" if e.get("error") else "")})
    return {
        "session_id": start.get("session_id") or (events[0].get("session_id") if events else None),
        "started": start.get("ts"), "source": start.get("source"), "model": start.get("model"),
        "task": task.get("name"), "prompt": task.get("prompt"), "workdir": start.get("workdir"),
        "parent": start.get("parent_session_id"),
        "playbooks": [p for p in start.get("playbooks") or [] if isinstance(p, dict)],
        "events": items, "tool_calls": tool_calls, "grades": grades or [], "children": children or [],
        "skipped": skipped, "generated": generated,
    }
