"""Confinement of tool paths to a root directory (the workdir, a memory store).

`confine(root, path)` resolves `path` against `root` the way the kernel would follow it: `..`
and every symlink on the way (dangling ones too, by their target) are resolved before the
containment check, so anything that lands outside the root raises `OutsideRoot`. A regular file
with more than one hard link may have another name outside the root; `refuse_hard_links` rejects
it (the tools call it before opening an existing file). Opening then uses O_NOFOLLOW on the last
component, so a symlink swapped in after the check is refused rather than followed.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path


class OutsideRoot(ValueError):
    """The path resolves outside the tool's root."""


def real_root(root: Path) -> Path:
    return Path(os.path.realpath(root))


def confine(root: Path, path: str) -> Path:
    """The real path of `path` (relative to `root`, or absolute), which must stay inside `root`."""
    if "\x00" in path:
        raise OutsideRoot(f"{path!r}: NUL in path")
    base = real_root(root)
    candidate = Path(path) if os.path.isabs(path) else base / path
    resolved = Path(os.path.realpath(candidate))  # follows links that exist, dangling ones by target
    if resolved != base and not resolved.is_relative_to(base):
        raise OutsideRoot(f"{path} is outside the session's root directory")
    return resolved


def refuse_hard_links(target: Path, shown: str) -> None:
    """Refuse a regular file that has other names (a hard link may lead outside the root)."""
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return
    if stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
        raise OutsideRoot(f"{shown} has {st.st_nlink} hard links; another of them may be outside the root")


def relative_to_root(root: Path, target: Path) -> str:
    base = real_root(root)
    return target.relative_to(base).as_posix() if target.is_relative_to(base) else str(target)


def open_nofollow(target: Path, flags: int, mode: int = 0o600) -> int:
    """os.open with O_NOFOLLOW (and O_CLOEXEC): a symlink at `target` is an OutsideRoot error."""
    try:
        return os.open(target, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    except OSError as e:
        if e.errno == errno.ELOOP:  # the last component became a symlink after the check
            raise OutsideRoot(f"{target.name} is a symlink") from e
        raise
