"""A fresh copy of a task's working directory, for task files that say `copy_workdir: true`.

Bundled samples set it, so running one from a checkout never writes into the repository: the copy
lives in the workspace under `workdirs/<slug>-<id>/` (the slug is the task's name reduced to
letters, digits, `.`, `_` and `-`, so no name leads out of `workdirs/`) and the session records that
path.

Only what the agent could use in the original is copied: folders, regular files with one link, and
relative symlinks that stay inside the workdir. A hard-linked file (another of its names may be
outside the workdir, and the copy would make it an ordinary readable file), a symlink leading out,
and FIFOs, sockets and devices are left out. Files are opened without following symlinks and
non-blocking, so nothing swapped in meanwhile is copied or hangs the copy. A copy that fails is
removed and the error is one line (exit 2).
"""

from __future__ import annotations

import os
import re
import shutil
import stat
from pathlib import Path

from dreamcli.agent.spec import TaskSpec
from dreamcli.errors import UsageError
from dreamcli.ids import new_ulid
from dreamcli.workspace.home import Workspace

SLUG_CHARS = 60


def workdirs_root(ws: Workspace) -> Path:
    return ws.root / "workdirs"


def slug(name: str | None) -> str:
    """`name` as one safe path component: runs of other characters become `-`, no leading dot."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", name or "").strip(".-")[:SLUG_CHARS].strip(".-")
    return cleaned or "task"


def with_fresh_workdir(ws: Workspace, spec: TaskSpec) -> TaskSpec:
    """`spec` itself, or (with copy_workdir and a workdir) a copy of it running in a fresh copy."""
    if not spec.copy_workdir or spec.workdir is None:
        return spec
    root = workdirs_root(ws)
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = root / f"{slug(spec.name)}-{new_ulid().lower()}"
    # the task's outcome spec may sit next to the task, outside workdir: it keeps its absolute path
    try:
        _copy_tree(Path(spec.workdir), target)
    except BaseException as e:
        shutil.rmtree(target, ignore_errors=True)
        if isinstance(e, OSError):
            raise UsageError(f"copy_workdir: cannot copy {spec.workdir}: {e.strerror or e}") from None
        raise
    return spec.with_overrides(workdir=target)


def _copy_tree(source: Path, target: Path) -> None:
    base = os.path.realpath(source)
    os.mkdir(target, 0o700)
    _copy_stat(source, target, folder=True)
    for folder, dirs, files in os.walk(source):
        rel = os.path.relpath(folder, source)
        out = target if rel == "." else target / rel
        for name in sorted(dirs):
            full = os.path.join(folder, name)
            if os.path.islink(full):  # not walked into: copied as a link (or left out) below
                _copy_link(full, out / name, base)
            else:
                os.mkdir(out / name, 0o700)
                _copy_stat(full, out / name, folder=True)
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(folder, d))]
        for name in sorted(files):
            full = os.path.join(folder, name)
            if os.path.islink(full):
                _copy_link(full, out / name, base)
            else:
                _copy_file(full, out / name)


def _copy_link(link: str, dest: Path, base: str) -> None:
    """A relative symlink that stays inside the workdir, copied as it is; any other is left out."""
    pointed = os.readlink(link)
    if os.path.isabs(pointed):
        return
    real = os.path.realpath(os.path.join(os.path.dirname(link), pointed))
    if real == base or real.startswith(base + os.sep):
        os.symlink(pointed, dest)


def _copy_file(path: str, dest: Path) -> None:
    """A regular file with one link, opened without following a symlink or blocking on a FIFO."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    except OSError:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return  # a FIFO without a writer, a socket, a link swapped in: not copied
        raise
    with os.fdopen(fd, "rb") as src:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_nlink > 1:
            return
        with open(dest, "xb") as out:
            shutil.copyfileobj(src, out)
    _copy_stat(path, dest, folder=False)


def _copy_stat(source: str | Path, dest: Path, *, folder: bool) -> None:
    """Times and flags of `source`, but the workspace's modes: a folder 0700, a file its owner's bits only (a
    script stays executable), never open to group or others whatever the source allows."""
    shutil.copystat(source, dest, follow_symlinks=False)
    os.chmod(dest, 0o700 if folder else stat.S_IMODE(os.lstat(dest).st_mode) & 0o700)
