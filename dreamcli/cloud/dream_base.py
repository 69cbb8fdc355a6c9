"""What a cloud dream needs to become a local proposal after the `cloud dream` that started it is gone, and
who may make that proposal.

The base, `state/cloud/dreams/bases/<record id>.json`, holds what `cloud dream` knew when it sent the create:
the input store as the dream found it (each memory's path, id, content hash, version, and its content
redacted with the workspace's rules, as the mirror holds it), the sessions the dream reads, the playbook and
note the proposal is filed under. `cloud dream` writes it before the create and removes it once the record
is finished; one left unfinished (a kill, a network error) keeps it, for `cloud dream list --refresh` to
turn the completed dream into the same proposal. A base no record names (a kill before the create was
recorded) is swept by the next refresh (`sweep_orphans`).

The claim is the lock `cloud-dream-<record id>`: `cloud dream` holds it from before the create until it is
done with the dream (a kill -9 lets go of it with the process), and `--refresh` writes a proposal only while
it holds it, after reading the record again. So the proposal is written once, whoever writes it. The lock's
file is removed once the record is finished: whoever takes it after that reads a finished record and stops."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dreamcli.cloud.dream_record import DreamRecord, Unreadable, parsed_json, records_dir
from dreamcli.cloud.memory_pull import CloudMemory
from dreamcli.cloud.state import valid_cloud_id
from dreamcli.errors import LockHeld
from dreamcli.redaction import Redactor
from dreamcli.workspace.fsutil import atomic_write_text, ensure_dir
from dreamcli.workspace.home import Workspace
from dreamcli.workspace.lock import workspace_lock

BASE_VERSION = 1
MAX_BASE_BYTES = 512 * 1024 * 1024  # the store as read into memory before the dream; more is no base of ours


@dataclass
class DreamBase:
    store_id: str
    session_ids: list[str]
    playbook: str
    note: str | None
    memories: dict[str, CloudMemory]  # path -> memory: the input store as the dream found it


def claim_name(record_id: str) -> str:
    return f"cloud-dream-{record_id}"


@contextlib.contextmanager
def claimed(ws: Workspace, record_id: str) -> Iterator[None]:
    """Hold the record's claim, or raise LockHeld (exit 75) at once: another dreamcli is at work on the dream.
    A claim that cannot be taken for a failing disk is not held (the record's own write then fails too)."""
    with contextlib.ExitStack() as stack:
        with contextlib.suppress(OSError):
            stack.enter_context(workspace_lock(ws, claim_name(record_id)))
        yield


def base_path(ws: Workspace, record_id: str) -> Path:
    return records_dir(ws) / "bases" / f"{record_id}.json"


def save_base(ws: Workspace, record_id: str, base: DreamBase, redactor: Redactor) -> bool:
    """Write the base (0600); whether it was written. Best effort: without it the dream runs as before, and
    only a proposal after a kill cannot be made."""
    memories = [{"path": m.path, "memory_id": m.memory_id, "sha256": m.sha256, "version_id": m.version_id,
                 "content": None if m.content is None else redactor.redact_text(m.content)}
                for m in base.memories.values()]
    data = {"v": BASE_VERSION, "store_id": base.store_id, "session_ids": base.session_ids,
            "playbook": base.playbook, "note": base.note, "memories": memories}
    try:
        ensure_dir(base_path(ws, record_id).parent)
        atomic_write_text(base_path(ws, record_id), json.dumps(data, ensure_ascii=False))
    except OSError:
        return False
    return True


def load_base(ws: Workspace, record_id: str) -> DreamBase | None:
    """The record's base; None when there is none or it cannot be read as one."""
    try:
        data = parsed_json(base_path(ws, record_id), MAX_BASE_BYTES)
    except (Unreadable, FileNotFoundError):
        return None
    try:
        return _from_json(data)
    except (KeyError, TypeError, ValueError):
        return None


def _from_json(data: Any) -> DreamBase | None:
    if not isinstance(data, dict) or data.get("v") != BASE_VERSION:
        return None
    memories: dict[str, CloudMemory] = {}
    for m in data["memories"]:
        memory = CloudMemory(m["path"], m["memory_id"], m["sha256"], m.get("version_id"), m.get("content"))
        if not all(isinstance(v, str) for v in (memory.path, memory.memory_id, memory.sha256)) or not all(
                isinstance(v, str | None) for v in (memory.version_id, memory.content)):
            return None
        memories[memory.path] = memory
    ids, store, playbook, note = data["session_ids"], data["store_id"], data["playbook"], data.get("note")
    if not (isinstance(ids, list) and all(isinstance(i, str) for i in ids) and isinstance(store, str)
            and isinstance(playbook, str) and isinstance(note, str | None)):
        return None
    return DreamBase(store, ids, playbook, note, memories)


def tidy(ws: Workspace, record_id: str, record: DreamRecord | None) -> None:
    """Remove the base and the claim's file once nothing can be done with them: the record is finished, has no
    id the API can be asked by, or was never written. Call it holding the claim. Best effort."""
    if record is not None and not record.finished and valid_cloud_id(record.cloud_dream_id):
        return
    for path in (base_path(ws, record_id), ws.locks_dir / f"{claim_name(record_id)}.lock"):
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)


def sweep_orphans(ws: Workspace) -> None:
    """Remove each base no record file names (readable or not): a `cloud dream` killed before its create was
    recorded. One whose claim is held (that command is still at it) is left. Best effort."""
    try:
        names = [p.stem for p in (records_dir(ws) / "bases").iterdir() if p.suffix == ".json"]
    except OSError:
        return
    for record_id in names:
        if (records_dir(ws) / f"{record_id}.json").exists():
            continue
        with contextlib.suppress(LockHeld), claimed(ws, record_id):
            if not (records_dir(ws) / f"{record_id}.json").exists():  # recorded meanwhile: kept
                tidy(ws, record_id, None)
