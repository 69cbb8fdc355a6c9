"""`cloud memory pull STORE_ID`: mirror a memory store's memories into `memory/<store>/memories/`
(redacted on the way in) and remember each memory's `content_sha256` for the next push."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dreamcli import sdk_beta
from dreamcli.audit import append_audit
from dreamcli.cloud.client import cloud_error
from dreamcli.cloud.state import Known, StoreState, check_store_id, load_state, mirror_file, save_state
from dreamcli.config import workspace_redactor
from dreamcli.workspace.fsutil import atomic_write_text, ensure_dir
from dreamcli.workspace.home import Workspace
from dreamcli.workspace.lock import workspace_lock

Progress = Callable[[str], None]
LOCK_NAME = "cloud-memory"  # pulls, pushes and cloud dreams of the workspace's mirrors, one at a time


@dataclass
class CloudMemory:
    path: str
    memory_id: str
    sha256: str
    version_id: str | None
    content: str | None


@dataclass
class PullResult:
    store_id: str
    store_name: str | None = None
    written: list[str] = field(default_factory=list)  # paths new or changed in the mirror
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)  # gone from the cloud, removed from the mirror
    redacted: list[str] = field(default_factory=list)  # paths whose mirror copy had secrets replaced
    mirror: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"store_id": self.store_id, "store_name": self.store_name, "mirror": self.mirror,
                "written": self.written, "unchanged": self.unchanged, "removed": self.removed,
                "redacted": self.redacted}


def check_store(client: Any, store_id: str, *, what: str) -> dict[str, Any]:
    """The store (`BetaManagedAgentsMemoryStore`); a 404 is one clear line, exit 2."""
    try:
        return sdk_beta.retrieve_memory_store(client, check_store_id(store_id))
    except Exception as e:
        raise cloud_error(e, what=what, store=store_id) from None


def fetch_memories(client: Any, store_id: str, *, what: str,
                   progress: Progress | None = None) -> dict[str, CloudMemory]:
    """path -> memory, with content, page after page."""
    out: dict[str, CloudMemory] = {}
    try:
        for m in sdk_beta.iter_memories(client, store_id, full=True):
            out[str(m["path"])] = CloudMemory(str(m["path"]), str(m["id"]), str(m["content_sha256"]),
                                              m.get("memory_version_id"), m.get("content"))
            if progress is not None:
                progress(f"{store_id}: {len(out)} memories read")
    except Exception as e:
        raise cloud_error(e, what=what, store=store_id) from None
    return out


def pull_store(ws: Workspace, client: Any, store_id: str, *, progress: Progress | None = None) -> PullResult:
    what = f"pull memory store {store_id}"
    store = check_store(client, store_id, what=what)
    memories = fetch_memories(client, store_id, what=what, progress=progress)
    return mirror_memories(ws, store_id, memories, store_name=store.get("name"))


def mirror_memories(ws: Workspace, store_id: str, memories: dict[str, CloudMemory], *,
                    store_name: str | None = None) -> PullResult:
    """Write the memories into the mirror (only what changed), drop what the cloud no longer has, and
    record the pulled hashes."""
    with workspace_lock(ws, LOCK_NAME):
        result = _mirror(ws, store_id, memories, store_name)
    if result.written or result.removed:
        append_audit(ws, "cloud-pull", store_id=store_id, written=len(result.written), removed=len(result.removed),
                     redacted=len(result.redacted), mirror=result.mirror)
    return result


def _mirror(ws: Workspace, store_id: str, memories: dict[str, CloudMemory], store_name: str | None) -> PullResult:
    result = PullResult(store_id, store_name, mirror=str(ws.memories_root(store_id)))
    redactor = workspace_redactor(ws.config_path)
    old = load_state(ws, store_id)
    state = StoreState(store_id)
    for path, m in sorted(memories.items()):
        target = mirror_file(ws, store_id, path)
        text = redactor.redact_text(m.content or "")
        if text != (m.content or ""):
            result.redacted.append(path)
        try:
            current = target.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            current = None
        if current == text:
            result.unchanged += 1
        else:
            ensure_dir(target.parent)
            atomic_write_text(target, text)
            result.written.append(path)
        state.memories[path] = Known(m.memory_id, m.sha256, m.version_id)
    for path in sorted(set(old.memories) - set(memories)):
        with contextlib.suppress(OSError, ValueError):
            os.unlink(mirror_file(ws, store_id, path))
            result.removed.append(path)
    save_state(ws, state, pulled=True)
    return result
