"""Safe file writes: atomic replace, whole-line appends, private permissions (dirs 0700, files 0600)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def ensure_dir(path: Path) -> Path:
    """Create `path` (and parents) with mode 0700 for the directories this call creates."""
    path = Path(path)
    if path.is_dir():
        return path
    missing: list[Path] = []
    p = path
    while not p.exists():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=DIR_MODE)
        except FileExistsError:
            if not d.is_dir():
                raise
        else:
            os.chmod(d, DIR_MODE)  # mkdir's mode is masked by the umask
    return path


def atomic_write_bytes(path: Path, data: bytes, *, fsync: bool = True) -> None:
    """Write `data` to `path` atomically (temp file in the same directory + os.replace), mode 0600."""
    import tempfile  # here, not at the top: commands that write nothing start without it

    path = Path(path)
    ensure_dir(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            if fsync:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path, text: str, *, fsync: bool = True) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), fsync=fsync)


def open_append(path: Path) -> int:
    """Open `path` for appending (created 0600); returns a raw fd. Each os.write of one line is one write()."""
    path = Path(path)
    ensure_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
    return fd


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def append_line(path: Path, line: str, *, fsync: bool = False) -> None:
    """Append one whole line (a trailing newline is added if missing) in a single write()."""
    if not line.endswith("\n"):
        line += "\n"
    fd = open_append(path)
    try:
        write_all(fd, line.encode("utf-8"))
        if fsync:
            os.fsync(fd)
    finally:
        os.close(fd)


def read_private(path: Path, what: str) -> bytes | None:
    """The bytes of a file that grants something (remembered approvals, trusted workspaces): None when it
    does not exist; InputError (exit 2) naming `what` when it cannot be read, is a symlink, or is not
    this user's file with mode 0600 (a file another user or a checkout wrote is never honoured)."""
    import stat

    from dreamcli.errors import InputError

    try:  # O_NONBLOCK: a FIFO planted in its place must not hang the command
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return None
    except OSError as e:
        raise InputError(f"cannot read {what}: {e.strerror}", file=str(path)) from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):  # a directory or a FIFO: checked before a file object is made of it
        os.close(fd)
        raise InputError(f"{what} must be a regular file; delete it to be asked again", file=str(path))
    with os.fdopen(fd, "rb") as f:
        raw = f.read()
    if st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise InputError(f"{what} must be this user's file, mode 0600; delete it to be asked again",
                         file=str(path))
    return raw
