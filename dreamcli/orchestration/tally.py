"""What a lead's sub-agents spent, added up (a session's own totals never include its children's).

    tally = SubagentTally()
    tally.add(child_totals)                      # from any thread, once per sub-agent that started
    data.update(spend_json(result.totals, tally))   # `run --json`: subagents and total_* next to totals

`subagents._finished` reports each child's totals through the lead's callbacks
(`on_subagent_totals(totals)`, an optional hook); `supervisor.Monitor` and the run view keep a tally.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from dreamcli.sessions.totals import Totals


def tokens_of(t: Totals) -> int:
    """Input, output and cache tokens of a session (what a sub-agent's token budget counts)."""
    return t.input_tokens + t.output_tokens + t.cache_read_tokens + t.cache_write_tokens


@dataclass
class SubagentTally:
    """The sub-agents a lead started (with a session) and their totals summed. Thread-safe."""

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


def spend_json(lead: Totals | None, tally: SubagentTally) -> dict[str, Any]:
    """`subagents` (the children summed), `total_tokens` and `total_cost_usd` (the lead's own plus its
    children's): the keys `run --json` adds next to the lead's own `totals`."""
    children = tally.to_json()
    own_tokens = tokens_of(lead) if lead is not None else 0
    own_cost = lead.cost_usd if lead is not None else 0.0
    return {"subagents": children, "total_tokens": own_tokens + children["tokens"],
            "total_cost_usd": round(own_cost + children["cost_usd"], 6)}
