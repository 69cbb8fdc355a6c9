"""No session's tools get a root (the working directory) that lies in a dreamcli workspace.

There the fences of the file tools could not keep the tools out of dreamcli's own files, and a `bash`
command would start among them: `Toolset` refuses such a root (`refuse_root_in_home`) before any tool is
made, whichever tools the task has, and so the run does not start (exit 2).

A root is refused when it is, or lies inside, by any name:
- this run's workspace `home`: the root and each folder above it compared with the home by device and
  inode (a bind mount of the home, or of a folder above it), and, for a bind mount of a folder *inside*
  the home, by where the root lies in its file system (`mounts.place`, through the kernel's table of
  mounts: one read, no walk of the home; file systems mounted inside the home count as the home's);
- another workspace: a folder above the root (or the root) that is one (`is_workspace_home`), or a
  `.dreamcli` folder on the root's path in its file system (a bind mount of a project's `.dreamcli/...`),
  or a folder above it there that is one, looked into through every mount that shows it (a disk mounted in
  one place and bound whole into a workspace is found either way round), and above where that file system is
  mounted (`mounts.names_up`: a bind mount of a folder of a workspace of any name, or of a disk mounted in
  one; in a chroot that shows none of them, not found). Each folder is looked into once.

So is a root that holds, by a mount below it, a folder of this run's home or of a `.dreamcli` workspace
(`working directory X holds Y, which is inside …`): a bind mount of a workspace's folder into a project,
which the file tools' fences, comparing the folders on a path with this run's home, would not know. This run's
whole home mounted there they do know, by device and inode, and a mount inside the home by its path (`dreamcli
init .` with `.dreamcli/sessions` on a volume): those run. Those mounts are judged from the table alone, no
stat of them (a root of `/` holds every mount, dead network ones too), so a folder of a workspace of another
name mounted below the root is not found. Only the mounts in place as the session starts are seen.

A folder inside this run's `workdirs/` (`copy_workdir`'s copies, by path or by place) is the task's own.
Where the system keeps no table of mounts (`mounts.read_mounts` is None: not Linux, or no /proc) the checks
by place are not made; the others are. All of it is a few stats and one read, once a session.
"""

from __future__ import annotations

import os
from itertools import chain
from pathlib import Path

import dreamcli.agent.tools.mounts as mnt
from dreamcli.agent.tools.paths import OwnFiles, real_root
from dreamcli.textnorm import escaped
from dreamcli.workspace.home import LOCAL_DIR_NAME, Workspace
from dreamcli.workspace.live import STAMP, live_dir

_ADVICE = "whose files a run's tools do not change: run in the task's own folder (--workdir, or the task's `workdir`)"


def _ident(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return (st.st_dev, st.st_ino)


def is_workspace_home(folder: Path) -> bool:
    """Whether `folder` is a dreamcli workspace: a folder named `.dreamcli` (in any case: file systems may
    fold it), which workspace discovery takes for one, or one holding `state/live/.swept/`, the stamp of the
    full sweep the first dreamcli command in a workspace makes. The signs docs/workspace.md accepts in a folder
    named as the home (`config.yaml`, `sessions/`, ...) are not enough here: many a repository above a workdir
    has one, and a `state/live/` of its own too. A folder that cannot be looked into is not one."""
    return folder.name.casefold() == LOCAL_DIR_NAME.casefold() or os.path.isdir(
        live_dir(Workspace(folder, "local")) / STAMP)


def refuse_root_in_home(root: Path, home: Path, copies: Path) -> None:
    """Raise OwnFiles (one line) when `root` is, or lies in, the workspace `home` or another workspace, by
    any name; a folder inside `copies` (the home's `workdirs/`) is the task's own (see the module docstring)."""
    base = real_root(root)
    real_home = Path(os.path.realpath(home))
    home_id, copies_id = _ident(home), _ident(copies)
    folders = (base, *base.parents)
    for folder in folders:
        ident = _ident(folder)
        if ident is not None and ident == home_id:
            raise root_in_home_error(base, real_home, folder)
        if ident is not None and ident == copies_id and folder != base:
            return  # a copy of the task's folder, whatever it holds
    for folder in folders:
        if is_workspace_home(folder):
            raise other_home_error(base, folder)
    mounts = mnt.read_mounts()
    if mounts is None:
        return
    known_home, real_copies = real_home if home_id else None, Path(os.path.realpath(copies))
    _refuse_by_place(base, known_home, real_copies, mounts)
    whole = mnt.place(str(known_home), mounts) if known_home is not None else None
    for point, at in mnt.mounted_inside(str(base), mounts):  # a folder of a workspace mounted inside the root
        inside_home = known_home is not None and Path(point).is_relative_to(known_home)  # fenced by its path
        if point != str(base) and at != whole and not inside_home:  # the home itself: by device and inode
            _refuse_by_place(Path(point), known_home, real_copies, mounts, deep=False, holder=base)


def _refuse_by_place(base: Path, home: Path | None, copies: Path, mounts: mnt.MountTable, *,
                     deep: bool = True, holder: Path | None = None) -> None:
    """The checks of `refuse_root_in_home` for a root reached through a bind mount of a folder inside a
    workspace, by where the root lies in its file system. `deep`: also look into the folders above it there
    for a workspace of any name (`names_up`); without, only this run's home and `.dreamcli` names are known,
    from the table alone (for each mount below a root: no stat of them, which may be dead network mounts).
    `holder`: the root `base` is a mount below, which the refusal names."""
    at = mnt.place(str(base), mounts)
    if at is None:
        return
    if home is not None:
        copies_at = mnt.place(str(copies), mounts)
        if copies_at is not None and mnt.within(at, copies_at, strictly=True):
            return
        home_at = mnt.place(str(home), mounts)
        regions = ([(str(home), home_at)] if home_at is not None else []) + mnt.mounted_inside(str(home), mounts)
        for point, region in regions:
            if mnt.within(at, region):
                found = Path(os.path.normpath(os.path.join(point, os.path.relpath(at[1], region[1]))))
                raise root_in_home_error(base, home, found, mounted=True, holder=holder)
    parts = at[1].split("/")
    cut = next((n for n, part in enumerate(parts) if part.casefold() == LOCAL_DIR_NAME.casefold()), None)
    if cut is not None:
        raise other_home_error(base, Path("/".join(parts[:cut + 1])), mounted=True, holder=holder)
    if not deep:
        return
    seen: set[Path] = set()
    for name in map(Path, mnt.names_up(at, mounts)):  # a workspace of any name, through every mount that shows
        for folder in chain((name,), name.parents):  # a folder, and above its file system's mount (a disk in one)
            if folder in seen:
                break  # and all above it
            seen.add(folder)
            if is_workspace_home(folder):
                raise other_home_error(base, folder, mounted=True, holder=holder)


def root_in_home_error(base: Path, home: Path, found: Path, *, mounted: bool = False,
                       holder: Path | None = None) -> OwnFiles:
    """`working directory X is (inside) dreamcli's own workspace HOME, ...`: one line, for the run to refuse
    (`_subject`: of a mount `base` that the root `holder` holds)."""
    how = "is" if found == base and not mounted else "is inside"
    alias = (f" (it is {found}, by another name)" if mounted else "" if found == home
             else " by another name" if found == base else f" (through {found}, another name of it)")
    return OwnFiles(escaped(f"{_subject(base, holder)} {how} dreamcli's own workspace {home}{alias}, {_ADVICE}"))


def other_home_error(base: Path, home: Path, *, mounted: bool = False, holder: Path | None = None) -> OwnFiles:
    """`working directory X is (inside) another dreamcli workspace, HOME, ...`: one line."""
    how = "is" if home == base else "is inside"
    alias = " (by another name: that is where it lies in its file system)" if mounted else ""
    return OwnFiles(escaped(f"{_subject(base, holder)} {how} another dreamcli workspace, {home}{alias}, {_ADVICE}"))


def _subject(base: Path, holder: Path | None) -> str:
    """What a refusal is of: the working directory `base`, or the mount `base` inside the one `holder`."""
    return f"working directory {base}" if holder is None else f"working directory {holder} holds {base}, which"
