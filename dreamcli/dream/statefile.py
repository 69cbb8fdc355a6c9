"""Opening the files a dream reads that others can replace: its state (`state/dream/<playbook>/`) and
`grades/grades.jsonl`. Only regular files are read. Opened without blocking and checked with fstat before
a byte is read: a FIFO planted in their place hung the dream forever, holding the dream lock. The
standard library only, so the cron fast path (`dream/quick.py`) can use it."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO


class NotRegularFile(Exception):
    """The path exists and is not a regular file (a FIFO, a directory, a device)."""


def open_regular(path: Path | str) -> BinaryIO:
    """`path` opened for binary reading; OSError when it cannot be opened (FileNotFoundError when missing),
    NotRegularFile when it is not a regular file."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegularFile(f"{path}: not a regular file")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: Path | str) -> bytes:
    """The bytes of a regular file (see `open_regular` for what it raises)."""
    with open_regular(path) as f:
        return f.read()
