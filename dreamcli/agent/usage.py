"""Token usage and cost totals of a session (prices from the one table in dreamcli.models)."""

from __future__ import annotations

from typing import Any

from dreamcli.models import cost_usd
from dreamcli.sessions.totals import Totals

__all__ = ["USAGE_KEYS", "Totals", "turn_cost", "usage_dict"]

USAGE_KEYS = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")


def usage_dict(usage: Any) -> dict[str, int]:
    """The four usage counters of an SDK Usage object (or dict), missing ones as 0."""
    if usage is None:
        return dict.fromkeys(USAGE_KEYS, 0)
    get = usage.get if isinstance(usage, dict) else lambda k: getattr(usage, k, None)
    return {k: int(get(k) or 0) for k in USAGE_KEYS}


def turn_cost(model: str | None, usage: dict[str, int]) -> float:
    return round(cost_usd(model, usage), 6)
