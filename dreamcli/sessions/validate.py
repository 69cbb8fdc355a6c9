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
_NUMBERS = frozenset(("turns", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
                      "cost_usd", "tool_calls", "tool_errors", "duration_ms", "tool_unanswered"))


_TYPES: dict[str, frozenset[type]] = {
    _STR: frozenset({str}), _INT: frozenset({int}), _NUM: frozenset({int, float}), _BOOL: frozenset({bool}),
    _LIST: frozenset({list}), _DICT: frozenset({dict}), _NULL: frozenset({type(None)}),
}
_NUMBER = frozenset({int, float, type(None)})
_ENVELOPE = (("session_id", _TYPES[_STR]), ("ts", _TYPES[_STR]), ("seq", _TYPES[_INT]))
# per event type: the envelope's and the type's fields with the Python types a decoded value may have
_CHECKS: dict[str, tuple[tuple[str, frozenset[type]], ...]] = {
    etype: _ENVELOPE + tuple((name, frozenset().union(*(_TYPES[k] for k in kinds))) for name, kinds in fields.items())
    for etype, fields in _FIELDS.items()
}
_ABSENT = object()


def type_problem(event: dict[str, Any]) -> str | None:
    """None when `event` (already a dict with a str `type` and an int `v`) has the types of schema v1;
    else a short description of the first wrong field.

    `event` is decoded JSON, so each value's exact type is one of str, int, float, bool, None, list and
    dict (a bool is never an integer here): one set lookup per field present."""
    etype = event["type"]
    checks = _CHECKS.get(etype)
    if checks is None:
        checks = _ENVELOPE
    else:
        for name in _REQUIRED.get(etype, ()):
            if name not in event:
                return _envelope_problem(event) or f"{etype} without {name!r}"
    for name, allowed in checks:
        value = event.get(name, _ABSENT)
        if value is not _ABSENT and type(value) not in allowed:
            return f"wrong type for {name!r}"
    if etype == "message":
        content = event.get("content")
        if type(content) is list:
            for block in content:
                if type(block) is not dict or type(block.get("type")) is not str:
                    return "wrong type for 'content' blocks"
    elif etype == "session.start":
        task = event.get("task")
        if type(task) is dict:
            for k in ("name", "prompt"):
                v = task.get(k)
                if v is not None and type(v) is not str:
                    return "wrong type for 'task'"
    for name in ("totals", "usage"):
        if counts_problem(event.get(name)):
            return f"wrong type in {name!r}"
    return None


def counts_problem(block: Any) -> bool:
    """Does `block` (an event's `totals` or `usage`) hold a count or a cost that is not a number?"""
    if type(block) is dict:
        if _NUMBER.issuperset(map(type, block.values())):  # only numbers (the usual case): one pass in C
            return False
        for k, v in block.items():
            if type(v) not in _NUMBER and (k in _NUMBERS or k.endswith("_tokens")):
                return True
    return False


def _envelope_problem(event: dict[str, Any]) -> str | None:
    for name, allowed in _ENVELOPE:
        value = event.get(name, _ABSENT)
        if value is not _ABSENT and type(value) not in allowed:
            return f"wrong type for {name!r}"
    return None
