"""The typed boundary of the session log: every line read is checked against the types of schema v1
(docs/session-log.md, dreamcli/schemas/session-log.v1.schema.json) before anything downstream sees
it, so a file with valid JSON and wrong types (`"seq": "x"`) is skipped and counted like a corrupt
line instead of failing a listing or a dream deep inside.

Only types are checked (and the required envelope), not patterns or enums: the reader stays tolerant
of values a newer writer may add, and fast (standard library only; the cron fast path uses it).
"""

from __future__ import annotations

from typing import Any

_STR, _INT, _NUM, _BOOL, _LIST, _DICT = "string", "integer", "number", "boolean", "array", "object"
_NULL = "null"

# field -> allowed JSON types, per event type (absent fields are not checked)
_FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "session.start": {"task": (_DICT,), "agent": (_STR, _NULL), "model": (_STR, _NULL),
                      "workdir": (_STR, _NULL), "parent_session_id": (_STR, _NULL), "tags": (_LIST,),
                      "source": (_STR,), "dreamcli_version": (_STR,), "playbooks": (_LIST,),
                      "base_url_host": (_STR, _NULL)},
    "message": {"role": (_STR,), "content": (_STR, _LIST), "model": (_STR, _NULL), "stop_reason": (_STR, _NULL),
                "usage": (_DICT, _NULL), "latency_ms": (_NUM, _NULL), "cost_usd": (_NUM, _NULL)},
    "tool": {"tool_use_id": (_STR,), "name": (_STR,), "duration_ms": (_NUM, _NULL), "exit_code": (_INT, _NULL),
             "error_kind": (_STR, _NULL), "truncated": (_BOOL,)},
    "outcome.evaluation": {"outcome": (_STR,), "iteration": (_INT,), "result": (_STR,),
                           "explanation": (_STR, _NULL), "score": (_NUM, _NULL), "criteria": (_LIST,)},
    "subagent": {"event": (_STR,), "child_session_id": (_STR,), "brief": (_STR, _NULL), "status": (_STR, _NULL)},
    "session.end": {"status": (_STR,), "error": (_STR, _NULL), "totals": (_DICT,), "outcome": (_DICT, _NULL)},
}
_REQUIRED = {"message": ("role", "content"), "tool": ("name",), "session.end": ("status",),
             "subagent": ("child_session_id",)}
_NUMBERS = ("turns", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cost_usd",
            "tool_calls", "tool_errors", "duration_ms", "tool_unanswered")


def _is(value: Any, kind: str) -> bool:
    if kind == _STR:
        return isinstance(value, str)
    if kind == _INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == _NUM:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == _BOOL:
        return isinstance(value, bool)
    if kind == _LIST:
        return isinstance(value, list)
    if kind == _DICT:
        return isinstance(value, dict)
    return value is None


def type_problem(event: dict[str, Any]) -> str | None:
    """None when `event` (already a dict with a str `type` and an int `v`) has the types of schema v1;
    else a short description of the first wrong field."""
    for name, kind in (("session_id", _STR), ("ts", _STR), ("seq", _INT)):
        if name in event and not _is(event[name], kind):
            return f"wrong type for {name!r}"
    etype = event["type"]
    for name in _REQUIRED.get(etype, ()):
        if name not in event:
            return f"{etype} without {name!r}"
    for name, kinds in _FIELDS.get(etype, {}).items():
        if name in event and not any(_is(event[name], k) for k in kinds):
            return f"wrong type for {name!r}"
    if etype == "message" and isinstance(event.get("content"), list) and not all(
            isinstance(b, dict) and isinstance(b.get("type"), str) for b in event["content"]):
        return "wrong type for 'content' blocks"
    if etype == "session.start" and isinstance(event.get("task"), dict):
        task = event["task"]
        if any(task.get(k) is not None and not isinstance(task.get(k), str) for k in ("name", "prompt")):
            return "wrong type for 'task'"
    for name in ("totals", "usage"):
        block = event.get(name)
        if isinstance(block, dict) and any(
                v is not None and not _is(v, _NUM) for k, v in block.items() if k in _NUMBERS or k.endswith("_tokens")):
            return f"wrong type in {name!r}"
    return None
