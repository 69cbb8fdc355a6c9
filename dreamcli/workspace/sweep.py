"""Sweeping what dead processes left behind: temp files (`.<name>.<pid>.<random>.tmp`, written by
`fsutil.atomic_write_bytes`) and temp directories (`.tmp-<id>-<pid>`).

A temp file or directory whose writer is still alive is never touched; one without a pid in its
name (written by an older dreamcli) is swept once it is older than an hour.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from pathlib import Path

from dreamcli.workspace.deeptree import remove_tree

OLD_S = 3600
_PID = re.compile(r"\.(\d+)\.[^.]*\.tmp$")
_DIR_PID = re.compile(r"^\.tmp-.*-(\d+)$")


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _dead(name: str, path: Path, pattern: re.Pattern[str]) -> bool:
    m = pattern.search(name)
    if m is not None:
        pid = int(m.group(1))
        return pid != os.getpid() and not pid_alive(pid)
    try:
        return time.time() - path.stat().st_mtime > OLD_S
    except OSError:
        return False


def sweep_temp(directory: Path, *, recursive: bool = False) -> list[Path]:
    """Remove the temp files (and `.tmp-*` directories) of dead processes in `directory` (and, `recursive`,
    in every folder below it: a list of folders still to look in, not a call per level, so that a tree
    thousands of folders deep is swept, not a RecursionError)."""
    removed: list[Path] = []
    todo = [directory]
    while todo:
        folder = todo.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:  # missing, not a folder, or its path longer than the system takes
            continue
        for entry in entries:
            path = Path(entry.path)
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if is_dir and entry.name.startswith(".tmp-"):
                if _dead(entry.name, path, _DIR_PID):
                    remove_tree(path)
                    removed.append(path)
            elif is_dir and recursive:
                todo.append(path)
            elif (not is_dir and entry.name.startswith(".") and entry.name.endswith(".tmp")
                  and _dead(entry.name, path, _PID)):
                with contextlib.suppress(OSError):
                    path.unlink()
                    removed.append(path)
    return removed
