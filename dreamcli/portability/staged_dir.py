"""A directory target written whole or not at all (`export sessions --format parquet DIR`).

The content is written into a sibling staging folder, `.tmp-parquet.<name>-<pid>`, and renamed onto the
target only once complete. An existing target is replaced only then: with `force` it is first renamed
aside (`.parquet-old.<name>-<pid>`, a name no workspace sweep removes) and deleted once the new one is
in place; without, it may only be an empty directory. An error or Ctrl-C removes the staging folder and
puts a target moved aside back. A kill -9 leaves them: the next export into the same folder sweeps the
leftovers of processes that no longer run (`sweep_leftovers`), putting back a target moved aside when
nothing took its place, so the target is always as it was before (absent, or the old content) or whole.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from dreamcli.workspace.fsutil import DIR_MODE, ensure_dir
from dreamcli.workspace.sweep import pid_alive

STAGING = ".tmp-parquet."
ASIDE = ".parquet-old."


def staging_path(target: Path, pid: int) -> Path:
    return target.parent / f"{STAGING}{target.name}-{pid}"


def aside_path(target: Path, pid: int) -> Path:
    return target.parent / f"{ASIDE}{target.name}-{pid}"


def _leftover(name: str) -> tuple[str, str, int] | None:
    """(kind prefix, target name, pid) of a staging or aside folder's name, else None."""
    for kind in (STAGING, ASIDE):
        if name.startswith(kind):
            target, _, pid = name[len(kind):].rpartition("-")
            if target and pid.isdigit():
                return kind, target, int(pid)
    return None


def sweep_leftovers(folder: Path) -> list[Path]:
    """Clean up after killed exports into `folder`: remove the staging folders of dead processes, and put
    a target moved aside back where nothing took its place (else remove it: the new one is in place). A
    live process's folders are never touched; this process's own pid counts as dead (it stages none yet)."""
    try:
        entries = [e for e in os.scandir(folder) if _leftover(e.name) and e.is_dir(follow_symlinks=False)]
    except OSError:  # no folder yet, or one that cannot be listed: the export reports it
        return []
    done: list[Path] = []
    for entry in entries:
        kind, target, pid = _leftover(entry.name) or ("", "", 0)
        if pid != os.getpid() and pid_alive(pid):
            continue
        path = Path(entry.path)
        with contextlib.suppress(OSError):
            if kind == ASIDE and not os.path.lexists(folder / target):
                os.rename(path, folder / target)
            else:
                shutil.rmtree(path)
            done.append(path)
    return done


def make_staging(target: Path) -> Path:
    """A new, empty, private (0700) staging folder beside `target` (its parent created if missing)."""
    ensure_dir(target.parent)
    staging = staging_path(target, os.getpid())
    os.mkdir(staging, DIR_MODE)
    os.chmod(staging, DIR_MODE)  # mkdir's mode is masked by the umask
    return staging


def publish(staging: Path, target: Path, *, force: bool) -> None:
    """Rename the finished `staging` onto `target`. An existing target is replaced with `force`, else it must
    be an empty directory. On any failure or interrupt the target is put back as it was."""
    aside = aside_path(target, os.getpid())
    moved = emptied = False
    try:
        if os.path.lexists(target):
            if force:
                os.rename(target, aside)
                moved = True
            else:
                os.rmdir(target)  # refuses a directory that was filled meanwhile
                emptied = True
        os.rename(staging, target)
    except BaseException:
        with contextlib.suppress(OSError):
            if moved and not os.path.lexists(target):
                os.rename(aside, target)
            elif emptied and not os.path.lexists(target):
                os.mkdir(target, DIR_MODE)
        raise
    if moved:
        shutil.rmtree(aside, ignore_errors=True)


def discard(staging: Path) -> None:
    shutil.rmtree(staging, ignore_errors=True)
