"""The listing of the `glob` tool, from folders opened and checked by descriptor.

`pathlib.Path.glob` lists folders by path: a folder checked against the fences (by path, by device and
inode) could be swapped for a bind mount of the workspace before it is listed, and glob would print the
workspace's names. Here every folder is opened from its parent's descriptor, never through a symlink
(`O_NOFOLLOW`), compared with the fences by an `fstat` of the descriptor it holds, and listed from that
same descriptor (`os.scandir(fd)`): what is checked is what is listed. A match is stat'ed once, from its
folder's descriptor: its identity (a bind-mounted file) and the mtime glob sorts by.

The patterns are pathlib's (3.11): `*`, `?`, `[...]` within a name (dot-files included), `**` for this
folder and every folder below it (not through symlinks), a trailing `/` for folders only; a literal or
wildcard name followed by more parts goes through a symlinked folder when it leads to a folder inside the
root (opened again from the root by `paths.open_dir_under`, checked the same way). A symlink that matches
is listed when it leads inside the root and out of the fences.

A folder that is a fence is not listed. While nothing else matched, the first such folder the pattern
enters is searched for one match, without listing it, so that glob can say that all it found is dreamcli's
own (`Listing.own`) rather than "no matches".
"""

from __future__ import annotations

import errno
import fnmatch
import os
import re
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from dreamcli.agent.tools.paths import (
    Fence,
    Ident,
    Idents,
    OutsideRoot,
    OwnFiles,
    fenced,
    open_dir_under,
    step_into,
)


class _Probed(Exception):
    """A fenced folder holds a match (nothing of it is listed)."""


class _Enough(Exception):
    """The listing reached its cap."""


@dataclass
class Listing:
    """What a glob found: each match (relative to the root, POSIX) with its mtime, and the first fence a
    match lay in (`own`)."""

    found: dict[str, float] = field(default_factory=dict)
    own: Fence | None = None


@dataclass
class _Walk:
    base: Path
    fences: tuple[Fence, ...]
    known: Idents
    cap: int
    out: Listing = field(default_factory=Listing)

    def __post_init__(self) -> None:
        self.by_ident: dict[Ident, Fence] = {f.ident: f for f in self.fences if f.ident is not None}
        self.by_path: dict[str, Fence] = {str(f.path): f for f in self.fences}
        self.head = str(self.base).rstrip(os.sep) + os.sep

    def fence_of(self, st: os.stat_result, rel: str) -> Fence | None:
        return self.by_ident.get((st.st_dev, st.st_ino)) or self.by_path.get(self.head + rel)

    def hit(self, rel: str, mtime: float, probing: Fence | None) -> None:
        if probing is not None:
            raise _Probed
        self.out.found[rel or "."] = mtime
        if len(self.out.found) >= self.cap:
            raise _Enough

    def own(self, fence: Fence) -> None:
        if self.out.own is None:
            self.out.own = fence


def glob_listing(base: Path, search: Path, pattern: str, fences: tuple[Fence, ...], known: Idents,
                 cap: int) -> Listing:
    """The matches of the relative `pattern` in the folder `search` (a real path inside the real root `base`).

    Raises ValueError for an invalid pattern, OwnFiles when `search` (or a folder on its way from `base`) is
    a fence by identity. A `search` that is missing or not a folder matches nothing."""
    parts = _parts(pattern)
    walk = _Walk(base, fences, known, cap)
    try:
        fd = open_dir_under(base, search, fences=fences, shown=search.relative_to(base).as_posix())
    except (FileNotFoundError, NotADirectoryError):
        return walk.out
    rel = "" if search == base else search.relative_to(base).as_posix()
    try:
        fence = walk.fence_of(os.fstat(fd), rel) or walk.by_path.get(str(search))  # the root itself, say
        if fence is None:
            _select(walk, fd, rel, parts, None)
        else:
            _probe(walk, fence, fd, rel, parts)
    except _Enough:
        pass
    finally:
        os.close(fd)
    return walk.out


def _parts(pattern: str) -> tuple[str, ...]:
    parts = PurePosixPath(pattern).parts
    if any("**" in part and part != "**" for part in parts):
        raise ValueError("Invalid pattern: '**' can only be an entire path component")
    return (*parts, "") if pattern.endswith("/") else parts


def _join(rel: str, name: str) -> str:
    return f"{rel}/{name}" if rel else name


def _select(walk: _Walk, fd: int, rel: str, parts: tuple[str, ...], probing: Fence | None) -> None:
    """Match `parts` in the folder `fd` (opened and checked; `rel` from the root), as pathlib's selectors do.
    `probing`: the fence this folder lies in, searched for a match that is not listed (a match raises _Probed)."""
    if not parts or parts == ("",):  # the folder itself: a trailing `/`, a `**` at the end
        walk.hit(rel, os.fstat(fd).st_mtime, probing)
        return
    head, rest = parts[0], parts[1:]
    if head == "**":
        for sub_fd, sub_rel, inside in _folders(walk, fd, rel, probing):
            if inside is probing or inside is None:
                _select(walk, sub_fd, sub_rel, rest, probing)
            else:  # a fenced folder below: searched, not listed
                _probe(walk, inside, sub_fd, sub_rel, rest)
        return
    wildcard = any(c in head for c in "*?[")
    if wildcard:
        match: Callable[[str], object] = re.compile(fnmatch.translate(head)).fullmatch
        # more parts follow: only folders and symlinks (to one, maybe) can hold a match
        names = [name for name, kind in _entries(fd) if match(name) and (not rest or kind != "file")]
    else:
        names = [head]
    for name in names:
        if rest:
            _enter(walk, fd, _join(rel, name), name, rest, probing)
        else:
            _leaf(walk, fd, _join(rel, name), name, probing, dangling=wildcard)


def _probe(walk: _Walk, fence: Fence, fd: int, rel: str, parts: tuple[str, ...]) -> None:
    """Search the folder `fd`, in the fence `fence`, for a match of `parts`: one makes it glob's `own`."""
    try:
        _select(walk, fd, rel, parts, fence)
    except _Probed:
        walk.own(fence)


def _entries(fd: int) -> list[tuple[str, str]]:
    """(name, "dir" | "link" | "file") of each entry of the folder `fd`, by its directory entry (no stat)."""
    try:
        with os.scandir(fd) as it:
            return [(e.name, "link" if e.is_symlink() else "dir" if e.is_dir(follow_symlinks=False) else "file")
                    for e in it]
    except OSError as e:  # gone, or not readable: nothing listed, as pathlib does
        _out_of_fds(e)
        return []


def _out_of_fds(e: OSError) -> None:
    """Raise `e` again when it says no descriptor is left: not "nothing here", which would cut the results short
    (a deep tree on a low limit) with no word of it; the tool reports it as its error."""
    if e.errno in (errno.EMFILE, errno.ENFILE):
        raise e


def _folders(walk: _Walk, fd: int, rel: str, probing: Fence | None) -> Iterator[tuple[int, str, Fence | None]]:
    """The folder `fd` and every folder below it (`**`), each opened without following a symlink and checked,
    with the fence it lies in. A fenced one is yielded (to be searched, not listed) only while glob has found
    nothing of dreamcli's own; once it has, no fenced folder is walked further."""
    yield fd, rel, probing
    if probing is not None and walk.out.own is not None:
        return
    for name in [name for name, kind in _entries(fd) if kind == "dir"]:
        opened = _open_child(walk, fd, _join(rel, name), name)
        if opened is None:
            continue
        sub_fd, fence = opened
        try:
            inside = probing or fence
            if inside is None or walk.out.own is None:
                yield from _folders(walk, sub_fd, _join(rel, name), inside)
        finally:
            os.close(sub_fd)


def _open_child(walk: _Walk, fd: int, rel: str, name: str, *, follow: bool = False,
                ) -> tuple[int, Fence | None] | None:
    """The folder `name` in the folder `fd`, opened and checked: (its descriptor, the fence it is), or None
    when it is no folder (or gone). With `follow`, a symlink to a folder inside the root is opened from the
    root, each folder on the way checked; one that leads into a fence is recorded as glob's `own`."""
    try:
        sub = step_into(fd, name, None)
    except OutsideRoot:  # a symlink
        return _open_linked(walk, rel) if follow else None
    except OSError as e:
        _out_of_fds(e)
        return None
    try:
        return sub, walk.fence_of(os.fstat(sub), rel)
    except BaseException:
        os.close(sub)
        raise


def _open_linked(walk: _Walk, rel: str) -> tuple[int, Fence | None] | None:
    real = Path(os.path.realpath(walk.head + rel))
    if not (real == walk.base or real.is_relative_to(walk.base)):
        return None
    try:
        sub = open_dir_under(walk.base, real, fences=walk.fences, shown=rel)
    except OwnFiles as e:
        if e.fence is not None:
            walk.own(e.fence)
        return None
    except OutsideRoot:
        return None
    except OSError as e:
        _out_of_fds(e)
        return None
    return sub, None


def _enter(walk: _Walk, fd: int, rel: str, name: str, rest: tuple[str, ...], probing: Fence | None) -> None:
    """Match `rest` in the folder `name` of `fd` (through a symlink too, as pathlib does)."""
    opened = _open_child(walk, fd, rel, name, follow=True)
    if opened is None:
        return
    sub, fence = opened
    try:
        if fence is None or probing is not None:
            _select(walk, sub, rel, rest, probing or fence)
        elif walk.out.own is None:
            _probe(walk, fence, sub, rel, rest)
    finally:
        os.close(sub)


def _leaf(walk: _Walk, fd: int, rel: str, name: str, probing: Fence | None, *, dangling: bool) -> None:
    """The last part of the pattern matched `name` in the folder `fd`: listed unless it is a fence, or a
    symlink that leads out of the root or into a fence (or nowhere, unless `dangling`: a wildcard matched it)."""
    try:
        st = os.stat(name, dir_fd=fd, follow_symlinks=False)
    except OSError:
        return
    if stat.S_ISLNK(st.st_mode):
        real = Path(os.path.realpath(walk.head + rel))
        if not (real == walk.base or real.is_relative_to(walk.base)):
            return
        fence = fenced(real, walk.fences, walk.base, walk.known)
        try:
            mtime = os.stat(real).st_mtime
        except OSError:
            if not dangling:
                return
            mtime = 0.0  # dangling, inside the root: listed, as the oldest
    else:
        fence, mtime = walk.fence_of(st, rel), st.st_mtime
    if fence is not None and probing is None:
        walk.own(fence)
        return
    walk.hit(rel, mtime, probing)
