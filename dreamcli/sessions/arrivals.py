"""Sessions that arrive out of id order (imports keep the transcript's own time in their ids).

Dreams find new sessions by id order after a watermark; a transcript imported today from last
month would sort before it and never be dreamed. Whoever adds such sessions appends their ids to
`state/session-arrivals.jsonl` (whole lines, under the workspace's "arrivals" lock), and each dream
keeps a byte offset into it with a digest of the bytes before that offset (`digest_at`): a file
truncated, deleted or replaced since (an operator trimming it, logrotate's copytruncate) no longer
matches the digest and is read from its start, instead of from an offset into other lines. The
dream empties the file (`trim_arrivals`) once every playbook's watermark is at its end; deleting it
by hand is as safe (its next dream reads whatever arrives after from the start).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from dreamcli.timeutil import now_rfc3339
from dreamcli.workspace.fsutil import line_start, open_append, sync_fd, write_all
from dreamcli.workspace.home import Workspace

LOCK_NAME = "arrivals"  # held for each append and for the trim, never while taking another lock
APPEND_WAIT_S = 600  # an append waits for a trim (which takes milliseconds) rather than fail an import
WINDOW = 256  # bytes of the file's head and of the part just before the offset that the digest covers


def arrivals_path(ws: Workspace) -> Path:
    return ws.state_dir / "session-arrivals.jsonl"


def record_arrivals(ws: Workspace, session_ids: Iterable[str], *, source: str) -> int:
    """Append the ids (one write for the whole batch, on a line of its own after a torn one); returns how
    many were recorded."""
    from dreamcli.workspace.lock import workspace_lock

    ts = now_rfc3339()
    lines = [json.dumps({"ts": ts, "session_id": sid, "source": source}, separators=(",", ":")) + "\n"
             for sid in session_ids]
    if not lines:
        return 0
    path = arrivals_path(ws)
    with workspace_lock(ws, LOCK_NAME, wait=APPEND_WAIT_S):  # never between a trim's check and its truncate
        fd = open_append(path, readable=True)
        try:
            write_all(fd, line_start(fd) + "".join(lines).encode("utf-8"))
            sync_fd(fd, path)
        finally:
            os.close(fd)
    return len(lines)


def arrivals_size(ws: Workspace) -> int:
    try:
        return arrivals_path(ws).stat().st_size
    except OSError:
        return 0


def digest_at(f: BinaryIO, offset: int) -> str:
    """What a watermark keeps of the file with its offset: a digest of the first and the last WINDOW bytes
    before `offset`. Appending never changes them; truncating, deleting or replacing the file does (the lines
    hold their time to the millisecond and a session id)."""
    h = hashlib.sha256()
    for start in (0, max(0, offset - WINDOW)):
        f.seek(start)
        h.update(f.read(min(WINDOW, offset - start)))
        h.update(b"\0")
    return h.hexdigest()[:32]


def _still_there(f: BinaryIO, offset: int, seen: str | None, size: int) -> bool:
    """Whether the lines before `offset` are those a dream took into account (`seen`: their `digest_at`).
    A watermark from before the digest (`seen` None) is trusted when its offset ends a line."""
    if offset > size:
        return False
    if offset == 0:
        return True
    if seen is None:
        f.seek(offset - 1)
        return f.read(1) == b"\n"
    return digest_at(f, offset) == seen


def read_since(ws: Workspace, offset: int, seen: str | None) -> tuple[list[str], int, str | None]:
    """Session ids recorded after byte `offset`, the offset after the last complete line, and its digest.
    The whole file when it no longer holds what `seen` says was before `offset` (truncated, deleted and
    regrown, replaced): reading a session again is harmless, support counts distinct episodes. No file: no
    ids, offset 0 (the file a later import makes is read from its start)."""
    ids: list[str] = []
    try:
        f = open(arrivals_path(ws), "rb")  # noqa: SIM115 (closed below, after the digest)
    except FileNotFoundError:
        return [], 0, None
    except OSError:
        return [], offset, seen
    with f:
        try:
            size = os.fstat(f.fileno()).st_size
            if not _still_there(f, offset, seen, size):
                offset = 0
            f.seek(offset)
            for raw in f:
                if not raw.endswith(b"\n"):
                    break  # a line still being written: read it next time
                offset += len(raw)
                try:
                    sid = json.loads(raw).get("session_id")
                except (ValueError, AttributeError, RecursionError):
                    continue
                if isinstance(sid, str):
                    ids.append(sid.upper())
            return ids, offset, digest_at(f, offset)
        except OSError:
            return [], offset, seen


def read_arrivals(ws: Workspace, offset: int) -> tuple[list[str], int]:
    """Session ids recorded after byte `offset` (trusted when it ends a line), and the offset after the last
    complete line."""
    ids, end, _ = read_since(ws, offset, None)
    return ids, end


def nothing_arrived(ws: Workspace, offset: int, seen: str | None) -> bool:
    """Whether a watermark at `offset` (with digest `seen`) has every arrival: the file is empty or gone, or it
    ends at `offset` and still holds the lines the watermark took into account (the cron fast path)."""
    try:
        with open(arrivals_path(ws), "rb") as f:
            size = os.fstat(f.fileno()).st_size
            return size == 0 or (size == offset and _still_there(f, offset, seen, size))
    except FileNotFoundError:
        return True
    except OSError:
        return False


def trim_arrivals(ws: Workspace, offset: int, seen: str) -> bool:
    """Empty the file when it still ends at `offset` with digest `seen` (every playbook's watermark is there:
    the caller checked), under the lock every append takes, so no line arrives between the check and the
    truncation. Skipped (False) when the lock is busy or the file grew; the next dream tries again."""
    from dreamcli.errors import LockHeld
    from dreamcli.workspace.lock import workspace_lock

    if offset <= 0:
        return False
    with contextlib.suppress(LockHeld, OSError), workspace_lock(ws, LOCK_NAME):
        fd = os.open(arrivals_path(ws), os.O_RDWR | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "r+b") as f:
            size = os.fstat(f.fileno()).st_size
            if size != offset or digest_at(f, offset) != seen:
                return False
            f.truncate(0)  # in place: an appender of an older dreamcli that holds it open writes at its new end
            os.fsync(f.fileno())
            return True
    return False
