"""Trust for the commands a workspace's config.yaml lets an agent run without asking (docs/config.md).

A workspace can live inside a project (`PROJECT/.dreamcli`), so its config.yaml can arrive with a
clone or an unpacked archive, and `approvals.allow_commands` there would let an agent run those
commands with nobody asked. A run honours that list only once this user has trusted it with
`dreamcli config trust`, which records the workspace (its directory's path, device and inode) and a
digest of the list in a file of the user's, outside every workspace (`trust_file`). Until then, and
again after the list changes, the commands are asked about (refused without a terminal) and the run
says how to trust them. The user's own config needs no trust; when the workspace's file sets a list,
the list in effect (whatever gave it) must be the one trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dreamcli.errors import InputError
from dreamcli.workspace.fsutil import read_private

if TYPE_CHECKING:
    from dreamcli.config import Config
    from dreamcli.workspace.home import Workspace

TRUST_ENV = "DREAMCLI_TRUST_FILE"  # where the records are kept, instead of the user's state directory


def trust_file() -> Path:
    explicit = os.environ.get(TRUST_ENV)
    if explicit:
        return Path(explicit).expanduser()
    import platformdirs

    return platformdirs.user_state_path("dreamcli") / "trusted-workspaces.json"


def workspace_commands(ws: Workspace) -> list[str] | None:
    """`approvals.allow_commands` as the workspace's own config.yaml sets it, read as the configuration
    reads it (a YAML `!!binary` item is the text it decodes to); None when the file does not set it."""
    return _layer_commands(ws, "workspace")


def _layer_commands(ws: Workspace, layer: str) -> list[str] | None:
    from dreamcli.config import ApprovalsConfig, config_layers

    for source, _, data in config_layers(ws.config_path):
        approvals = data.get("approvals") if source == layer else None
        if isinstance(approvals, dict) and "allow_commands" in approvals:
            return list(ApprovalsConfig.model_validate(approvals).allow_commands)
    return None


def digest(patterns: list[str]) -> str:
    return "sha256:" + hashlib.sha256(json.dumps(patterns, ensure_ascii=False).encode()).hexdigest()


def is_trusted(ws: Workspace, patterns: list[str]) -> bool:
    record = _records().get(_key(ws))
    return (isinstance(record, dict) and record.get("workspace") == _identity(ws)
            and record.get("digest") == digest(patterns))


def honoured_commands(ws: Workspace, config: Config) -> tuple[list[str], str | None]:
    """The `allow_commands` a run honours, and a warning when the workspace's config.yaml sets a list
    this user has not trusted (the list below it then holds: the user's config, else none)."""
    patterns = list(config.approvals.allow_commands)
    here = workspace_commands(ws)
    if here is None or is_trusted(ws, patterns):  # the list in effect is the one trusted (or none is set here)
        return patterns, None
    below = _layer_commands(ws, "user") or []
    if set(patterns) <= set(below):  # the user's own list allows all of it already: nothing to ask about
        return below, None
    n = len(here)
    return below, (f"{ws.config_path}: approvals.allow_commands ({n} pattern{'s' if n != 1 else ''}) is not "
                   f"trusted here, so those commands are asked about; if you wrote it: dreamcli --home "
                   f"{ws.root} config trust")


def trust(ws: Workspace, patterns: list[str]) -> Path:
    """Record `patterns` as trusted for this workspace (replacing what was trusted before)."""
    record = {"path": _key(ws), "workspace": _identity(ws), "digest": digest(patterns),
              "allow_commands": patterns, "ts": datetime.now(UTC).isoformat(timespec="seconds")}
    return _update(lambda records: records.__setitem__(_key(ws), record))


def revoke(ws: Workspace) -> bool:
    """Forget this workspace's trusted list; False when there was none."""
    had = _key(ws) in _records()
    if had:
        _update(lambda records: records.pop(_key(ws), None))
    return had


def _key(ws: Workspace) -> str:
    return str(ws.root.resolve())


def _identity(ws: Workspace) -> list[int] | None:
    try:
        st = os.stat(ws.root)
    except OSError:
        return None
    return [st.st_dev, st.st_ino]


def _records() -> dict[str, Any]:
    path = trust_file()
    raw = read_private(path, "the trusted workspaces")
    if raw is None:
        return {}
    try:
        data = json.loads(raw)
        records = data["workspaces"]
        if not isinstance(records, dict):
            raise ValueError("'workspaces' is not an object")
    except (ValueError, KeyError, TypeError, RecursionError) as e:
        raise InputError(f"not a trusted-workspaces file ({e}); delete it and trust again",
                         file=str(path)) from None
    return records


def _update(change: Any) -> Path:
    import filelock

    from dreamcli.workspace.fsutil import atomic_write_text, ensure_dir

    path = trust_file()
    ensure_dir(path.parent)
    with filelock.FileLock(str(path) + ".lock", mode=0o600):
        records = _records()
        change(records)
        atomic_write_text(path, json.dumps({"version": 1, "workspaces": records}, indent=1) + "\n")
    return path
