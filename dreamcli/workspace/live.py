"""Which processes use a workspace, so that a command knows in one directory listing whether a sweep
of dead processes' temp files is due (dreamcli.recovery, docs/reliability.md).

A command that opens a workspace (`dreamcli.cli.common.open_workspace`) leaves `state/live/<pid>`
while it runs and removes it when it ends, an error included. A process killed with -9 (or by a
power cut) leaves its file behind: the next command sees a pid that no longer runs, sweeps, and only
then removes the file (a sweep that is itself killed is done again). A full sweep is also due when
`state/live/` is missing (a new workspace, or one an older dreamcli used) and when the last one is
more than an hour old, which covers writers that never registered: library callers and older
versions. The time of the last full sweep is the mtime of the directory `state/live/.swept/`: a
command leaves no file behind that it did not leave before.

The agent's shells (the `bash` tool) run in sessions of their own; each is recorded in `state/live/shells/`
while it runs, and the full sweep stops those of a process that no longer runs (`dreamcli.orphans`).

A process's private folders outside the workspace (a pilot trial's copy of the task's workdir) are made
by `private_tempdir` in the system's temp directory, named `dreamcli-<kind>-<pid>-<random>`, and
removed by `sweep_tempdirs` (part of the full sweep) once that pid no longer runs.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from pathlib import Path

from dreamcli.workspace.fsutil import FILE_MODE, ensure_dir
from dreamcli.workspace.home import Workspace
from dreamcli.workspace.sweep import OLD_S, pid_alive

SWEEP_EVERY_S = OLD_S
STAMP = ".swept"
TEMP_KINDS = ("pilot",)  # the kinds of private_tempdir folders, each swept once its process is gone
TEMPDIR_PATTERN = r"^dreamcli-([a-z]+)-(?:(\d+)-)?[a-z0-9_]+$"  # no pid: made by an older dreamcli
_held: dict[Path, int] = {}  # this process's markers -> how many opens hold each


def live_dir(ws: Workspace) -> Path:
    return ws.state_dir / "live"


def shells_dir(ws: Workspace) -> Path:
    """Where the agent's shells are recorded while they run (dreamcli.shell_records.record_group): the full sweep stops
    what a killed process's shells still run."""
    return live_dir(ws) / "shells"


def _alive(path: Path, pid: int) -> bool:
    if pid == os.getpid():  # ours only while we hold it; else a dead process had our pid
        return _held.get(path, 0) > 0
    return pid_alive(pid)


def sweep_due(ws: Workspace) -> tuple[bool, list[Path]]:
    """(a full sweep is due, the markers of dead processes to remove once it is done)."""
    try:
        with os.scandir(live_dir(ws)) as it:
            entries = list(it)
    except OSError:
        return True, []  # never tracked here (or unreadable): sweep
    stamp: float | None = None
    dead: list[Path] = []
    for entry in entries:
        if entry.name == STAMP:
            with contextlib.suppress(OSError):
                stamp = entry.stat().st_mtime
        elif entry.name.isdigit():
            path = Path(entry.path)
            if not _alive(path, int(entry.name)):
                dead.append(path)
    age = time.time() - stamp if stamp is not None else -1.0
    return bool(dead) or not 0 <= age < SWEEP_EVERY_S, dead


def swept(ws: Workspace, dead: list[Path]) -> None:
    """Record a finished full sweep: the stamp is renewed and the dead processes' markers removed."""
    with contextlib.suppress(OSError):
        os.utime(ensure_dir(live_dir(ws) / STAMP))
    for path in dead:
        with contextlib.suppress(OSError):
            path.unlink()


def register(ws: Workspace) -> Callable[[], None]:
    """Mark this process as a user of `ws`; returns the function that unmarks it (call it once)."""
    path = live_dir(ws) / str(os.getpid())
    try:
        if not _held.get(path):
            ensure_dir(path.parent)
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE))
    except OSError:
        return lambda: None  # a read-only workspace: nothing here can leave temp files either
    _held[path] = _held.get(path, 0) + 1
    released = False

    def release() -> None:
        nonlocal released
        if released:
            return
        released = True
        left = _held.get(path, 0) - 1
        if left > 0:
            _held[path] = left
            return
        _held.pop(path, None)
        with contextlib.suppress(OSError):
            path.unlink()

    return release


def private_tempdir(kind: str) -> Path:
    """A new private folder (0700) in the system's temp directory, `dreamcli-<kind>-<pid>-<random>`:
    one that a killed process leaves behind is removed by the next full sweep (`sweep_tempdirs`)."""
    import tempfile  # here: every command imports this module, few make a folder

    return Path(tempfile.mkdtemp(prefix=f"dreamcli-{kind}-{os.getpid()}-"))


def sweep_tempdirs(root: Path | None = None, kinds: tuple[str, ...] = TEMP_KINDS) -> list[Path]:
    """Remove the `private_tempdir` folders of processes that no longer run (one without a pid in its
    name, made by an older dreamcli, once it is an hour old). Only this user's own folders are looked at;
    a live process's folder, or one named with this process's pid, is never touched."""
    import re
    import shutil
    import tempfile

    pattern = re.compile(TEMPDIR_PATTERN)
    root = Path(tempfile.gettempdir()) if root is None else root
    removed: list[Path] = []
    try:
        with os.scandir(root) as it:
            entries = [e for e in it if e.name.startswith("dreamcli-")]
    except OSError:
        return removed
    for entry in entries:
        m = pattern.match(entry.name)
        if m is None or m.group(1) not in kinds:
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        mine = not hasattr(os, "geteuid") or st.st_uid == os.geteuid()
        if not mine or not entry.is_dir(follow_symlinks=False):
            continue
        pid = m.group(2)
        if pid is not None:
            dead = int(pid) != os.getpid() and not pid_alive(int(pid))
        else:
            dead = time.time() - st.st_mtime > OLD_S
        if dead:
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(Path(entry.path))
    return removed
