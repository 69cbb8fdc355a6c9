"""Sessions that arrive out of id order (imports keep the transcript's own time in their ids).

Dreams find new sessions by id order after a watermark; a transcript imported today from last
month would sort before it and never be dreamed. Whoever adds such sessions appends their ids to
`state/session-arrivals.jsonl` (append-only, whole lines), and each dream keeps a byte offset into it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from dreamcli.timeutil import now_rfc3339
from dreamcli.workspace.fsutil import open_append, sync_fd, write_all
from dreamcli.workspace.home import Workspace


def arrivals_path(ws: Workspace) -> Path:
    return ws.state_dir / "session-arrivals.jsonl"


def record_arrivals(ws: Workspace, session_ids: Iterable[str], *, source: str) -> int:
    """Append the ids (one write for the whole batch); returns how many were recorded."""
    ts = now_rfc3339()
    lines = [json.dumps({"ts": ts, "session_id": sid, "source": source}, separators=(",", ":")) + "\n"
             for sid in session_ids]
    if not lines:
        return 0
    path = arrivals_path(ws)
    fd = open_append(path)
    try:
        write_all(fd, "".join(lines).encode("utf-8"))
        sync_fd(fd, path)
    finally:
        os.close(fd)
    return len(lines)


def arrivals_size(ws: Workspace) -> int:
    try:
        return arrivals_path(ws).stat().st_size
    except OSError:
        return 0


def read_arrivals(ws: Workspace, offset: int) -> tuple[list[str], int]:
    """Session ids recorded after byte `offset`, and the offset after the last complete line."""
    ids: list[str] = []
    try:
        with open(arrivals_path(ws), "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if offset > size:  # the file was replaced: read it all again (re-dreaming is idempotent)
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
    except OSError:
        return [], offset
    return ids, offset
