"""Where a folder lies in its file system, whatever mount it is reached through (Linux).

A bind mount gives a folder a second name: `mount --bind HOME/playbooks /mnt/pb` makes `/mnt/pb` the
workspace's playbooks, and no folder above `/mnt/pb` is the workspace. The kernel's own table of mounts
(`/proc/self/mountinfo`) says, for each mount, the file system (its device numbers) and the folder of it
that the mount shows (its root). `place(path)` finds the mount a path is reached through, the way a path
lookup does (component by component from `/`, a mount on a folder hiding what lies there, mounts stacked
on one folder showing the last), and returns (device, the path's folder in that file system): two names of
one folder have the same place, and a folder lies inside another exactly when its place does (`within`).
One read of the table (a `MountTable`, which builds its lookups once), no walk of any tree. Where there
is no such table (other systems, a /proc not mounted) `read_mounts` gives None and callers make no such check.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cached_property

MOUNTINFO = "/proc/self/mountinfo"
_ESCAPE = re.compile(rb"\\([0-7]{3})")  # mountinfo writes space, tab, newline and backslash as \ooo

Place = tuple[str, str]  # (the file system's "major:minor", a folder's path in it)


@dataclass(frozen=True)
class Mount:
    id: int
    parent: int
    dev: str  # "major:minor" of the file system
    root: str  # the folder of that file system the mount shows
    point: str  # where it is mounted (a real path)


def _unescape(field: bytes) -> str:
    return os.fsdecode(_ESCAPE.sub(lambda m: bytes([int(m.group(1), 8)]), field))


class MountTable(tuple[Mount, ...]):
    """The mounts of one table, in its order, with the lookups `place` makes built on first use and kept (the
    table never changes): a walk up a deep folder asks `place` about many names, and rebuilding them for each
    made it cost depth × mounts². `place` and the others take a plain tuple of mounts too, and build them for
    that call."""

    @cached_property
    def on(self) -> dict[tuple[int | None, str], Mount]:
        """(parent's id, point) -> the mount there (of mounts stacked there, the last listed)."""
        return _lookup(self)

    @cached_property
    def shown(self) -> tuple[Mount, ...]:
        """The mounts that show their root where they are mounted: not hidden by a mount over that folder or
        above it. A name through a hidden one reaches what hides it, which `shown` has too."""
        return tuple(m for m in self if place(m.point, self) == (m.dev, m.root))


def _lookup(mounts: tuple[Mount, ...]) -> dict[tuple[int | None, str], Mount]:
    ids = {m.id for m in mounts}
    on: dict[tuple[int | None, str], Mount] = {}
    for m in mounts:
        on[(m.parent if m.parent in ids and m.parent != m.id else None, m.point)] = m
    return on


def _table(mounts: tuple[Mount, ...]) -> MountTable:
    return mounts if isinstance(mounts, MountTable) else MountTable(mounts)


def parse_mounts(text: bytes) -> MountTable:
    """The mounts of a mountinfo table: `ID PARENT MAJOR:MINOR ROOT POINT OPTIONS ... - TYPE SOURCE ...`."""
    out = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 5 or not fields[0].isdigit() or not fields[1].isdigit():
            continue
        out.append(Mount(int(fields[0]), int(fields[1]), fields[2].decode("ascii", "replace"),
                         _unescape(fields[3]), _unescape(fields[4])))
    return MountTable(out)


def read_mounts(path: str = MOUNTINFO) -> MountTable | None:
    """This process's mounts, or None where the system does not list them."""
    try:
        with open(path, "rb") as f:
            mounts = parse_mounts(f.read())
    except OSError:
        return None
    return mounts or None


def _prefixes(path: str) -> list[str]:
    """`/`, `/a`, `/a/b` ... of the real path `/a/b/...`."""
    parts = [p for p in path.split("/") if p]
    return ["/"] + ["/" + "/".join(parts[:n]) for n in range(1, len(parts) + 1)]


def place(path: str, mounts: tuple[Mount, ...]) -> Place | None:
    """(device, folder in that file system) of the real path `path`, or None when no mount holds `/`."""
    table = _table(mounts)
    current: Mount | None = None
    seen = 0
    reached = "/"
    for prefix in _prefixes(path):
        while (nxt := table.on.get((current.id if current else None, prefix))) is not None and seen <= len(table):
            current, reached, seen = nxt, prefix, seen + 1  # `seen`: a malformed table cannot loop
    if current is None:
        return None
    rest = path[len(reached):].lstrip("/") if reached != "/" else path.lstrip("/")
    return current.dev, _join(current.root, rest)


def _join(root: str, rest: str) -> str:
    if not rest:
        return root
    return root.rstrip("/") + "/" + rest


def within(inner: Place, outer: Place, *, strictly: bool = False) -> bool:
    """`inner` is the folder `outer` (unless `strictly`) or lies inside it, in the same file system."""
    if inner[0] != outer[0]:
        return False
    if inner[1] == outer[1]:
        return not strictly
    return inner[1].startswith(outer[1].rstrip("/") + "/")


def mounted_inside(path: str, mounts: tuple[Mount, ...]) -> list[tuple[str, Place]]:
    """The mounts shown at or below the real path `path` (a file system mounted inside a folder), as
    (where it is mounted, its place): what lies in them lies in that folder too."""
    head = path.rstrip("/") + "/"
    return [(m.point, (m.dev, m.root)) for m in _table(mounts).shown
            if m.point == path or m.point.startswith(head)]


def names_up(at: Place, mounts: tuple[Mount, ...]) -> list[str]:
    """Every path that reaches the folder `at` through a mount of its file system, then every one for each folder
    above it in that file system, as far as a mount shows them (the folder a bind mount shows may be the only one
    shown: in a chroot, or when the rest of its disk is mounted nowhere). A folder shown by two mounts (a disk
    mounted in one place and bound whole in another) has a name through each, whatever order they were mounted
    in. Each name is checked to lead where it should, a mount on the way hiding nothing; a mount hidden where it
    is mounted gives none. At most one name per folder and mount."""
    table = _table(mounts)
    dev, folder = at
    mine = [m for m in table.shown if m.dev == dev]
    names: list[str] = []
    while True:
        for m in mine:
            if within((dev, folder), (dev, m.root)):
                name = _join(m.point, folder[len(m.root.rstrip("/")):].lstrip("/"))
                if place(name, table) == (dev, folder):
                    names.append(name)
        if folder in ("/", ""):
            return names
        folder = os.path.dirname(folder.rstrip("/")) or "/"
