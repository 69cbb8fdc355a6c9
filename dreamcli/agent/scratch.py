"""A fresh copy of a task's working directory, for task files that say `copy_workdir: true`.

Bundled samples set it, so running one from a checkout never writes into the repository: the copy
lives in the workspace under `workdirs/<slug>-<id>/` (the slug is the task's name reduced to
ASCII letters, digits, `.`, `_` and `-`, so no name leads out of `workdirs/`) and the session records that
path (grading finds it again in a copied or moved workspace: dreamcli.workspace.workdirs).

The workspace home is left out of the copy wherever it lies in the workdir (a task with `workdir: .`
in a project after `dreamcli init .`): its sessions and state are not the task's, and copying it
would copy `workdirs/` into itself. The pilot's trial copies leave it out with the same test
(`is_home`). A workdir that is the home itself, or its `workdirs/`, is refused (exit 2).

Only what the agent could use in the original is copied: folders, regular files with one link, and
relative symlinks that stay inside the workdir. A hard-linked file (another of its names may be
outside the workdir, and the copy would make it an ordinary readable file), a symlink leading out,
and FIFOs, sockets and devices are left out. Files are opened without following symlinks and
non-blocking, so nothing swapped in meanwhile is copied or hangs the copy. A copy that fails is
removed and the error is one line (exit 2).
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

from dreamcli.agent.spec import TaskSpec
from dreamcli.errors import UsageError
from dreamcli.workspace.home import Workspace
from dreamcli.workspace.workdirs import copy_name, workdirs_root


def is_home(folder: str | Path, home: Path) -> bool:
    """Whether `folder` is the workspace `home` (the same folder, by whatever path): a copy of a task's
    workdir leaves it out, here and in the pilot's trials (dreamcli.pilot.runner)."""
    try:
        return os.path.samefile(folder, home)
    except OSError:  # either is gone (or unreadable): not the same folder
        return False


def check_copyable(ws: Workspace, spec: TaskSpec) -> None:
    """UsageError when `spec` copies its workdir and that is the workspace or its `workdirs/`: the copy would be
    inside what it copies. A batch checks every task before any runs; `with_fresh_workdir` checks its own."""
    if spec.copy_workdir and spec.workdir is not None and (
            is_home(spec.workdir, ws.root) or is_home(spec.workdir, workdirs_root(ws))):
        raise UsageError(f"copy_workdir: cannot copy {spec.workdir}: it is the workspace {ws.root} (or its "
                         "workdirs/), where the copy would go; name the task's own folder")


def with_fresh_workdir(ws: Workspace, spec: TaskSpec) -> TaskSpec:
    """`spec` itself, or (with copy_workdir and a workdir) a copy of it running in a fresh copy."""
    if not spec.copy_workdir or spec.workdir is None:
        return spec
    check_copyable(ws, spec)
    root = workdirs_root(ws)
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = root / copy_name(spec.name)
    # made under a temp name carrying this pid, renamed once whole: a copy cut short (Ctrl-C in a batch ends
    # the copying thread with the process, a kill -9) is a `.tmp-…-<pid>` folder the next command sweeps
    # (recovery.sweep_dead), never a workdir that looks finished
    partial = root / f".tmp-{target.name}-{os.getpid()}"
    # the task's outcome spec may sit next to the task, outside workdir: it keeps its absolute path
    try:
        _copy_tree(Path(spec.workdir), partial, ws.root)
        os.rename(partial, target)
    except BaseException as e:
        shutil.rmtree(partial, ignore_errors=True)
        if isinstance(e, OSError):
            raise UsageError(f"copy_workdir: cannot copy {spec.workdir}: {e.strerror or e}") from None
        raise
    return spec.with_overrides(workdir=target)


def _copy_tree(source: Path, target: Path, home: Path) -> None:
    base = os.path.realpath(source)
    os.mkdir(target, 0o700)
    _copy_stat(source, target, folder=True)
    for folder, dirs, files in os.walk(source):
        rel = os.path.relpath(folder, source)
        out = target if rel == "." else target / rel
        walked = []
        for name in sorted(dirs):
            full = os.path.join(folder, name)
            if os.path.islink(full):  # not walked into: copied as a link (or left out) below
                _copy_link(full, out / name, base)
            elif not is_home(full, home):  # the home (and the copies in it) is not copied
                os.mkdir(out / name, 0o700)
                _copy_stat(full, out / name, folder=True)
                walked.append(name)
        dirs[:] = walked
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
