"""Who holds a workspace lock: the record its holder leaves beside it, and the words that name the holder.

A process that takes the lock `state/locks/<name>.lock` writes `state/locks/<name>.holder` (its pid, its
command, when it took the lock and, where /proc tells it, its process's start time) and removes it before it
releases the lock. The record is a hint, never trusted as it is: a process killed with -9 leaves it behind,
and its pid may since run another program. `read_holder` checks the pid against the running processes (and
its start time, on Linux, where a zombie no longer runs), and names such a record stale. Whether the lock is
held is the lock's own answer (`lock_held`), never the record's.

    held = lock_held(lock_path)             # True, False, or None (cannot tell)
    holder = read_holder(lock_path)         # Holder(pid, command, since, stale) or None
    describe(holder)                        # "dreamcli dream (pid 123, since 04:10:02, 3 min ago)"
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from dreamcli.workspace.fsutil import FILE_MODE, write_all
from dreamcli.workspace.sweep import pid_alive

SUFFIX = ".holder"
UNNAMED = "another program using dreamcli"  # a library caller: no command line of dreamcli's named it
_NOBLOCK = getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_command: list[str] = []  # the command this process runs, as the CLI names it (`set_command`)


@dataclass(frozen=True)
class Holder:
    pid: int
    command: str
    since: str  # RFC 3339, UTC: when the lock was taken
    stale: str | None = None  # why the record names no process that holds the lock now; None: it may

    def to_json(self) -> dict[str, object]:
        return {"pid": self.pid, "command": self.command, "since": self.since, "stale": self.stale}


def set_command(words: str) -> None:
    """Name what this process runs (`dreamcli dream`), for the records of the locks it takes."""
    _command[:] = [words]


def record_path(lock_path: Path) -> Path:
    return lock_path.with_name(lock_path.name.removesuffix(".lock") + SUFFIX)


def write_record(lock_path: Path) -> None:
    """Record this process as the holder of the lock at `lock_path` (call it once the lock is taken). Best
    effort: a record that cannot be written leaves the lock as it is."""
    import json  # here: every command imports this module (`set_command`), few take a lock

    from dreamcli.procinfo import process_start

    data = {"v": 1, "pid": os.getpid(), "command": _command[0] if _command else UNNAMED,
            "since": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "start": process_start(os.getpid(), zombies=False)}
    path = record_path(lock_path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.w.tmp")  # a dead writer's is swept (dreamcli.workspace.sweep)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _NOBLOCK, FILE_MODE)
        try:
            write_all(fd, json.dumps(data).encode())
        finally:
            os.close(fd)
        os.replace(tmp, path)  # whole or not at all (no fsync: a hint, which a crash may lose)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()


def clear_record(lock_path: Path) -> None:
    """Remove this process's record (call it before the lock is released)."""
    with contextlib.suppress(OSError):
        record_path(lock_path).unlink()


def read_holder(lock_path: Path) -> Holder | None:
    """The record beside the lock, checked against the running processes; None when there is none (or it does
    not read)."""
    import json

    try:
        data = json.loads(_read_regular(record_path(lock_path)))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    pid, command, since, start = data.get("pid"), data.get("command"), data.get("since"), data.get("start")
    if type(pid) is not int or not isinstance(command, str) or not isinstance(since, str):
        return None
    return Holder(pid=pid, command=" ".join(command.split())[:80] or UNNAMED, since=since,
                  stale=_stale(pid, start if type(start) is int else None))


def _read_regular(path: Path, limit: int = 4096) -> bytes:
    """The start of a regular file; OSError for anything else (a FIFO planted there would block a plain read)."""
    import stat

    fd = os.open(path, os.O_RDONLY | _NOBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{path}: not a regular file")
        return os.read(fd, limit)
    finally:
        os.close(fd)


def _stale(pid: int, start: int | None) -> str | None:
    if pid == os.getpid():  # a record of ours is current only while we hold the lock; the caller knows
        return None
    from dreamcli.procinfo import read_stat  # here, as json above

    stat = read_stat(pid)  # None: gone, or no /proc here
    if not pid_alive(pid) or (stat is not None and stat.exited):  # a zombie holds no lock: its files are closed
        return f"pid {pid} no longer runs"
    if start is not None and stat is not None and stat.start != start:
        return f"pid {pid} now runs another program"
    return None


def lock_held(lock_path: Path) -> bool | None:
    """Whether a process holds the lock at `lock_path`, asked of the lock itself (flock) without creating or
    changing the file: a shared lock, taken and dropped at once (a command that tries the lock in that instant
    without --wait is refused as if it were held); None when this system cannot tell."""
    try:
        import fcntl
    except ImportError:
        return None
    try:
        fd = os.open(lock_path, os.O_RDONLY | _NOBLOCK)
    except FileNotFoundError:
        return False  # never taken
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return None
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def describe(holder: Holder | None, *, now: datetime | None = None) -> str:
    """Who holds the lock, in words: `dreamcli dream (pid 123, since 04:10:02, 3 min ago)`; a stale record or
    none says so."""
    if holder is None:
        return "another process, which left no record of itself"
    if holder.stale is not None:
        return f"another process (the record beside the lock is stale: {holder.stale})"
    return f"{holder.command} (pid {holder.pid}{_since_words(holder.since, now)})"


def _since_words(since: str, now: datetime | None) -> str:
    try:
        taken = datetime.fromisoformat(since.replace("Z", "+00:00"))
        if taken.tzinfo is None:
            return ""
    except ValueError:
        return ""
    now = now or datetime.now(UTC)
    local, today = taken.astimezone(), now.astimezone()
    clock = local.strftime("%H:%M:%S") if local.date() == today.date() else local.strftime("%Y-%m-%d %H:%M:%S")
    return f", since {clock}, {age_words((now - taken).total_seconds())}"


def age_words(seconds: float) -> str:
    """`45 s ago`, `3 min ago`, `2 h 5 min ago`, `3 days ago`."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s} s ago"
    if s < 3600:
        return f"{s // 60} min ago"
    if s < 86400:
        h, m = divmod(s // 60, 60)
        return f"{h} h {m} min ago" if m else f"{h} h ago"
    days = s // 86400
    return f"{days} day{'s' if days != 1 else ''} ago"


def lock_state(lock_path: Path) -> tuple[bool | None, Holder | None]:
    """(whether the lock is held, by whom when it is): `schedule show`."""
    held = lock_held(lock_path)
    return held, read_holder(lock_path) if held else None


def state_words(held: bool | None, holder: Holder | None) -> str:
    """`free`, `held by dreamcli dream (pid 123, since 04:10:02, 3 min ago)`, or that it cannot be told."""
    if held is None:
        return "cannot tell whether it is held"
    return f"held by {describe(holder)}" if held else "free"
