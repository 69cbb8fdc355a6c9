"""A full disk or a read-only folder, in-process, as the kernel reports them (tests/reliability/test_disk_full.py).

    full_disk(monkeypatch, home)             every later write of data under `home` fails: ENOSPC, no file named
    full_disk(monkeypatch, home, after=pred) the disk fills at the first write whose bytes `pred` accepts
    read_only(monkeypatch, home / "dreams")  creating, opening for writing, renaming or removing there: EROFS

Only what goes through `os` is refused (os.write, os.fsync, os.open, os.mkdir, os.replace, ...): what dreamcli's
own writers use (dreamcli/workspace/fsutil.py). Files elsewhere (the test's own, the fake server's) are not
touched. Linux only: a file descriptor's path is read from /proc/self/fd."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

HAS_PROC_FD = os.path.isdir("/proc/self/fd")
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _under(path: Any, root: str) -> bool:
    try:
        real = os.path.realpath(os.fspath(path))
    except (TypeError, ValueError):
        return False
    return real == root or real.startswith(root + os.sep)


def _fd_under(fd: int, root: str) -> bool:
    try:
        return _under(os.readlink(f"/proc/self/fd/{fd}"), root)
    except OSError:
        return False


def full_disk(monkeypatch: pytest.MonkeyPatch, where: Path, *,
              after: Callable[[bytes], bool] | None = None) -> Callable[[], bool]:
    """Writes of data into files under `where` fail with ENOSPC and no file name, as write(2) and fsync(2)
    report a full disk; from the start, or from the first write whose bytes `after` accepts. Returns
    whether the disk is full by now."""
    root = os.path.realpath(where)
    full = [after is None]
    real_write, real_fsync = os.write, os.fsync

    def write(fd: int, data: Any) -> int:
        if _fd_under(fd, root):
            if not full[0] and after is not None and after(bytes(data)):
                full[0] = True
            if full[0]:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    def fsync(fd: int) -> None:
        if full[0] and _fd_under(fd, root):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(os, "write", write)
    monkeypatch.setattr(os, "fsync", fsync)
    return lambda: full[0]


def read_only(monkeypatch: pytest.MonkeyPatch, where: Path) -> None:
    """`where` on a read-only file system: creating, opening for writing, renaming or removing anything
    under it fails with EROFS naming the path (reading still works)."""
    root = os.path.realpath(where)

    def refuse(path: Any) -> None:
        if _under(path, root):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fspath(path))

    def wrap(name: str, check: Callable[..., None]) -> None:
        real = getattr(os, name)

        def patched(*args: Any, **kwargs: Any) -> Any:
            check(*args, **kwargs)
            return real(*args, **kwargs)

        monkeypatch.setattr(os, name, patched)

    def opening(path: Any, flags: int, *args: Any, **kwargs: Any) -> None:
        if flags & _WRITE_FLAGS:
            refuse(path)

    def one(path: Any, *args: Any, **kwargs: Any) -> None:
        refuse(path)

    def two(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        refuse(src)
        refuse(dst)

    wrap("open", opening)
    for name in ("mkdir", "unlink", "rmdir", "chmod"):
        wrap(name, one)
    for name in ("replace", "rename"):
        wrap(name, two)
