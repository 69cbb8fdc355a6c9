"""The files of a session's workdir, as checks and the grader's evidence read them: every path is resolved
inside the workdir (symlinks too) and refused when it leaves it, and a file that is not there is said
one way (`NOT_FOUND`), whichever reads it.
"""

from __future__ import annotations

import functools
import os
import stat
from pathlib import Path


class OutsideWorkdir(ValueError):
    """A path that resolves outside the session's workdir (through `..` or a symlink)."""


@functools.lru_cache(maxsize=256)
def _real_root(workdir: str) -> str:
    return os.path.realpath(workdir)


def resolve_in_workdir(workdir: str | Path, rel: str) -> str:
    """`rel` inside `workdir`, symlinks resolved (every time: a link may appear between two evaluations);
    OutsideWorkdir when it leaves the workdir, or when either holds a NUL byte (a session's path is
    untrusted: no file has such a name)."""
    if "\0" in str(workdir) or "\0" in rel:
        raise OutsideWorkdir("not a usable path (it holds a NUL byte)")
    root = _real_root(str(workdir))
    target = os.path.realpath(os.path.join(root, rel))
    if target != root and not target.startswith(root.rstrip(os.sep) + os.sep):
        raise OutsideWorkdir("resolves outside the workdir")  # callers name the path (shown fenced)
    return target


NOT_FOUND = "not found"  # the one wording of a workdir path with no file behind it, whatever reads it


def workdir_target(workdir: str | None, rel: str) -> tuple[str | None, str]:
    """(`rel` resolved inside the workdir, "") or (None, why it cannot be looked at): no workdir recorded, or
    a path that leaves it. Every reader of a workdir file starts here, so they refuse the same paths."""
    if not workdir:
        return None, "the session recorded no workdir"
    try:
        return resolve_in_workdir(workdir, rel), ""
    except OutsideWorkdir as e:
        return None, str(e)


def stat_workdir_file(workdir: str | None, rel: str) -> tuple[os.stat_result | None, str]:
    """(the metadata of `rel` in the workdir, "") or (None, why not): NOT_FOUND when nothing is there (the
    run did not write it), any other reason when the file could not be looked at (the check cannot run)."""
    target, why = workdir_target(workdir, rel)
    if target is None:
        return None, why
    try:
        return os.stat(target), ""
    except (FileNotFoundError, NotADirectoryError):
        return None, NOT_FOUND
    except OSError as e:
        return None, f"cannot read: {e.strerror}"


def read_workdir_text(workdir: str | None, rel: str, *, limit: int) -> tuple[str | None, str]:
    """(text, note): the file's text (None when unreadable) and why/how it was cut."""
    target, why = workdir_target(workdir, rel)
    if target is None:
        return None, why
    try:  # O_NONBLOCK: a FIFO the run left in its workdir must not hang grading (regular files ignore it)
        fd = os.open(target, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None, NOT_FOUND
    except OSError as e:
        return None, f"cannot read: {e.strerror}"
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            return None, NOT_FOUND
        if not stat.S_ISREG(st.st_mode):  # a FIFO, a socket, a device: never read
            return None, "not a regular file"
        try:
            data = f.read(limit + 1)
        except OSError as e:
            return None, f"cannot read: {e.strerror}"
    if b"\0" in data[:8192]:
        return None, f"binary file ({st.st_size} bytes)"
    text = data[:limit].decode("utf-8", errors="replace")
    return text, (TRUNCATED if len(data) > limit else "")


TRUNCATED = "truncated"  # the note of a file read in part (only its first `limit` bytes)
