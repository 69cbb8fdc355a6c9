"""What a session-log line is worth to the dream's scan, decided before decoding it in full.

Most of a log's bytes are lines whose content never matters to the signals: user messages made only of
successful tool results (the big outputs), and tool events that neither failed nor were truncated. The
scan peeks at the head of each line (`{"v":1,"type":"tool",…` as SessionWriter writes it) and decodes
those lines into small typed structs (msgspec, one pass in C, the outputs left undecoded) instead of
whole dicts; every other line is read in full by `dreamcli.sessions.reader.parse_line`.

The light decoders check the types of the fields they read and of the envelope (`v`, `type`, `ts`,
`session_id`, `seq`), as the reader's boundary does; a line they cannot decode goes the full way.
Messages (the other lines the scan reads in full) are decoded into a typed struct that checks what
`dreamcli.sessions.validate.type_problem` checks, in the same pass as the decoding: a line it refuses
is read again by `parse_line`, which has the last word.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import msgspec

from dreamcli.sessions.validate import counts_problem
from dreamcli.timeutil import parse_ts

HEAD = b'{"v":1,"type":"'  # how SessionWriter starts every line; the type follows
TOOL_HEAD = HEAD + b'tool",'
SUBAGENT_HEAD = HEAD + b'subagent",'
_NONE = msgspec.Raw(b"")


class _Block(msgspec.Struct):
    """A content block of a user message; its output (`content`) and id are kept as raw JSON."""

    type: str
    tool_use_id: msgspec.Raw = _NONE
    is_error: Any = None
    content: msgspec.Raw = _NONE


class _UserLine(msgspec.Struct):
    content: list[_Block] | str


class _ToolLine(msgspec.Struct):
    """A tool event: the fields the reader's type check covers (docs/session-log.md)."""

    type: str
    name: str
    v: int = 1
    ts: str | msgspec.UnsetType = msgspec.UNSET
    session_id: str = ""
    seq: int = 0
    tool_use_id: str = ""
    duration_ms: float | None = None
    exit_code: int | None = None
    error_kind: str | None = None
    truncated: bool = False


class _SubagentLine(msgspec.Struct):
    type: str
    child_session_id: str
    v: int = 1
    event: str = ""
    ts: str | msgspec.UnsetType = msgspec.UNSET
    session_id: str = ""
    seq: int = 0
    brief: str | None = None
    status: str | None = None


class _Message(msgspec.Struct):
    """A message event: the envelope and the fields schema v1 types (docs/session-log.md), and `origin`
    (who wrote a user-role text). `totals` is not a message field, but the reader checks it on any event."""

    v: int
    type: str
    role: str
    content: str | list[dict[str, Any]]
    ts: str | msgspec.UnsetType = msgspec.UNSET
    session_id: str | msgspec.UnsetType = msgspec.UNSET
    seq: int | msgspec.UnsetType = msgspec.UNSET
    model: str | None = None
    stop_reason: str | None = None
    usage: dict[str, Any] | None = None
    latency_ms: float | None = None
    cost_usd: float | None = None
    origin: Any = None
    totals: Any = None


_user = msgspec.json.Decoder(_UserLine)
_message = msgspec.json.Decoder(_Message)
_tool = msgspec.json.Decoder(_ToolLine)
_subagent = msgspec.json.Decoder(_SubagentLine)
_TOOL_RESULT_ID = re.compile(rb'"tool_use_id":"([^"\\]+)"')
_MISSING = object()


def success_ids(raw: bytes) -> list[str] | None:
    """The tool ids of a user message made only of successful tool results (as SessionWriter writes
    them), or None when the line must be read in full: not such a message, a failed result, a text
    block. The caller has checked the cheap head conditions (`maybe_successes`)."""
    try:
        line = _user.decode(raw)
    except (msgspec.DecodeError, RecursionError):  # nested past what msgspec decodes
        return _heuristic_ids(raw)
    if isinstance(line.content, str):
        return None
    ids: list[str] = []
    succeeded = False
    for block in line.content:
        if block.type == "text" or block.is_error is True:
            return None
        if block.is_error is False:
            succeeded = True
        nested = bytes(block.content)
        if nested and nested[:1] != b'"':  # content blocks inside a result: judge the line as before
            return _heuristic_ids(raw)
        tid = bytes(block.tool_use_id)
        if len(tid) > 2 and tid[:1] == b'"' and b"\\" not in tid:
            ids.append(tid[1:-1].decode("utf-8", "replace"))
    return ids if succeeded else None


def message_event(raw: bytes) -> dict[str, Any] | None:
    """A message line as the scan reads it: the fields the signals use, as `parse_line` gives them; None
    when the line must go the full way (not a message, wrong types, or anything the typed decoder refuses)."""
    try:
        m = _message.decode(raw)
    except (msgspec.DecodeError, RecursionError):  # nested past what msgspec decodes
        return None
    if m.v != 1 or m.type != "message" or counts_problem(m.usage) or counts_problem(m.totals):
        return None
    content = m.content
    if type(content) is list:
        for block in content:
            if type(block.get("type")) is not str:
                return None
    event: dict[str, Any] = {"v": 1, "type": "message", "role": m.role, "content": content}
    if m.ts is not msgspec.UNSET:
        event["ts"] = m.ts
    if m.seq is not msgspec.UNSET:
        event["seq"] = m.seq
    if m.cost_usd is not None:
        event["cost_usd"] = m.cost_usd
    if m.origin is not None:
        event["origin"] = m.origin
    return event


def maybe_successes(raw: bytes) -> bool:
    """The cheap test on the head of a line, before `success_ids`."""
    if not raw.endswith(b"}\n") or b'"tool_result"' not in raw[:400]:
        return False
    head = raw[:200]
    return b'"type":"message"' in head and b'"role":"user"' in head


def _heuristic_ids(raw: bytes) -> list[str] | None:
    """The byte tests of the whole line (for lines the typed decoder does not take: nested content
    blocks, malformed JSON), the same decision as the typed path for compact JSON."""
    if (b'"is_error":false' in raw and b'"is_error":true' not in raw and b'"is_error": true' not in raw
            and b'"type":"text"' not in raw and b'"type": "text"' not in raw):
        return [t.decode("utf-8", "replace") for t in _TOOL_RESULT_ID.findall(raw)]
    return None


def quiet_ts(raw: bytes) -> Any:
    """For a tool event that neither failed nor was truncated, or a sub-agent event: its `ts` (None when
    it has none). `_MISSING` (falsy test: `is_quiet`) when the line must be read in full."""
    try:
        if raw.startswith(TOOL_HEAD):
            tool = _tool.decode(raw)
            if tool.type != "tool" or tool.v != 1 or tool.error_kind or tool.truncated:
                return _MISSING
            return None if tool.ts is msgspec.UNSET else tool.ts
        if raw.startswith(SUBAGENT_HEAD):
            sub = _subagent.decode(raw)
            if sub.type != "subagent" or sub.v != 1:
                return _MISSING
            return None if sub.ts is msgspec.UNSET else sub.ts
    except (msgspec.DecodeError, RecursionError):  # nested past what msgspec decodes
        return _MISSING
    return _MISSING


def is_quiet(value: Any) -> bool:
    return value is not _MISSING


def recent(ts: str | None, now: datetime | None, seconds: float) -> bool:
    """Was `ts` less than `seconds` before `now`? (A session without an end, active this recently, may
    still be running.)"""
    if not ts or now is None:
        return False
    try:
        return (now - parse_ts(ts)).total_seconds() < seconds
    except ValueError:
        return False
