"""Workspace locks: non-blocking by default (exit 75 when held), optionally waiting."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dreamcli.errors import LockHeld
from dreamcli.workspace.fsutil import ensure_dir
from dreamcli.workspace.home import Workspace


@contextmanager
def workspace_lock(ws: Workspace, name: str, *, wait: float | None = None) -> Iterator[None]:
    """Hold the named lock of a workspace.

    `wait=None` fails at once with LockHeld (exit 75) when another process holds it; `wait=-1` waits
    forever; a positive number waits that many seconds and then fails.
    """
    import filelock

    ensure_dir(ws.locks_dir)
    path = ws.locks_dir / f"{name}.lock"
    lock = filelock.FileLock(str(path), mode=0o600)
    timeout = 0 if wait is None else wait
    try:
        lock.acquire(timeout=timeout)
    except filelock.Timeout:
        hint = "" if wait else " (use --wait to queue)"
        raise LockHeld(f"another dreamcli process holds the '{name}' lock on {ws.root}{hint}") from None
    try:
        yield
    finally:
        lock.release()
