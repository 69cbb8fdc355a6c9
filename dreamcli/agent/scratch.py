"""A fresh copy of a task's working directory, for task files that say `copy_workdir: true`.

Bundled samples set it, so running one from a checkout never writes into the repository: the copy
lives in the workspace under `workdirs/<task>-<id>/` and the session records that path.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from dreamcli.agent.spec import TaskSpec
from dreamcli.ids import new_ulid
from dreamcli.workspace.home import Workspace


def workdirs_root(ws: Workspace) -> Path:
    return ws.root / "workdirs"


def with_fresh_workdir(ws: Workspace, spec: TaskSpec) -> TaskSpec:
    """`spec` itself, or (with copy_workdir and a workdir) a copy of it running in a fresh copy."""
    if not spec.copy_workdir or spec.workdir is None:
        return spec
    root = workdirs_root(ws)
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = root / f"{spec.name or 'task'}-{new_ulid().lower()}"
    # the task's outcome spec may sit next to the task, outside workdir: it keeps its absolute path
    shutil.copytree(spec.workdir, target, symlinks=True)
    return spec.with_overrides(workdir=target)
