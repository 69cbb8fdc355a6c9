"""state/session-arrivals.jsonl truncated, deleted or replaced (an operator trimming it, logrotate's
copytruncate) and grown again past a dream's offset: read from its start, not from that offset into other
lines (operator report: after a truncate and 400 imports the next dream read 101 of them, the rest never).
A watermark keeps a digest of the bytes before its offset; only appending keeps it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from dreamcli.ids import new_ulid
from dreamcli.sessions.arrivals import (
    arrivals_path,
    arrivals_size,
    nothing_arrived,
    read_since,
    record_arrivals,
    trim_arrivals,
)
from dreamcli.workspace.home import Workspace


def _ids(n: int) -> list[str]:
    return [new_ulid() for _ in range(n)]


def test_appended_lines_only_are_read_after_the_offset(ws: Workspace) -> None:
    first, later = _ids(3), _ids(2)
    record_arrivals(ws, first, source="claude-code")
    ids, offset, digest = read_since(ws, 0, None)
    assert ids == first and offset == arrivals_size(ws) and nothing_arrived(ws, offset, digest)
    record_arrivals(ws, later, source="claude-code")
    assert not nothing_arrived(ws, offset, digest)
    assert read_since(ws, offset, digest)[0] == later


def test_a_truncated_file_grown_past_the_offset_is_read_from_its_start(ws: Workspace) -> None:
    record_arrivals(ws, _ids(3), source="claude-code")
    _, offset, digest = read_since(ws, 0, None)
    arrivals_path(ws).write_bytes(b"")  # `: > state/session-arrivals.jsonl`, inode kept
    regrown = _ids(5)
    record_arrivals(ws, regrown, source="claude-code")
    assert arrivals_size(ws) > offset
    ids, end, _ = read_since(ws, offset, digest)
    assert ids == regrown and end == arrivals_size(ws)


def test_a_deleted_file_made_again_is_read_from_its_start(ws: Workspace) -> None:
    record_arrivals(ws, _ids(2), source="codex")
    _, offset, digest = read_since(ws, 0, None)
    arrivals_path(ws).unlink()
    assert read_since(ws, offset, digest) == ([], 0, None) and nothing_arrived(ws, offset, digest)
    regrown = _ids(4)
    record_arrivals(ws, regrown, source="codex")
    assert read_since(ws, offset, digest)[0] == regrown


def test_a_file_replaced_by_one_of_the_same_size_is_noticed(ws: Workspace) -> None:
    record_arrivals(ws, _ids(2), source="codex")
    _, offset, digest = read_since(ws, 0, None)
    path = arrivals_path(ws)
    other = path.read_bytes().replace(b'"codex"', b'"other"')  # the same length, other lines
    assert len(other) == offset
    path.write_bytes(other)
    assert not nothing_arrived(ws, offset, digest)  # the cron fast path hands it to the dream
    assert len(read_since(ws, offset, digest)[0]) == 2


def test_an_older_watermark_inside_a_line_reads_from_the_start(ws: Workspace) -> None:
    """A watermark from before the digest is trusted only where a line ends."""
    sids = _ids(3)
    record_arrivals(ws, sids, source="codex")
    size = arrivals_size(ws)
    assert read_since(ws, size, None)[0] == []
    assert read_since(ws, size - 7, None)[0] == sids


def test_an_append_after_a_torn_line_starts_a_line_of_its_own(ws: Workspace) -> None:
    record_arrivals(ws, _ids(1), source="codex")
    with open(arrivals_path(ws), "ab") as f:
        f.write(b'{"session_id":"01J')  # a write cut short (a full disk)
    later = _ids(2)
    record_arrivals(ws, later, source="codex")
    assert read_since(ws, 0, None)[0][1:] == later


def test_trim_empties_only_a_file_still_at_the_offset(ws: Workspace) -> None:
    record_arrivals(ws, _ids(3), source="codex")
    _, offset, digest = read_since(ws, 0, None)
    record_arrivals(ws, _ids(1), source="codex")  # arrived after the dream read: kept
    assert not trim_arrivals(ws, offset, digest) and arrivals_size(ws) > offset
    _, offset, digest = read_since(ws, offset, digest)
    assert digest is not None and trim_arrivals(ws, offset, digest)
    assert arrivals_size(ws) == 0 and oct(os.stat(arrivals_path(ws)).st_mode & 0o777) == "0o600"


def test_trim_skips_while_an_append_holds_the_lock(ws: Workspace, tmp_path: Path) -> None:
    record_arrivals(ws, _ids(2), source="codex")
    _, offset, digest = read_since(ws, 0, None)
    assert digest is not None
    ready = tmp_path / "ready"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path\n"
        "from dreamcli.workspace.home import Workspace\n"
        "from dreamcli.workspace.lock import workspace_lock\n"
        f"with workspace_lock(Workspace(Path({str(ws.root)!r}), 'option'), 'arrivals'):\n"
        f"    Path({str(ready)!r}).touch(); time.sleep(30)\n")])
    try:
        for _ in range(200):
            if ready.exists():
                break
            time.sleep(0.05)
        assert ready.exists()
        assert not trim_arrivals(ws, offset, digest) and arrivals_size(ws) == offset
    finally:
        holder.kill()
        holder.wait()
    assert trim_arrivals(ws, offset, digest) and arrivals_size(ws) == 0
