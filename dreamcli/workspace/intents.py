"""Intent journals for multi-file operations (docs/reliability.md).

An operation that changes several files writes an intent first (`state/intents/<kind>-<id>.json`,
atomic and fsync'd: what it is about to do, and the pid of the writer), does its steps so that each
can be repeated, and deletes the intent when everything, the audit record included, is done. An
intent still there means the writer died in between: the next command runs that kind's recovery,
which rolls the operation forward or back (never a half state, never a duplicate) and then deletes
the intent. Each kind's recovery holds the lock of its operation, so a live writer is never
"recovered"; an intent whose pid is still alive is left alone.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from dreamcli.ids import new_ulid
from dreamcli.timeutil import now_rfc3339
from dreamcli.workspace.fsutil import atomic_write_text
from dreamcli.workspace.home import Workspace
from dreamcli.workspace.sweep import pid_alive


def intents_dir(ws: Workspace) -> Path:
    return ws.intents_dir


def write_intent(ws: Workspace, kind: str, data: dict[str, Any], *, path: Path | None = None) -> Path:
    """Write (or rewrite) an intent; returns its path."""
    path = path or intents_dir(ws) / f"{kind}-{new_ulid()}.json"
    record = {"v": 1, "kind": kind, "ts": now_rfc3339(), "pid": os.getpid(), **data}
    atomic_write_text(path, json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    return path


def pending_intents(ws: Workspace, kind: str) -> list[tuple[Path, dict[str, Any]]]:
    """Intents of `kind` left by processes that are no longer running, oldest first. An unreadable
    intent (only a damaged disk makes one: they are written atomically) comes back as {}."""
    d = intents_dir(ws)
    if not d.is_dir():
        return []
    out = []
    for path in sorted(d.glob(f"{kind}-*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            continue
        except (OSError, ValueError, RecursionError):
            data = {}
        if not isinstance(data, dict):
            data = {}
        pid = data.get("pid")
        if isinstance(pid, int) and pid != os.getpid() and pid_alive(pid):
            continue
        out.append((path, data))
    return out


def any_intents(ws: Workspace) -> bool:
    d = intents_dir(ws)
    try:
        return any(p.suffix == ".json" for p in d.iterdir())
    except OSError:
        return False


def done(path: Path) -> None:
    path.unlink(missing_ok=True)
