"""Does a session look still running? The one rule, for every reader: no `session.end`, and activity (the time of
its last event) in the last RUNNING_GRACE_S seconds. A time more than FUTURE_SKEW_S ahead of now is no activity:
written by a clock set wrong, it would keep the session "running" until the clock caught up. A dream sets such a
session aside and reads it again next time (`dreamcli.dream.signals.scan_stream`); `grade --last/--since/--task`
leaves it out (`dreamcli.outcomes.selection`). One without an end and quiet for longer was killed: it is read as it
is."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from dreamcli.sessions import schema
from dreamcli.timeutil import parse_ts

RUNNING_GRACE_S = 1800  # a session without an end, active this recently, may still be running
FUTURE_SKEW_S = 300  # a last event up to this far ahead of now is activity (clocks a little apart); further is not
RULE = f"no session.end, active in the last {RUNNING_GRACE_S // 60} minutes"  # the rule in words, for messages
# how far back from a log's end `still_running` looks for its last whole event: a logged image (a tool result) is
# a line of ~5 MB. A last line longer than this is judged by the time the file was last written
LONG_LINE_MAX = 32 * 1024 * 1024
_LOOK_BACK = 16  # read_last_event gives up this many of its chunks back from the end


def recent(ts: str | None, now: datetime | None, seconds: float = RUNNING_GRACE_S) -> bool:
    """Was `ts` less than `seconds` before `now`, and not more than FUTURE_SKEW_S after it? (A session without an
    end, active this recently, may still be running.)"""
    if not ts or now is None:
        return False
    try:
        return _within((now - parse_ts(ts)).total_seconds(), seconds)
    except (ValueError, TypeError, OverflowError):  # TypeError: a time without its offset (naive)
        return False


def _within(age: float, seconds: float) -> bool:
    return -FUTURE_SKEW_S <= age < seconds


def looks_running(ended: bool, last_ts: str | None, now: datetime | None) -> bool:
    """The rule: not `ended` (no session.end read) and `last_ts`, the time of the last event, `recent` at `now`."""
    return not ended and recent(last_ts, now)


def still_running(path: Path, now: datetime) -> bool:
    """Does the session file at `path` look still running at `now`? By its last valid event alone: `session.end`
    is always a log's last line (docs/session-log.md), and a cut-off line being written is skipped. A last line
    longer than a first look reads (16 x 64 KB) is looked for again up to LONG_LINE_MAX back, and decoded whole
    as the dream decodes it; past that, the file's last write stands for its last event (`_written_lately`: a
    session.end is a short line, so such a log has none). A file that cannot be read is not running (whoever
    reads it next says why)."""
    from dreamcli.sessions.reader import read_last_event

    try:
        last = read_last_event(path)
        if last is None:
            size = path.stat().st_size
            chunk = 65536
            while last is None and size > _LOOK_BACK * chunk:  # it gave up before the first line
                if _LOOK_BACK * chunk >= LONG_LINE_MAX:
                    return _written_lately(path, now)
                chunk = max(chunk, LONG_LINE_MAX // _LOOK_BACK)
                last = read_last_event(path, chunk=chunk)
            if last is None:  # no event in the whole file
                return False
    except OSError:
        return False
    ts = last.get("ts")
    return looks_running(last.get("type") == schema.SESSION_END, ts if isinstance(ts, str) else None, now)


def _written_lately(path: Path, now: datetime) -> bool:
    """Was the file last written within the grace before `now` (by the rule's bounds)?"""
    mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    return _within((now - mtime).total_seconds(), RUNNING_GRACE_S)
