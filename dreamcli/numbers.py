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
