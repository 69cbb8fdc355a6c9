"""Does a session look still running? The one rule, for every reader: no `session.end`, and activity (the time of
its last event) in the last RUNNING_GRACE_S seconds. A dream sets such a session aside and reads it again next
time (`dreamcli.dream.signals.scan_stream`); `grade --last/--since/--task` leaves it out
(`dreamcli.outcomes.selection`). One without an end and quiet for longer was killed: it is read as it is."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from dreamcli.sessions import schema
from dreamcli.timeutil import parse_ts

RUNNING_GRACE_S = 1800  # a session without an end, active this recently, may still be running
RULE = f"no session.end, active in the last {RUNNING_GRACE_S // 60} minutes"  # the rule in words, for messages


def recent(ts: str | None, now: datetime | None, seconds: float = RUNNING_GRACE_S) -> bool:
    """Was `ts` less than `seconds` before `now`? (A session without an end, active this recently, may
    still be running.)"""
    if not ts or now is None:
        return False
    try:
        return (now - parse_ts(ts)).total_seconds() < seconds
    except (ValueError, TypeError, OverflowError):  # TypeError: a time without its offset (naive)
        return False


def looks_running(ended: bool, last_ts: str | None, now: datetime | None) -> bool:
    """The rule: not `ended` (no session.end read) and `last_ts`, the time of the last event, `recent` at `now`."""
    return not ended and recent(last_ts, now)


def still_running(path: Path, now: datetime) -> bool:
    """Does the session file at `path` look still running at `now`? By its last valid event alone: `session.end`
    is always a log's last line (docs/session-log.md), and a cut-off line being written is skipped. A file that
    cannot be read is not running (whoever reads it next says why)."""
    from dreamcli.sessions.reader import read_last_event

    try:
        last = read_last_event(path)
    except OSError:
        return False
    if last is None:
        return False
    ts = last.get("ts")
    return looks_running(last.get("type") == schema.SESSION_END, ts if isinstance(ts, str) else None, now)
