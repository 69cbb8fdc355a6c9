"""One session being built from a transcript: assistant lines of one API message grouped into one
`message` event, usage counted once per API message id, `tool` facts for tool results, totals."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from dreamcli.sessions.importers.common import clean_ts, parse_ts_ms, text_of
from dreamcli.sessions.totals import Totals
from dreamcli.sessions.writer import SessionWriter

USAGE_KEYS = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")


def clean_usage(raw: Any) -> dict[str, int] | None:
    """The four Anthropic usage counters of a usage object (other keys dropped)."""
    if not isinstance(raw, dict):
        return None
    out = {}
    for key in USAGE_KEYS:
        v = raw.get(key)
        out[key] = v if isinstance(v, int) and v >= 0 else 0
    return out


def max_usage(a: dict[str, int] | None, b: dict[str, int] | None) -> dict[str, int] | None:
    if a is None:
        return b
    if b is None:
        return a
    return {k: max(a.get(k, 0), b.get(k, 0)) for k in USAGE_KEYS}


_EXIT_RE = re.compile(r"^\s*(?:Exit code:?|Process exited with code)\s*(-?\d+)")


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
        self.tool_names: dict[str, str] = {}
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
        for b in blocks:
            if isinstance(b, dict) and b.get("type") == "tool_use":
                self.totals.tool_calls += 1
                tid, name = b.get("id"), b.get("name")
                if isinstance(tid, str) and isinstance(name, str):
                    self.tool_names[tid] = name

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
            extra["api_message_id"] = p.msg_id
        self.writer.message("assistant", p.blocks, ts=p.ts, **extra)
        self.events += 1

    def add_usage_only(self, usage: dict[str, int]) -> None:
        """Usage that could not be attached to a message still counts in the totals."""
        self.totals.add_usage(usage)

    # --- user side -----------------------------------------------------------------------------
    def user(self, ts: str, blocks: list[Any], **extra: Any) -> None:
        self.flush()
        for b in blocks:
            if isinstance(b, dict) and b.get("type") == "tool_result":
                self.tool_result(ts, b)
        self.writer.message("user", blocks, ts=ts, **extra)
        self.events += 1

    def tool_result(self, ts: str, block: dict[str, Any]) -> None:
        """Normalize `is_error` on a tool_result block and write the matching `tool` fact."""
        is_error = block.get("is_error") is True
        block["is_error"] = is_error
        tid = block.get("tool_use_id")
        if not isinstance(tid, str):
            return
        exit_code = None
        text = block.get("content")
        if isinstance(text, list):
            text = text_of(text, 200)
        if isinstance(text, str):
            m = _EXIT_RE.match(text[:80])
            if m:
                exit_code = int(m.group(1))
        kind = None
        if is_error:
            self.totals.tool_errors += 1
            kind = "exit_nonzero" if exit_code not in (None, 0) else "exception"
        self.writer.tool(tool_use_id=tid, name=self.tool_names.get(tid, "unknown"), exit_code=exit_code,
                         error_kind=kind, ts=ts)
        self.events += 1

    # --- children and end ----------------------------------------------------------------------
    def subagent(self, ts: str, child_id: str, brief: str | None, event: str = "started",
                 status: str | None = None) -> None:
        self.flush()
        self.writer.subagent(event=event, child_session_id=child_id, brief=brief, status=status, ts=ts)
        self.events += 1

    def end(self, status: str = "completed", **extra: Any) -> None:
        self.flush()
        t = self.totals
        totals: dict[str, Any] = {
            "turns": t.turns, "input_tokens": t.input_tokens, "output_tokens": t.output_tokens,
            "cache_read_tokens": t.cache_read_tokens, "cache_write_tokens": t.cache_write_tokens,
            "tool_calls": t.tool_calls, "tool_errors": t.tool_errors,
        }
        a, b = parse_ts_ms(self.start_ts), parse_ts_ms(self.last_ts)
        if a is not None and b is not None:
            totals["duration_ms"] = max(0, b - a)
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


