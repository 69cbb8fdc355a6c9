"""The workspace's `workdirs/`: the copies of task folders that `copy_workdir: true` runs in
(dreamcli.agent.scratch makes them), and where a session's copy is in this workspace.

A session log records its workdir as an absolute path. A copy's path names the workspace it was made
in, so a workspace copied or moved elsewhere would read (and run command checks in) the original's
folder, or find nothing once the original is gone. `workdir_here` maps a recorded copy onto this
workspace's `workdirs/`; the user's own folder (not a copy) stays as recorded: that is what they ran in.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from dreamcli.ids import new_ulid
from dreamcli.workspace.home import Workspace

WORKDIRS = "workdirs"
SLUG_CHARS = 60
# A copy's folder name: the task's slug, `-`, a lowercase ULID (`refund-policy-01m97dba19bvmez7gnsh3nhgvd`).
COPY_NAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9._-]*[A-Za-z0-9_])?-[0-9a-hjkmnp-tv-z]{26}")


def workdirs_root(ws: Workspace) -> Path:
    return ws.root / WORKDIRS


def slug(name: str | None) -> str:
    """`name` as one safe path component: runs of other characters become `-`, no leading dot."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", name or "").strip(".-")[:SLUG_CHARS].strip(".-")
    return cleaned or "task"


def copy_name(task_name: str | None) -> str:
    """The folder name of a new copy for the task `task_name` (always matches COPY_NAME)."""
    return f"{slug(task_name)}-{new_ulid().lower()}"


def workdir_here(ws: Workspace, recorded: str | None) -> str | None:
    """The workdir a session recorded (`session.start.workdir`), as this workspace finds it: a copy
    (`…/workdirs/<slug>-<id>`) becomes this workspace's `workdirs/<slug>-<id>` when that folder exists;
    anything else (the user's own folder, a copy this workspace does not have, None) is returned as it is.
    The recorded path is untrusted: only its last component is used, only when its parent is named
    `workdirs` and the name is a copy's (no `..`, no separator), and only a folder that resolves to
    itself inside this workspace's `workdirs/` (not through a symlink leading elsewhere)."""
    if not recorded or "\0" in recorded:
        return recorded
    parent, name = os.path.split(recorded)
    if os.path.basename(parent) != WORKDIRS or not COPY_NAME.fullmatch(name):
        return recorded
    root = workdirs_root(ws)
    here = root / name
    if not here.is_dir() or os.path.realpath(here) != os.path.join(os.path.realpath(root), name):
        return recorded
    return str(here)
