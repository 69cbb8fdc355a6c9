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
