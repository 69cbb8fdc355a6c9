"""`doctor`'s check of the file system that holds the workspace: a probe write of a small file in `state/` (a FAIL
when it fails, a full disk or quota above all: every command that writes would stop with exit 74), then its free
space and free inodes (a WARN under the thresholds below, which the line states). The probe is removed; one a
killed doctor left is named like a temp file (`.doctor-probe.<pid>.<random>.tmp`), so the next command sweeps it
(`state/` is swept, the workspace root is not: with no `state/`, no probe is written, and the line says so). A
file system that reports no size (f_blocks 0: tmpfs size=0, some FUSE) is not held to the space thresholds."""

from __future__ import annotations

import contextlib
import errno
import os
import shlex
import tempfile
from dataclasses import dataclass
from pathlib import Path

from dreamcli.doctor.report import Check
from dreamcli.errors import os_error_cause
from dreamcli.workspace.home import Workspace

MIN_FREE_BYTES = 100_000_000  # 100 MB: a few nights of dreams and sessions
MIN_FREE_SHARE = 0.01  # 1% of the file system's space, or of its inodes
PROBE_BYTES = 4096
THRESHOLD = f"WARN below {MIN_FREE_BYTES // 1_000_000} MB or {MIN_FREE_SHARE:.0%} free"
_FULL = (errno.ENOSPC, errno.EDQUOT)


@dataclass(frozen=True)
class Room:
    """What `statvfs` says is left for this user: bytes and inodes (None: the file system has no inode count)."""

    free: int
    size: int
    inodes_free: int | None
    inodes: int | None

    @property
    def share(self) -> float:
        return self.free / self.size if self.size else 1.0

    @property
    def inode_share(self) -> float | None:
        return None if not self.inodes or self.inodes_free is None else self.inodes_free / self.inodes


def room(path: Path) -> Room:
    st = os.statvfs(path)
    inodes = st.f_files or None  # btrfs and some network file systems count no inodes
    return Room(free=st.f_bavail * st.f_frsize, size=st.f_blocks * st.f_frsize,
                inodes_free=st.f_favail if inodes else None, inodes=inodes)


def probe_write(folder: Path) -> None:
    """Write, flush to disk and remove a small file in `folder`; the OSError of the first step that fails."""
    fd, name = tempfile.mkstemp(prefix=f".doctor-probe.{os.getpid()}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(b"\0" * PROBE_BYTES)
            f.flush()
            os.fsync(f.fileno())
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)


def size_text(n: int) -> str:
    for unit, scale in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def _inodes_text(r: Room) -> str:
    share = r.inode_share
    return "no inode limit" if share is None or r.inodes_free is None else f"{r.inodes_free:,} inodes ({share:.0%})"


def low(r: Room) -> list[str]:
    """What is below the thresholds (empty: nothing)."""
    short = []
    if r.size and (r.free < MIN_FREE_BYTES or r.share < MIN_FREE_SHARE):  # no size (tmpfs size=0, FUSE): no limit
        short.append(f"only {size_text(r.free)} free ({r.share:.1%})")
    share = r.inode_share
    if share is not None and share < MIN_FREE_SHARE:
        short.append(f"only {r.inodes_free:,} inodes free ({share:.1%})")
    return short


def _cannot_write(ws: Workspace, folder: Path, e: OSError) -> Check:
    cause = os_error_cause(OSError(e.errno, e.strerror))  # the folder is named: not the probe's temp name
    full = e.errno in _FULL
    fix = (f"free some space (df -h {shlex.quote(str(ws.root))}; df -i for inodes), or move the workspace"
           if full else "make the workspace writable by this user, or pass --home DIR")
    return Check("disk", "fail", f"{'full: ' if full else ''}cannot write a file in {folder} ({cause}); "
                 "every command that writes there stops (exit 74)", fix)


def _space_text(r: Room) -> str:
    return "no size reported" if not r.size else f"{size_text(r.free)} ({r.share:.0%})"


def check_disk(ws: Workspace) -> list[Check]:
    """FAIL when a small file cannot be written in the workspace's state dir (ENOSPC, EDQUOT: full), WARN when its
    file system has less free than the thresholds, else OK with what is free. No probe without a state dir: only
    there does the sweep look for one that a killed doctor left."""
    folder = ws.state_dir
    probed = folder.is_dir()
    if probed:
        try:
            probe_write(folder)
        except OSError as e:
            return [_cannot_write(ws, folder, e)]
    written = f"a file can be written in {folder}" if probed else f"no write tried ({folder} is missing)"
    if not hasattr(os, "statvfs"):
        return [Check("disk", "ok", f"{written}; free space not checked on this platform")]
    r = room(folder if probed else ws.root)
    said = "" if probed and r.size else f"; {written}"
    if short := low(r):
        return [Check("disk", "warn", f"{' and '.join(short)} on the file system of {ws.root} ({THRESHOLD}){said}",
                      f"free some space (df -h {shlex.quote(str(ws.root))}; df -i for inodes), or move the "
                      "workspace")]
    return [Check("disk", "ok", f"{_space_text(r)} and {_inodes_text(r)} free ({THRESHOLD}){said}")]
