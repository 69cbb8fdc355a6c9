"""Totals of a session as `session.end` carries them (keys as in docs/session-log.md): one class for
sessions run by the agent (dreamcli.agent.usage) and sessions built from imported transcripts."""

from __future__ import annotations

from dataclasses import asdict, dataclass
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
