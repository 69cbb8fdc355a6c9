"""Removing and walking directory trees of any depth. `shutil.rmtree` and `os.walk` recurse once per level
(Python 3.11), so a tree a few thousand folders deep, left by an older dreamcli's bundle import or by a
kill, ends them in a RecursionError; and past PATH_MAX (4096 bytes) no full path reaches its bottom. These
keep one list of names per level instead of a Python frame, and `remove_tree` works relative to one open
folder at a time, so neither the depth nor the length of the path stops them."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator

_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
_FD_BASED = {os.open, os.rmdir, os.unlink} <= os.supports_dir_fd and os.scandir in os.supports_fd


def remove_tree(path: str | os.PathLike[str]) -> bool:
    """Remove the folder `path` and all it holds (symbolic links removed, never followed), ignoring errors as
    `shutil.rmtree(path, ignore_errors=True)` does; True when it is gone. A file or link at `path` is left."""
    if not _FD_BASED:  # no dir_fd here: as before, a depth past the recursion limit left in place
        with contextlib.suppress(RecursionError):
            shutil.rmtree(path, ignore_errors=True)
        return not os.path.lexists(path)
    try:
        fd = os.open(path, _DIR_FLAGS)
    except OSError:
        return not os.path.lexists(path)
    ids = [_ident(fd)]  # (device, inode) of each open level, to check that ".." leads back to its parent
    names: list[str] = []  # the name of each level below `path` in its parent
    try:
        while True:
            sub = _empty_files(fd)
            if sub is not None:  # go down into the first subfolder
                try:
                    child = os.open(sub, _DIR_FLAGS, dir_fd=fd)
                except OSError:
                    return False
                os.close(fd)
                fd = child
                ids.append(_ident(fd))
                names.append(sub)
                continue
            if not names:
                break
            parent = os.open("..", _DIR_FLAGS, dir_fd=fd)  # back up one level: the folder below is empty
            os.close(fd)
            fd = parent
            ids.pop()
            if _ident(fd) != ids[-1]:
                return False  # moved while we worked: nothing outside `path` is touched
            os.rmdir(names.pop(), dir_fd=fd)
    except OSError:
        return False
    finally:
        os.close(fd)
    with contextlib.suppress(OSError):
        os.rmdir(path)
    return not os.path.lexists(path)


def _ident(fd: int) -> tuple[int, int]:
    st = os.fstat(fd)
    return st.st_dev, st.st_ino


def _empty_files(fd: int) -> str | None:
    """Unlink the files and links in the open folder `fd` up to its first subfolder, whose name is returned
    (None when none is left)."""
    with os.scandir(fd) as it:
        for entry in it:
            if entry.is_dir(follow_symlinks=False):
                return entry.name
            os.unlink(entry.name, dir_fd=fd)
    return None


def walk(top: str | os.PathLike[str]) -> Iterator[tuple[str, list[str], list[str]]]:
    """`os.walk(top)` (top-down, links not followed, unreadable folders skipped) without recursion. A
    folder whose path is past the system's limit cannot be listed: it and what is below it are skipped."""
    stack = [os.fspath(top)]
    while stack:
        folder = stack.pop()
        dirs: list[str] = []
        files: list[str] = []
        links: set[str] = set()
        try:
            with os.scandir(folder) as it:
                for entry in it:
                    try:
                        is_dir = entry.is_dir()
                        if is_dir and entry.is_symlink():
                            links.add(entry.name)
                    except OSError:
                        is_dir = False
                    (dirs if is_dir else files).append(entry.name)
        except OSError:
            continue
        yield folder, dirs, files
        stack.extend(os.path.join(folder, d) for d in reversed(dirs) if d not in links)

