"""Real mounts for tests that need what only the kernel does: a bind mount (another name for a folder, by
device and inode the same) or a small tmpfs (a disk that fills). Root only: a test is skipped where this
machine does not let it mount.

    with bind_mount(home, tmp_path / "mnt") as mnt: ...     mnt shows home's files
    with tmpfs(tmp_path / "mnt", "size=1m") as mnt: ...     a 1 MB file system
    fill(mnt)                                                then full to its last page
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest


@contextmanager
def mounted(args: list[str], mnt: Path, what: str) -> Iterator[Path]:
    """`mount ARGS MNT` on a new folder `mnt`, unmounted after; the test skipped when `what` is not permitted."""
    if os.geteuid() != 0:
        pytest.skip(f"{what} needs root")
    mnt.mkdir()
    try:
        done = subprocess.run(["mount", *args, str(mnt)], capture_output=True)
    except OSError:
        pytest.skip("no mount command")
    if done.returncode != 0:
        pytest.skip(f"{what} is not permitted here")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


def bind_mount(source: Path, mnt: Path) -> AbstractContextManager[Path]:
    """`mnt`, a bind mount of `source`."""
    return mounted(["--bind", str(source)], mnt, "a bind mount")


def tmpfs(mnt: Path, options: str) -> AbstractContextManager[Path]:
    """`mnt`, a new tmpfs mounted with `options` (e.g. `size=1m`)."""
    return mounted(["-t", "tmpfs", "-o", options, "tmpfs"], mnt, "mounting a tmpfs")


def fill(mnt: Path, leave: int = 0) -> None:
    """Fill the file system at `mnt` (a tmpfs) to its last page with a file `filler`, then free `leave` bytes."""
    filler = mnt / "filler"
    try:
        with open(filler, "wb") as f:
            while True:
                f.write(b"\0" * 4096)
                f.flush()
    except OSError as e:
        assert e.errno == errno.ENOSPC
    os.truncate(filler, max(0, filler.stat().st_size - leave))
