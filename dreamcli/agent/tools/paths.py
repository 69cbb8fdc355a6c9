"""Confinement of tool paths to a root directory (the workdir, a memory store).

`confine(root, path)` resolves `path` against `root` the way the kernel would follow it: `..`
and every symlink on the way (dangling ones too, by their target) are resolved before the
containment check, so anything that lands outside the root raises `OutsideRoot`.

The check alone leaves a race: a folder on the way can become a symlink between it and the open.
So files are opened by `open_under`, which walks the confined path from a descriptor of a base
folder one component at a time (`O_NOFOLLOW | O_DIRECTORY` for folders, `O_NOFOLLOW` for the file,
missing folders made with `mkdir(dir_fd=…)`), never through a symlink, and then checks what it
opened (`fstat`): only a regular file with one link (a hard link may be another name of a file
outside the root) is read or written. Files are opened non-blocking, so a FIFO never hangs a tool.

A root may hold files that are dreamcli's own: the workspace of `dreamcli init` in a project, the
user's config, the trust records. Given as `fences` (`fences_in`), they are refused like paths outside
the root (`OwnFiles`, an `OutsideRoot`), after the same resolution, and so is any other name of them: a
path with a folder (or the file) of the same device and inode as a fence, say a bind mount. A tool call that
checks many paths (glob, grep) passes one `Idents` dict for the whole call: each folder is then stat'ed once
per call, not once per path through it. That cache only spares work (it prunes grep's walk): the last word is
`open_under`'s (`open_dir_under`'s), given the fences, which compares each folder it opens below the root, and
the file, with them (an `fstat` of the descriptor it holds), so a folder renamed or mounted there after the
check is refused all the same; glob lists only folders opened so (`globbing`). A path that writes may not
(`refuse_workspace_dir`) have a `.dreamcli` component inside the root either (in any case: file systems may
fold it), since a later run from there would take that folder for its workspace. A root that is the
workspace home, or lies in it or in another workspace, by any name, cannot be fenced at all:
`homes.refuse_root_in_home` refuses it before any tool is made.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from dreamcli.workspace.home import LOCAL_DIR_NAME

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC

Ident = tuple[int, int]  # (st_dev, st_ino)
Idents = dict[str, Ident | None]  # the identities one tool call has seen, by path: stat'ed once a call


class OutsideRoot(ValueError):
    """The path resolves outside the tool's root."""


class OwnFiles(OutsideRoot):
    """The path is one of dreamcli's own files (a fence) that lies inside the root (`fence`, when known)."""

    def __init__(self, message: str, fence: Fence | None = None) -> None:
        super().__init__(message)
        self.fence = fence


@dataclass(frozen=True)
class Fence:
    """A file or folder inside a root that is dreamcli's own: `path` is real, `what` names it, `ident` is
    its (st_dev, st_ino) when it exists (another name of it, a bind mount, has the same)."""

    path: Path
    what: str
    ident: Ident | None = None


class NotRegularFile(ValueError):
    """The path is a FIFO, a device, a socket or a directory: tools read and write regular files only."""


def real_root(root: Path) -> Path:
    return Path(os.path.realpath(root))


def _ident(path: str | Path) -> Ident | None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return (st.st_dev, st.st_ino)


def _known_ident(path: str, known: Idents | None) -> Ident | None:
    """`_ident(path)`, stat'ed once per tool call when the call keeps `known`."""
    if known is None:
        return _ident(path)
    if path not in known:
        known[path] = _ident(path)
    return known[path]


def fences_in(root: Path, areas: Iterable[tuple[str, Path]]) -> tuple[Fence, ...]:
    """The fences of `areas` ((what, path) pairs) that lie inside `root` or are `root` itself; one that
    holds the root (a workdir copied under the workspace) is no fence of it. A fence elsewhere is kept
    when it exists (by its identity alone): it may be mounted inside the root."""
    base = real_root(root)
    found = (Fence(real, what, _ident(real)) for what, path in areas for real in [Path(os.path.realpath(path))])
    return tuple(f for f in found
                 if f.path == base or f.path.is_relative_to(base) or (f.ident and not base.is_relative_to(f.path)))


def fenced(target: Path, fences: Iterable[Fence], base: Path | None = None, known: Idents | None = None,
           ) -> Fence | None:
    """The fence the real path `target` lies in (or is), if any: by path, or by the identity of `target`
    and, given the real root `base`, of every folder between it and `target` (a stat each, or once per
    tool call for a folder already in `known`, the call's cache)."""
    fences = tuple(fences)
    by_path = next((f for f in fences if target == f.path or target.is_relative_to(f.path)), None)
    if by_path is not None or not any(f.ident for f in fences):
        return by_path
    idents = {i for p in _on_way(target, base) for i in [_known_ident(p, known)] if i is not None}
    return next((f for f in fences if f.ident is not None and f.ident in idents), None)


def _on_way(target: Path, base: Path | None) -> list[str]:
    """`target` and every folder between the root `base` (not itself) and it, as strings: the prefixes of the
    real path `target` that end at a separator past `base`, since pathlib's `parents` and `is_relative_to`
    on each cost more than the stats (glob, grep over many files)."""
    path = str(target)
    on_way = [path]
    head = str(base).rstrip(os.sep) + os.sep if base is not None else None
    if head is None or not path.startswith(head):
        return on_way
    cut = path.find(os.sep, len(head))
    while cut != -1:
        on_way.append(path[:cut])
        cut = path.find(os.sep, cut + 1)
    return on_way


def workspace_dir_error(shown: str) -> OwnFiles:
    return OwnFiles(f"{shown} is in a dreamcli workspace folder ({LOCAL_DIR_NAME}), which is not part of the "
                    "task: the file tools do not create or change one")


def in_workspace_dir(base: Path, target: Path) -> bool:
    """A folder (or the file) named `.dreamcli`, in any case, lies between the real root `base` and `target`."""
    parts = target.relative_to(base).parts if target.is_relative_to(base) else ()
    return any(part.casefold() == LOCAL_DIR_NAME.casefold() for part in parts)


def own_files_error(shown: str, fence: Fence, base: Path) -> OwnFiles:
    """`SHOWN is in dreamcli's own workspace (.dreamcli), ...`: why the model may not use that path."""
    where = ("the working directory itself" if fence.path == base
             else fence.path.relative_to(base).as_posix() if fence.path.is_relative_to(base)
             else f"{fence.path}, by another name")
    return OwnFiles(f"{shown} is in dreamcli's own {fence.what} ({where}), which is not part of the task: "
                    "the file tools do not read or change it", fence)


def confine(root: Path, path: str, fences: Iterable[Fence] = (), *, known: Idents | None = None) -> Path:
    """The real path of `path` (relative to `root`, or absolute), which must stay inside `root` and out
    of every fence (`known`: the tool call's cache of identities, see `fenced`)."""
    if "\x00" in path:
        raise OutsideRoot(f"{path!r}: NUL in path")
    base = real_root(root)
    candidate = Path(path) if os.path.isabs(path) else base / path
    resolved = Path(os.path.realpath(candidate))  # follows links that exist, dangling ones by target
    if resolved != base and not resolved.is_relative_to(base):
        raise OutsideRoot(f"{path} is outside the session's root directory")
    fence = fenced(resolved, fences, base, known)
    if fence is not None:
        raise own_files_error(path, fence, base)
    return resolved


def refuse_workspace_dir(root: Path, path: str, resolved: Path) -> None:
    """Refuse to write `path` (real path `resolved`, from `confine`) in a folder named `.dreamcli` inside
    `root`, by its real path or, when relative, by its own words."""
    base = real_root(root)
    given = base / path if not os.path.isabs(path) else resolved
    if in_workspace_dir(base, resolved) or in_workspace_dir(base, given):
        raise workspace_dir_error(path)


def hard_link_error(shown: str, links: int) -> OutsideRoot:
    return OutsideRoot(f"{shown} has {links} hard links; another of them may be outside the root")


def refuse_hard_links(target: Path, shown: str) -> None:
    """Refuse a regular file that has other names (a hard link may lead outside the root)."""
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return
    if stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
        raise hard_link_error(shown, st.st_nlink)


def relative_to_root(root: Path, target: Path) -> str:
    base = real_root(root)
    return target.relative_to(base).as_posix() if target.is_relative_to(base) else str(target)


def _parts(base: Path, target: Path) -> tuple[str, ...]:
    if not target.is_relative_to(base):
        raise OutsideRoot(f"{target} is outside the session's root directory")
    return target.relative_to(base).parts


def _is_symlink(fd: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(name, dir_fd=fd).st_mode)
    except OSError:
        return False


def step_into(fd: int, name: str, dir_mode: int | None) -> int:
    """The folder `name` in folder `fd` (made when missing and `dir_mode` is given), never a symlink."""
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=fd)
    except FileNotFoundError:
        if dir_mode is None:
            raise
    except OSError as e:  # a symlink is ELOOP, or ENOTDIR (O_DIRECTORY is checked first)
        if e.errno == errno.ELOOP or (e.errno == errno.ENOTDIR and _is_symlink(fd, name)):
            raise OutsideRoot(f"{name} is a symlink") from e
        raise
    try:
        os.mkdir(name, dir_mode, dir_fd=fd)
    except FileExistsError:
        pass  # made meanwhile: opened (and checked) below like any other
    else:
        made = os.open(name, _DIR_FLAGS, dir_fd=fd)
        if dir_mode & 0o077 == 0:
            os.fchmod(made, dir_mode)  # mkdir's mode is masked by the umask
        return made
    return step_into(fd, name, None)


def _refuse_fenced(fd: int, fences: tuple[Fence, ...], base: Path, shown: str,
                   st: os.stat_result | None = None) -> None:
    """Raise OwnFiles when the opened `fd` (its `st`, or an fstat) has the identity of a fence."""
    if not any(f.ident for f in fences):
        return
    st = st if st is not None else os.fstat(fd)
    fence = next((f for f in fences if f.ident == (st.st_dev, st.st_ino)), None)
    if fence is not None:
        raise own_files_error(shown, fence, base)


def open_dir_under(base: Path, target: Path, *, dir_mode: int | None = None, fences: tuple[Fence, ...] = (),
                   shown: str = "") -> int:
    """A descriptor of the folder `target` (inside `base`), reached without following any symlink.

    Missing folders are made with `dir_mode` when it is given (0700 ones are chmod'ed to it). Each folder
    opened below `base` is compared with `fences` by identity (an fstat each): OwnFiles, about `shown`,
    for one of them, whatever a check by path said before."""
    fd = os.open(base, _DIR_FLAGS & ~os.O_NOFOLLOW)
    try:
        for name in _parts(base, target):
            nxt = step_into(fd, name, dir_mode)
            os.close(fd)
            fd = nxt
            _refuse_fenced(fd, fences, base, shown or str(target))
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_under(base: Path, target: Path, flags: int, *, shown: str, mode: int = 0o600,
               dir_mode: int | None = None, fences: tuple[Fence, ...] = ()) -> int:
    """`os.open` of the file `target` inside `base`, safe against symlinks swapped in at any point.

    `flags` may hold O_CREAT (and O_TRUNC, applied only once the file passed its checks);
    `dir_mode` makes missing folders. Raises OutsideRoot for a symlink on the way or a hard-linked
    file, OwnFiles for a folder opened on the way (or the file) that is one of `fences` by identity,
    NotRegularFile for anything but a regular file, OSError (FileNotFoundError …) otherwise.
    """
    parts = _parts(base, target)
    if not parts:
        raise NotRegularFile(f"{shown}: not a regular file")
    parent = open_dir_under(base, target.parent, dir_mode=dir_mode, fences=fences, shown=shown)
    truncate = bool(flags & os.O_TRUNC)
    try:
        fd = os.open(parts[-1], (flags & ~os.O_TRUNC) | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY,
                     mode, dir_fd=parent)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise OutsideRoot(f"{parts[-1]} is a symlink") from e
        if e.errno in (errno.ENXIO, errno.EOPNOTSUPP):  # a FIFO without a reader, a socket
            raise NotRegularFile(f"{shown}: not a regular file") from e
        raise
    finally:
        os.close(parent)
    try:
        st = os.fstat(fd)
        _refuse_fenced(fd, fences, base, shown, st)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(f"{shown}: not a regular file")
        if st.st_nlink > 1:
            raise hard_link_error(shown, st.st_nlink)
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        if truncate:
            os.ftruncate(fd, 0)
    except BaseException:
        os.close(fd)
        raise
    return fd

