"""Totals of a session as `session.end` carries them (keys as in docs/session-log.md): one class for
sessions run by the agent (dreamcli.agent.usage) and sessions built from imported transcripts."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Totals:
    """Totals for session.end (keys as in docs/session-log.md)."""

    turns: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float = 0.0
    tool_calls: int = 0
    tool_errors: int = 0
    duration_ms: float = 0.0

    def add_usage(self, usage: dict[str, int]) -> None:
        """Add the four Anthropic usage counters (`input_tokens`, `output_tokens`,
        `cache_read_input_tokens`, `cache_creation_input_tokens`; missing ones count 0)."""
        self.input_tokens += usage.get("input_tokens", 0)
        self.output_tokens += usage.get("output_tokens", 0)
        self.cache_read_tokens += usage.get("cache_read_input_tokens", 0)
        self.cache_write_tokens += usage.get("cache_creation_input_tokens", 0)

    def add_turn(self, usage: dict[str, int], cost: float) -> None:
        self.turns += 1
        self.add_usage(usage)
        self.cost_usd += cost

    def add_tool(self, is_error: bool) -> None:
        self.tool_calls += 1
        if is_error:
            self.tool_errors += 1

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["cost_usd"] = round(self.cost_usd, 6)
        data["duration_ms"] = round(self.duration_ms, 1)
        return data


def tokens_of(t: Totals) -> int:
    """Input, output and cache tokens of a session (what a sub-agent's token budget counts)."""
    return t.input_tokens + t.output_tokens + t.cache_read_tokens + t.cache_write_tokens


@dataclass
class SubagentTally:
    """The sub-agents a lead started (with a session) and their totals summed. Thread-safe. Kept with
    Totals so every layer can add up a lead's sub-agents the one way (`dreamcli.orchestration.tally`,
    the budget checks of `dreamcli.outcomes`)."""

    count: int = 0
    totals: Totals = field(default_factory=Totals)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, t: Totals) -> None:
        with self._lock:
            s = self.totals
            self.count += 1
            s.turns += t.turns
            s.input_tokens += t.input_tokens
            s.output_tokens += t.output_tokens
            s.cache_read_tokens += t.cache_read_tokens
            s.cache_write_tokens += t.cache_write_tokens
            s.cost_usd += t.cost_usd
            s.tool_calls += t.tool_calls
            s.tool_errors += t.tool_errors

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            t = self.totals
            return {"count": self.count, "turns": t.turns, "input_tokens": t.input_tokens,
                    "output_tokens": t.output_tokens, "cache_read_tokens": t.cache_read_tokens,
                    "cache_write_tokens": t.cache_write_tokens, "tokens": tokens_of(t),
                    "cost_usd": round(t.cost_usd, 6), "tool_calls": t.tool_calls, "tool_errors": t.tool_errors}
