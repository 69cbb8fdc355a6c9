"""One session being built from a transcript: assistant lines of one API message grouped into one
`message` event, usage counted once per API message id, `tool` facts for tool results (exit code,
duration, error kind), calls left without a result recorded as unanswered, and the status derived from
how the transcript ends (docs/session-log.md, "Imported sessions")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dreamcli.sessions.importers.common import clean_ts, parse_ts_ms, text_of
from dreamcli.sessions.importers.toolfacts import ToolFacts, facts_from_text
from dreamcli.sessions.totals import Totals
from dreamcli.sessions.writer import SessionWriter

USAGE_KEYS = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")


def _whole(v: Any) -> bool:
    """A counter as the API writes it: a whole number >= 0 (not a boolean)."""
    return type(v) is int and v >= 0


def clean_usage(raw: Any) -> dict[str, int] | None:
    """The four Anthropic usage counters of a usage object (other keys dropped); a counter that is missing,
    null (the API's counters are optional) or not a whole number >= 0 counts 0."""
    if not isinstance(raw, dict):
        return None
    return {key: raw[key] if _whole(raw.get(key)) else 0 for key in USAGE_KEYS}


def read_usage(raw: Any) -> tuple[dict[str, int] | None, bool]:
    """The counters of an assistant line's usage object, and whether the object is odd (no API writes it):
    not an object, or a counter that is neither missing, null nor a whole number >= 0 (a string, a float, a
    boolean). An odd object keeps its valid counters (the odd ones count 0); with none valid it gives no
    usage. A missing or null counter counts 0 and is not odd (docs/importers.md)."""
    if raw is None:
        return None, False
    if not isinstance(raw, dict):
        return None, True
    odd = any(raw.get(key) is not None and not _whole(raw[key]) for key in USAGE_KEYS)
    if odd and not any(_whole(raw.get(key)) for key in USAGE_KEYS):
        return None, True
    return clean_usage(raw), odd


def max_usage(a: dict[str, int] | None, b: dict[str, int] | None) -> dict[str, int] | None:
    if a is None:
        return b
    if b is None:
        return a
    return {k: max(a.get(k, 0), b.get(k, 0)) for k in USAGE_KEYS}


def _has_text(blocks: list[Any]) -> bool:
    """Whether a message says something (a text block that is not blank), without joining its texts."""
    for b in blocks:
        if isinstance(b, dict) and b.get("type") == "text":
            t = b.get("text")
            if isinstance(t, str) and (t[:200].strip() or t.strip()):
                return True
    return False


_NO_FACTS = ToolFacts()  # never changed: shared by every result that says nothing


@dataclass
class OpenCall:
    """A tool call waiting for its result."""

    name: str
    ts: str


@dataclass
class PendingAssistant:
    msg_id: str | None
    ts: str
    blocks: list[Any]
    model: str | None
    stop_reason: str | None
    usage: dict[str, int] | None


class SessionBuilder:
    """One session being written: groups the lines of one assistant API message into one `message`
    event, counts usage once per API message id, and writes `tool` facts for tool results."""

    def __init__(self, writer: SessionWriter, start_ts: str) -> None:
        self.writer = writer
        self.session_id = writer.session_id
        self.start_ts = start_ts
        self.last_ts = start_ts
        self.totals = Totals()
        self.pending: PendingAssistant | None = None
        self.seen_ids: set[str] = set()
        self.counted: dict[str, dict[str, int]] = {}  # API message id -> the usage counted for it so far
        self.tool_names: dict[str, str] = {}
        self.open_calls: dict[str, OpenCall] = {}  # tool_use id -> call without a result yet, in call order
        self.answered: set[str] = set()
        self.tool_unanswered = 0
        self.awaiting_reply = False  # the last thing said was the user's (a prompt or tool results)
        self.interrupted = False  # the user interrupted the last turn and nothing followed
        self.error: str | None = None  # an error that ended the last turn (an API error)
        self.ended_status: str | None = None
        self.deferred: list[tuple[str, str, str, ToolFacts, bool, str | None]] = []  # facts after a flush
        self.events = 1  # session.start
        self.children: list[tuple[str, str, str | None]] = []  # (child id, start ts, brief)

    def ts(self, value: Any) -> str:
        ts = clean_ts(value)
        if ts is not None:
            self.last_ts = ts
            return ts
        return self.last_ts

    # --- assistant side ------------------------------------------------------------------------
    def assistant(self, ts: str, msg_id: str | None, blocks: list[Any], *, model: str | None = None,
                  stop_reason: str | None = None, usage: dict[str, int] | None = None) -> None:
        """Add one line of an assistant message; lines sharing `msg_id` in a row become one event."""
        p = self.pending
        if p is not None and msg_id is not None and p.msg_id == msg_id:
            p.blocks.extend(blocks)
            p.usage = max_usage(p.usage, usage)
            if stop_reason:
                p.stop_reason = stop_reason
            if model and not p.model:
                p.model = model
        else:
            self.flush()
            self.pending = PendingAssistant(msg_id, ts, list(blocks), model, stop_reason, usage)
        self.awaiting_reply = self.interrupted = False
        self.error = None
        for b in blocks:
            if isinstance(b, dict) and b.get("type") == "tool_use":
                tid, name = b.get("id"), b.get("name")
                if isinstance(tid, str) and tid not in self.answered and tid not in self.open_calls:
                    name = name if isinstance(name, str) else "unknown"
                    self.tool_names[tid] = name
                    self.open_calls[tid] = OpenCall(name, ts)

    def attach_usage(self, usage: dict[str, int]) -> bool:
        """Give usage reported after the fact (Codex token_count) to the pending assistant message."""
        if self.pending is not None and self.pending.usage is None:
            self.pending.usage = usage
            return True
        return False

    def flush(self) -> None:
        p = self.pending
        if p is None:
            return
        self.pending = None
        extra: dict[str, Any] = {"model": p.model, "stop_reason": p.stop_reason}
        new_id = p.msg_id is None or p.msg_id not in self.seen_ids
        if new_id:
            if p.msg_id is not None:
                self.seen_ids.add(p.msg_id)
            self.totals.turns += 1
            if p.usage is not None:
                extra["usage"] = p.usage
                self.totals.add_usage(p.usage)
                if p.msg_id is not None:
                    self.counted[p.msg_id] = p.usage
        elif p.usage is not None and p.msg_id is not None:
            # the same API message again, after a tool result split its lines: its later lines carry
            # the final counts, so what grew since the first part is added (and carried by this part)
            before = self.counted.get(p.msg_id) or {}
            grown = {k: max(0, p.usage.get(k, 0) - before.get(k, 0)) for k in USAGE_KEYS}
            if any(grown.values()):
                extra["usage"] = grown
                self.totals.add_usage(grown)
                self.counted[p.msg_id] = max_usage(before, p.usage) or p.usage
        if p.msg_id is not None:
            extra["api_message_id"] = p.msg_id
        self.writer.message("assistant", p.blocks, ts=p.ts, **extra)
        self.events += 1
        deferred, self.deferred = self.deferred, []
        for args in deferred:
            self.tool_fact(*args)

    def add_usage_only(self, usage: dict[str, int]) -> None:
        """Usage that could not be attached to a message still counts in the totals."""
        self.totals.add_usage(usage)

    # --- user side -----------------------------------------------------------------------------
    def user(self, ts: str, blocks: list[Any], *, origin: str | None = None,
             facts: dict[str, ToolFacts] | None = None, **extra: Any) -> None:
        """A user message. `origin` marks one that is not the person's words (`meta`, `command`,
        `context`, `interrupt`, `compact`); `facts` are what the transcript says elsewhere about the
        runs whose results it carries (by tool_use id)."""
        self.flush()
        results = False
        for b in blocks:
            if isinstance(b, dict) and b.get("type") == "tool_result":
                results = True
                tid = b.get("tool_use_id")
                self.tool_result(ts, b, (facts or {}).get(tid) if isinstance(tid, str) else None)
        if origin is not None:  # written by the other agent's harness, not the person (docs/session-log.md)
            extra["origin"], extra["harness_kind"] = "harness", origin
        self.writer.message("user", blocks, ts=ts, **extra)
        self.events += 1
        if origin == "interrupt":
            self.interrupted, self.awaiting_reply = True, False
        elif results or (origin is None and _has_text(blocks)):
            self.interrupted, self.awaiting_reply = False, True

    def tool_result(self, ts: str, block: dict[str, Any], facts: ToolFacts | None = None) -> None:
        """Normalize `is_error` on a tool_result block and write the matching `tool` fact: exit code,
        duration (from the transcript, else from the call's and the result's timestamps) and error
        kind. A second result for a call already answered gets no second fact."""
        tid = block.get("tool_use_id")
        if not isinstance(tid, str):
            block["is_error"] = block.get("is_error") is True
            return
        content = block.get("content")
        text = content if isinstance(content, str) else text_of(content, 2000) if isinstance(content, list) else None
        f = facts_from_text(text) if text else _NO_FACTS
        if facts is not None:
            f = facts.merge(f)
        is_error = block.get("is_error") is True or f.failed is True
        block["is_error"] = is_error
        if tid in self.answered:
            return
        self.answered.add(tid)
        call = self.open_calls.pop(tid, None)
        self.tool_fact(ts, tid, call.name if call else self.tool_names.get(tid, "unknown"), f, is_error,
                       call.ts if call else None)

    def tool_fact(self, ts: str, tid: str, name: str, f: ToolFacts, is_error: bool, call_ts: str | None,
                  **extra: Any) -> None:
        """Write one `tool` event and count it (tool_calls is the number of tool events)."""
        kind = None
        if is_error:
            self.totals.tool_errors += 1
            kind = f.error_kind or ("exit_nonzero" if f.exit_code not in (None, 0) else "exception")
        duration = f.duration_ms
        if duration is None and call_ts is not None:
            a, b = parse_ts_ms(call_ts), parse_ts_ms(ts)
            if a is not None and b is not None and b >= a:
                duration = float(b - a)
        if f.running:
            extra["running"] = True
        self.totals.tool_calls += 1
        self.writer.tool(tool_use_id=tid, name=name, duration_ms=duration, exit_code=f.exit_code,
                         error_kind=kind, truncated=f.truncated, ts=ts, **extra)
        self.events += 1

    def answered_elsewhere(self, ts: str, tid: str, f: ToolFacts, is_error: bool) -> bool:
        """A call answered outside a tool_result (a server-side web search): its fact is written right
        after the assistant message that holds the call."""
        call = self.open_calls.pop(tid, None)
        if call is None:
            return False
        self.answered.add(tid)
        self.deferred.append((ts, tid, call.name, f, is_error, call.ts))
        return True

    # --- children and end ----------------------------------------------------------------------
    def subagent(self, ts: str, child_id: str, brief: str | None, event: str = "started",
                 status: str | None = None) -> None:
        self.flush()
        self.writer.subagent(event=event, child_session_id=child_id, brief=brief, status=status, ts=ts)
        self.events += 1

    def status(self) -> str:
        """How the transcript ends: `interrupted` (the user stopped the last turn), `incomplete` (a
        call without its result, or the user's prompt or tool results with no reply: the file stops
        mid-turn), `error` (the last turn ended on an API error), else `completed`."""
        if self.interrupted:
            return "interrupted"
        if self.error is not None:
            return "error"
        if self.open_calls or self.awaiting_reply:
            return "incomplete"
        return "completed"

    def end(self, status: str | None = None, **extra: Any) -> None:
        """Record the calls still without a result as unanswered, then write session.end."""
        self.flush()
        status = status or self.status()
        self.ended_status = status
        for tid, call in list(self.open_calls.items()):
            self.tool_unanswered += 1
            self.tool_fact(self.last_ts, tid, call.name, ToolFacts(), False, None, unanswered=True)
        self.open_calls.clear()
        t = self.totals
        totals: dict[str, Any] = {
            "turns": t.turns, "input_tokens": t.input_tokens, "output_tokens": t.output_tokens,
            "cache_read_tokens": t.cache_read_tokens, "cache_write_tokens": t.cache_write_tokens,
            "tool_calls": t.tool_calls, "tool_errors": t.tool_errors, "tool_unanswered": self.tool_unanswered,
        }
        a, b = parse_ts_ms(self.start_ts), parse_ts_ms(self.last_ts)
        if a is not None and b is not None:
            totals["duration_ms"] = max(0, b - a)
        if status == "error" and self.error and "error" not in extra:
            extra["error"] = self.error
        self.writer.end(status, totals=totals, ts=self.last_ts, **extra)
        self.events += 1


class NullWriter:
    """Stands in for a SessionWriter when a session is already imported: lines are read and counted,
    nothing is written."""

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id

    def message(self, *args: Any, **kwargs: Any) -> None:
        return None

    def tool(self, *args: Any, **kwargs: Any) -> None:
        return None

    def subagent(self, *args: Any, **kwargs: Any) -> None:
        return None

    def end(self, *args: Any, **kwargs: Any) -> None:
        return None


