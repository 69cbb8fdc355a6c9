"""Whose failure an export's OSError is: a file of the workspace the export reads (a session, a kept version),
or the export's own output (-o, a Parquet DIR, and the temporary names they are written under beside it).

The output may be inside the workspace's folder (`-o ws/exports/x.json`), and a workspace's folder may have
a name close to the output's (`P/.dreamcli` and `-o P/dreamcli`), so an output's temporary is told apart by
the exact names its writers give: `atomic_write_bytes` (dreamcli/workspace/fsutil.py), the bundle sinks
(dreamcli/portability/bundle_io.py) and the Parquet staging folder (dreamcli/portability/staged_dir.py)."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import TYPE_CHECKING

from dreamcli.errors import DreamError, WorkFailed, storage_error
from dreamcli.portability.bundle_io import sink_prefix
from dreamcli.portability.staged_dir import aside_path, staging_path
from dreamcli.workspace.fsutil import TEMP_SUFFIX, is_temp_name, temp_prefix

if TYPE_CHECKING:
    from dreamcli.workspace.home import Workspace

# What else a workspace file the export listed a moment before fails with only when it changed meanwhile
# (besides ENOENT: removed).
_CHANGED = (errno.ENOTDIR, errno.EISDIR, errno.ELOOP)


def workspace_failure(e: OSError, ws: Workspace, output: Path | None) -> DreamError | None:
    """An export's OSError as the workspace's own when it names a file of the workspace that is not the
    export's `output` (a session it cannot read): the storage error with the workspace's advice (exit 74, the
    file named; EACCES too, `storage_error`), else one line naming that file and what happened (exit 1: a
    file removed or replaced while the export ran is not the user's mistake; the export run again does
    without it). A session of --include-sessions removed meanwhile never gets here: it is a missing one.
    None when it is the output's, or names no file: the export's write failed."""
    name = e.filename if isinstance(e.filename, str) else None
    if name is None:
        return None
    path, root = Path(os.path.abspath(name)), Path(os.path.abspath(ws.root))
    if not path.is_relative_to(root) or (output is not None and of_output(path, Path(os.path.abspath(output)))):
        return None
    return storage_error(e, workspace=ws.root) or _unreadable(e, path)


def _unreadable(e: OSError, path: Path) -> WorkFailed:
    """A workspace file the export could not read for a reason not the machine's: exit 1, the file named."""
    cause = f"cannot read {path}: {e.strerror or e}"
    if e.errno == errno.ENOENT:
        return WorkFailed(f"{cause} (removed while the export ran); run the export again")
    if e.errno in _CHANGED:
        return WorkFailed(f"{cause} (changed while the export ran); run the export again")
    return WorkFailed(cause)


def of_output(path: Path, output: Path) -> bool:
    """Whether `path` (absolute) is the export's `output` (absolute), inside it, a folder it is written into
    (made for it), or a temporary its writers make beside it, or inside one: `.NAME.PID.<random>.tmp`
    (`atomic_write_bytes`), `.NAME.<random>` and `.NAME.<random>.tmp` (a bundle directory or tarball,
    bundle_io's DirSink and TarSink), `.tmp-parquet.NAME-PID` and `.parquet-old.NAME-PID` (`staged_dir`)."""
    if path.is_relative_to(output) or output.is_relative_to(path):
        return True
    if not path.is_relative_to(output.parent):
        return False
    first = path.relative_to(output.parent).parts[0]
    sink = sink_prefix(output)  # bundle_io's DirSink (mkdtemp) and TarSink (mkstemp, suffix .tmp)
    return (is_temp_name(first, temp_prefix(output), TEMP_SUFFIX) or is_temp_name(first, sink)
            or is_temp_name(first, sink, ".tmp")
            or first in (staging_path(output, os.getpid()).name, aside_path(output, os.getpid()).name))


def as_output(path: Path, output: Path) -> Path:
    """`path` (absolute) as the user knows it: in a temporary the writers of `output` (absolute) make beside it
    (`of_output`: `.NAME.x1y2z3ab/manifest.json`), the file of `output` it becomes (`NAME/manifest.json`); the
    temporary itself, `output`; any other path as it is."""
    if not path.is_relative_to(output.parent) or path == output.parent or path.is_relative_to(output):
        return path
    first, *rest = path.relative_to(output.parent).parts
    temporary = output.parent / first
    if output.is_relative_to(temporary) or not of_output(temporary, output):
        return path
    return output.joinpath(*rest)
