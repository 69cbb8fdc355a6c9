"""What a lead's sub-agents spent, added up (a session's own totals never include its children's).

    tally = SubagentTally()
    tally.add(child_totals)                      # from any thread, once per sub-agent that started
    data.update(spend_json(result.totals, tally))   # `run --json`: subagents and total_* next to totals

`subagents._finished` reports each child's totals through the lead's callbacks
(`on_subagent_totals(totals)`, an optional hook); `supervisor.Monitor` and the run view keep a tally.
`SubagentTally` and `tokens_of` live with `Totals` (`dreamcli.sessions.totals`), so the outcome checks
add up a graded lead's sub-agents with the same tally.
"""

from __future__ import annotations

from typing import Any

from dreamcli.sessions.totals import SubagentTally, Totals, tokens_of

__all__ = ["SubagentTally", "spend_json", "tokens_of"]


def spend_json(lead: Totals | None, tally: SubagentTally) -> dict[str, Any]:
    """`subagents` (the children summed), `total_tokens` and `total_cost_usd` (the lead's own plus its
    children's): the keys `run --json` adds next to the lead's own `totals`."""
    children = tally.to_json()
    own_tokens = tokens_of(lead) if lead is not None else 0
    own_cost = lead.cost_usd if lead is not None else 0.0
    return {"subagents": children, "total_tokens": own_tokens + children["tokens"],
            "total_cost_usd": round(own_cost + children["cost_usd"], 6)}
