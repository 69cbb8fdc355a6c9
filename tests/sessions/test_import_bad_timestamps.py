"""A transcript's `timestamp` is untrusted: one of the right shape that names no real time
(`9999-99-99T00:00:00Z`, 30 February, a 61st second) or one whose UTC falls outside years 1 to 9999 is
not a time. It was stored as the event's `ts` (and listed as when the session ended), or stopped the
import with an internal error; now the event takes the time before it, as an event with no time does."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from dreamcli.sessions.importers.common import clean_ts, parse_ts_ms
from dreamcli.sessions.importers.runner import import_transcripts
from dreamcli.sessions.paths import iter_session_files
from dreamcli.sessions.reader import read_events
from dreamcli.workspace.home import Workspace

NOT_TIMES = ["9999-99-99T00:00:00Z", "2026-02-30T00:00:00Z", "2026-01-01T23:59:60Z",
             "0001-01-01T00:00:00+01:00", "0001-01-01 00:00:00+01:00", "9999-12-31 23:59:59-23:00"]


@pytest.mark.parametrize("value", NOT_TIMES)
def test_a_shape_that_names_no_time_is_not_a_timestamp(value: str) -> None:
    assert clean_ts(value) is None and parse_ts_ms(value) is None


def test_real_times_are_kept_or_normalised() -> None:
    assert clean_ts("2026-01-01T05:00:00+05:00") == "2026-01-01T05:00:00+05:00"
    assert clean_ts("9999-12-31T23:59:59.999Z") == "9999-12-31T23:59:59.999Z"
    assert clean_ts("2026-01-01 00:00:00") == "2026-01-01T00:00:00.000Z"


@pytest.mark.parametrize("bad", NOT_TIMES)
def test_an_import_keeps_only_real_times(new_ws: Workspace, tmp_path: Path, bad: str) -> None:
    lines = [
        {"type": "user", "sessionId": "s-1", "uuid": "u1", "timestamp": "2026-01-01T00:00:00Z", "cwd": "/tmp",
         "message": {"role": "user", "content": "hello"}},
        {"type": "assistant", "sessionId": "s-1", "uuid": "u2", "parentUuid": "u1", "timestamp": bad,
         "message": {"id": "m1", "role": "assistant", "model": "claude", "content": [{"type": "text", "text": "hi"}]}},
    ]
    source = tmp_path / "proj"
    source.mkdir()
    (source / "s.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    summary = import_transcripts(new_ws, "claude-code", source)
    assert summary.sessions == 1
    [path] = list(iter_session_files(new_ws))
    events, stats = read_events(path)
    assert stats.skipped == 0
    stamps = [e["ts"] for e in events]
    assert bad not in stamps
    assert all(datetime.fromisoformat(ts.replace("Z", "+00:00")) for ts in stamps)
    assert stamps[-1] == "2026-01-01T00:00:00Z"  # the reply takes the time before it
