"""Workspace locks: non-blocking by default (exit 75 when held), optionally waiting. The holder leaves a record
beside the lock (`dreamcli.workspace.lockholder`), so that a refused command names who holds it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dreamcli.errors import LockHeld
from dreamcli.workspace.fsutil import ensure_dir
from dreamcli.workspace.home import Workspace
from dreamcli.workspace.lockholder import clear_record, describe, read_holder, write_record


@contextmanager
def workspace_lock(ws: Workspace, name: str, *, wait: float | None = None) -> Iterator[None]:
    """Hold the named lock of a workspace.

    `wait=None` fails at once with LockHeld (exit 75) when another process holds it; `wait=-1` waits
    forever; a positive number waits that many seconds and then fails. The error names the holder.
    """
    import filelock

    ensure_dir(ws.locks_dir)
    path = ws.locks_dir / f"{name}.lock"
    lock = filelock.FileLock(str(path), mode=0o600)
    timeout = 0 if wait is None else wait
    try:
        lock.acquire(timeout=timeout)
    except filelock.Timeout:
        raise LockHeld(held_message(ws, name, path, wait)) from None
    try:
        write_record(path)
        yield
    finally:
        clear_record(path)
        lock.release()


def held_message(ws: Workspace, name: str, path: Path, wait: float | None) -> str:
    """The one line of a refused lock: which lock, who holds it (checked, never trusted), what to do."""
    who = describe(read_holder(path))
    if wait:
        return f"the '{name}' lock of workspace {ws.root} is still held after waiting {wait:g} s, by {who}"
    return f"the '{name}' lock of workspace {ws.root} is held by {who}; wait, or run with --wait SECONDS"
