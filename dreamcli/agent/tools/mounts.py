"""Where a folder lies in its file system, whatever mount it is reached through (Linux).

A bind mount gives a folder a second name: `mount --bind HOME/playbooks /mnt/pb` makes `/mnt/pb` the
workspace's playbooks, and no folder above `/mnt/pb` is the workspace. The kernel's own table of mounts
(`/proc/self/mountinfo`) says, for each mount, the file system (its device numbers) and the folder of it
that the mount shows (its root). `place(path)` finds the mount a path is reached through, the way a path
lookup does (component by component from `/`, a mount on a folder hiding what lies there, mounts stacked
on one folder showing the last), and returns (device, the path's folder in that file system): two names of
one folder have the same place, and a folder lies inside another exactly when its place does (`within`).
One read of the table, no walk of any tree. Where there is no such table (other systems, a /proc not
mounted) `read_mounts` gives None and callers make no such check.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

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


def parse_mounts(text: bytes) -> tuple[Mount, ...]:
    """The mounts of a mountinfo table: `ID PARENT MAJOR:MINOR ROOT POINT OPTIONS ... - TYPE SOURCE ...`."""
    out = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 5 or not fields[0].isdigit() or not fields[1].isdigit():
            continue
        out.append(Mount(int(fields[0]), int(fields[1]), fields[2].decode("ascii", "replace"),
                         _unescape(fields[3]), _unescape(fields[4])))
    return tuple(out)


def read_mounts(path: str = MOUNTINFO) -> tuple[Mount, ...] | None:
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
    ids = {m.id for m in mounts}
    on: dict[tuple[int | None, str], Mount] = {}  # (parent's id, point) -> the mount there (the last listed)
    for m in mounts:
        on[(m.parent if m.parent in ids and m.parent != m.id else None, m.point)] = m
    current: Mount | None = None
    seen = 0
    reached = "/"
    for prefix in _prefixes(path):
        while (nxt := on.get((current.id if current else None, prefix))) is not None and seen <= len(mounts):
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
    shown = [m for m in mounts if m.point == path or m.point.startswith(head)]
    return [(m.point, (m.dev, m.root)) for m in shown if place(m.point, mounts) == (m.dev, m.root)]


def names_up(at: Place, mounts: tuple[Mount, ...]) -> list[str]:
    """A path that reaches the folder `at` through a mount of its file system, then one for each folder above it
    in that file system, as far as a mount shows them (the folder a bind mount shows may be the only one shown:
    in a chroot, or when the rest of its disk is mounted nowhere). Each is checked to lead where it should, a
    mount on the way hiding nothing."""
    dev, folder = at
    names: list[str] = []
    while True:
        for m in mounts:
            if m.dev != dev or not within((dev, folder), (dev, m.root)):
                continue
            rest = folder[len(m.root.rstrip("/")):].lstrip("/")
            name = _join(m.point, rest)
            if place(name, mounts) == (dev, folder):
                names.append(name)
                break
        if folder in ("/", ""):
            return names
        folder = os.path.dirname(folder.rstrip("/")) or "/"
