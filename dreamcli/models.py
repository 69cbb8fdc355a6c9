"""Default model ids and the one price table. Change models and prices here, nowhere else.

Defaults are current models the SDK does not mark deprecated (see anthropic.resources.messages
DEPRECATED_MODELS); tests assert that.
"""

from __future__ import annotations

DEFAULT_AGENT_MODEL = "claude-sonnet-5-5"
DEFAULT_GRADER_MODEL = "claude-haiku-5-5"
DEFAULT_DREAMER_MODEL = "claude-sonnet-5-5"
DEFAULT_MODELS = {"agent": DEFAULT_AGENT_MODEL, "grader": DEFAULT_GRADER_MODEL, "dreamer": DEFAULT_DREAMER_MODEL}

# USD per million tokens: (input, output). Cache writes cost 1.25x input, cache reads 0.1x input.
# Matched by the longest prefix of the model id; unknown models cost 0 and are flagged as unpriced.
PRICES_PER_MTOK: dict[str, tuple[float, float]] = {
    "claude-opus-5": (5.0, 25.0),
    "claude-sonnet-5": (3.0, 15.0),
    "claude-haiku-5": (1.0, 5.0),
    "claude-opus-4": (5.0, 25.0),
    "claude-sonnet-4": (3.0, 15.0),
    "claude-haiku-4": (1.0, 5.0),
}
CACHE_WRITE_MULTIPLIER = 1.25
CACHE_READ_MULTIPLIER = 0.1
BATCH_DISCOUNT = 0.5


def price_for(model: str | None) -> tuple[float, float] | None:
    if not model:
        return None
    best = None
    for prefix, price in PRICES_PER_MTOK.items():
        if model.startswith(prefix) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, price)
    return best[1] if best else None


def cost_usd(model: str | None, usage: dict[str, int] | None, *, batch: bool = False) -> float:
    """Cost of one response's usage (keys as in the API: input_tokens, output_tokens,
    cache_read_input_tokens, cache_creation_input_tokens)."""
    price = price_for(model)
    if price is None or not usage:
        return 0.0
    inp, out = price
    total = (
        usage.get("input_tokens", 0) * inp
        + usage.get("output_tokens", 0) * out
        + (usage.get("cache_creation_input_tokens") or 0) * inp * CACHE_WRITE_MULTIPLIER
        + (usage.get("cache_read_input_tokens") or 0) * inp * CACHE_READ_MULTIPLIER
    ) / 1_000_000
    return total * (BATCH_DISCOUNT if batch else 1.0)
