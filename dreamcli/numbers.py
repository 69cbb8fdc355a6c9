"""Numbers read from files others wrote: JSON allows integers and exponents that no float holds
(`1e400`, a 400-digit cost), and the standard library's reader yields NaN and infinities."""

from __future__ import annotations

import math
from typing import Any


def finite(value: Any) -> float | None:
    """A finite JSON number as a float; None for anything else (strings, booleans, NaN, infinities, and
    integers too large for a float, where `float()` raises)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        value = float(value)
    except OverflowError:
        return None
    return value if math.isfinite(value) else None


def held(value: Any) -> Any:
    """`value`, or None for a number no index column holds and no strict JSON prints: NaN, infinities,
    an integer past 64 bits (SQLite raised OverflowError on one)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, int) and not -(2**63) <= value < 2**63:
        return None
    return value


def finite_json(data: Any) -> Any:
    """A copy of JSON-like `data` with each NaN and infinity as None, which strict JSON readers accept.
    A walk with its own stack, not recursion: a log's value may be nested as deep as the decoder allowed."""

    def leaf(value: Any) -> Any:
        return (value if value - value == 0.0 else None) if isinstance(value, float) else value

    if not isinstance(data, dict | list | tuple):
        return leaf(data)
    root: Any = {} if isinstance(data, dict) else []
    stack = [(data, root)]
    while stack:
        source, copy = stack.pop()
        for key, value in (source.items() if isinstance(source, dict) else enumerate(source)):
            if isinstance(value, dict | list | tuple):
                new: Any = {} if isinstance(value, dict) else []
                stack.append((value, new))
            else:
                new = leaf(value)
            if isinstance(copy, dict):
                copy[key] = new
            else:
                copy.append(new)
    return root
