"""RFC 3339 UTC timestamps and human `--since` values (or those of any flag that takes a time)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from dreamcli.errors import UsageError


def now_rfc3339() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


_REL = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(value: str, *, now: datetime | None = None, flag: str = "--since") -> datetime:
    """`7d`, `12h`, `30m`, `2w` (that long before now), an ISO date (`2026-11-01`) or an RFC 3339 timestamp.
    A UsageError names `flag`, the option the value was given to."""
    value = value.strip()
    m = _REL.match(value)
    if m:
        base = now or datetime.now(UTC)
        try:
            return base - timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
        except (OverflowError, ValueError):  # before year 1, more than a timedelta (or int) holds
            raise UsageError(f"{flag}: {value!r} reaches back further than dates go (use e.g. 7d, 12h, "
                             "2026-11-01)") from None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{flag}: cannot read {value!r} (use e.g. 7d, 12h, 2026-11-01)") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt
