"""Sweeping what dead processes left behind: temp files (`.<name>.<pid>.<random>.tmp`, written by
`fsutil.atomic_write_bytes`) and temp directories (`.tmp-<id>-<pid>`).

A temp file or directory whose writer is still alive is never touched; one without a pid in its
name (written by an older dreamcli) is swept once it is older than an hour.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
from pathlib import Path

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
    """Remove the temp files (and `.tmp-*` directories) of dead processes in `directory`."""
    removed: list[Path] = []
    if not directory.is_dir():
        return removed
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        path = Path(entry.path)
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
        except OSError:
            continue
        if is_dir and entry.name.startswith(".tmp-"):
            if _dead(entry.name, path, _DIR_PID):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
        elif is_dir and recursive:
            removed.extend(sweep_temp(path, recursive=True))
        elif (not is_dir and entry.name.startswith(".") and entry.name.endswith(".tmp")
              and _dead(entry.name, path, _PID)):
            with contextlib.suppress(OSError):
                path.unlink()
                removed.append(path)
    return removed
