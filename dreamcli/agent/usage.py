"""Token usage and cost totals of a session (prices from the one table in dreamcli.models)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from dreamcli.models import cost_usd

USAGE_KEYS = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")


def usage_dict(usage: Any) -> dict[str, int]:
    """The four usage counters of an SDK Usage object (or dict), missing ones as 0."""
    if usage is None:
        return dict.fromkeys(USAGE_KEYS, 0)
    get = usage.get if isinstance(usage, dict) else lambda k: getattr(usage, k, None)
    return {k: int(get(k) or 0) for k in USAGE_KEYS}


def turn_cost(model: str | None, usage: dict[str, int]) -> float:
    return round(cost_usd(model, usage), 6)


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

    def add_turn(self, usage: dict[str, int], cost: float) -> None:
        self.turns += 1
        self.input_tokens += usage.get("input_tokens", 0)
        self.output_tokens += usage.get("output_tokens", 0)
        self.cache_read_tokens += usage.get("cache_read_input_tokens", 0)
        self.cache_write_tokens += usage.get("cache_creation_input_tokens", 0)
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
