"""What dreamcli knows of a cloud memory store: the local mirror (`memory/<store>/memories/`, what the
memory tool sees as `/memories/`) and, per path, the memory id and the `content_sha256` last pulled
(`state/cloud/memory/<store>.json`). A push sends that hash as its precondition."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from dreamcli.errors import UsageError
from dreamcli.textnorm import LONE_SURROGATE
from dreamcli.timeutil import now_rfc3339
from dreamcli.workspace.fsutil import atomic_write_text, ensure_dir
from dreamcli.workspace.home import Workspace

STATE_VERSION = 1
_STORE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")


def valid_cloud_id(value: Any) -> bool:
    """Whether an id the API gave (a store, session or dream id) is safe in a file name and a URL: a
    letter or digit, then up to 127 ASCII letters, digits, `_` or `-` (no `/`, `..`, control characters)."""
    return isinstance(value, str) and _STORE_RE.fullmatch(value) is not None


def shown(value: Any, width: int = 80) -> str:
    """An untrusted value for a message: quoted, control characters escaped, cut to `width`."""
    text = repr(value)
    return text if len(text) <= width else text[:width - 3] + "..."


def check_store_id(store_id: str) -> str:
    if not valid_cloud_id(store_id):
        raise UsageError(f"invalid memory store id {shown(store_id)} (expected memstore_...)")
    return store_id


def sha256_text(text: str) -> str:
    """The API's `content_sha256`: SHA-256 of the UTF-8 bytes, 64 lowercase hex characters."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def lone_surrogate(text: str) -> str | None:
    """Where `text` holds a lone surrogate (`"\\ud800"`, which a JSON string may carry but UTF-8 cannot
    encode), as words for a message; None when it is text UTF-8 can hold."""
    found = LONE_SURROGATE.search(text)
    if found is None:
        return None
    return f"a lone surrogate ({found.group()!r} at character {found.start()}), which is not UTF-8 text"


def case_key(path: str) -> str:
    """What is left of a path on a case-insensitive file system (macOS, Windows): each character
    case-folded where that keeps it one character (`A` and `a` are one name, `ß` and `ss` are not), and
    Unicode normalisation ignored (`é` composed or not is one name on macOS)."""
    def fold(c: str) -> str:
        return next((f for f in (c.casefold(), c.lower()) if len(f) == 1), c)

    return unicodedata.normalize("NFC", "".join(fold(c) for c in unicodedata.normalize("NFD", path)))


def both(a: str, b: str) -> str:
    """Two paths for a message; escaped (`'/cafe\\u0301.md'`) when they would look the same."""
    same = unicodedata.normalize("NFC", a) == unicodedata.normalize("NFC", b)
    return f"{ascii(a) if same else shown(a)} and {ascii(b) if same else shown(b)}"


def cloud_to_tool_path(path: str) -> str:
    """Cloud `/notes/a.md` -> the memory tool's `/memories/notes/a.md` (used in proposals)."""
    return "/memories/" + path.lstrip("/")


def tool_to_cloud_path(path: str) -> str:
    p = PurePosixPath(path)
    parts = p.parts[2:] if p.parts[:2] == ("/", "memories") else p.parts[1:] if p.is_absolute() else p.parts
    return "/" + "/".join(parts)


def mirror_file(ws: Workspace, store_id: str, cloud_path: str) -> Path:
    """Where a cloud memory lives in the mirror; refuses paths that would leave it (`..`, symlinks)."""
    from dreamcli.playbooks.apply import memory_path

    try:
        return memory_path(ws, check_store_id(store_id), cloud_to_tool_path(cloud_path))
    except ValueError as e:
        raise UsageError(f"memory store {store_id}: {e}") from None


def remove_mirror_file(ws: Workspace, store_id: str, cloud_path: str) -> bool:
    """Remove the mirror copy of a memory the cloud no longer has; True when a file went. Only a file
    (or a link, never what it points to) inside the mirror: a path that leaves it is left alone."""
    with contextlib.suppress(OSError, ValueError, UsageError):
        target = mirror_file(ws, store_id, cloud_path)
        if target.is_symlink() or target.is_file():
            os.unlink(target)
            return True
    return False


def write_mirror_file(ws: Workspace, store_id: str, cloud_path: str, text: str) -> bool:
    """Write the mirror copy of a memory a push created or updated (the redacted text it sent), as a pull
    writes one: atomically, 0600, in 0700 folders, only inside the mirror (a path that leaves it, through a
    symlink too, is left alone). True when written; a write that fails leaves the old copy to the next pull."""
    with contextlib.suppress(OSError, ValueError, UsageError):
        target = mirror_file(ws, store_id, cloud_path)
        with contextlib.suppress(OSError, UnicodeDecodeError):
            if not target.is_symlink() and target.read_text(encoding="utf-8") == text:
                return False  # already as pushed (an approved cloud-dream entry writes it)
        ensure_dir(target.parent)
        atomic_write_text(target, text)
        return True
    return False


@dataclass
class Known:
    memory_id: str
    sha256: str
    version_id: str | None = None


@dataclass
class StoreState:
    store_id: str
    pulled_at: str | None = None
    memories: dict[str, Known] = field(default_factory=dict)  # cloud path -> what was last seen
    pushed: set[str] = field(default_factory=set)  # "<dream id>:<entry id>" of approved cloud-dream entries pushed
    playbooks: set[str] = field(default_factory=set)  # playbooks pushed here: each owns /playbooks/<name>/
    skipped: set[str] = field(default_factory=set)  # digests of approved entries a push left out and named

    def to_json(self) -> dict[str, Any]:
        return {"v": STATE_VERSION, "store_id": self.store_id, "pulled_at": self.pulled_at,
                "memories": {p: {"memory_id": k.memory_id, "sha256": k.sha256, "version_id": k.version_id}
                             for p, k in sorted(self.memories.items())},
                "pushed": sorted(self.pushed), "playbooks": sorted(self.playbooks), "skipped": sorted(self.skipped)}

    def kept(self) -> StoreState:
        """A fresh state that keeps what only pushes record (entries sent, playbooks owned, entries left
        out and named): a pull replaces what it knows of the memories, never these."""
        return StoreState(self.store_id, pushed=set(self.pushed), playbooks=set(self.playbooks),
                          skipped=set(self.skipped))


def state_path(ws: Workspace, store_id: str) -> Path:
    """Its existence marks `memory/<store>/` as a cloud store's mirror: `dreamcli.dream.memory.check_store_name`
    (a layer below, so it cannot import this) refuses a local dream's `--memory-store` there by this path."""
    return ws.state_dir / "cloud" / "memory" / f"{check_store_id(store_id)}.json"


def load_state(ws: Workspace, store_id: str) -> StoreState:
    path = state_path(ws, store_id)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError, RecursionError):
        return StoreState(store_id)
    if not isinstance(data, dict):
        return StoreState(store_id)
    mems = data.get("memories")
    pulled = data.get("pulled_at")
    state = StoreState(store_id, pulled_at=pulled if isinstance(pulled, str) else None)
    state.pushed = _strings(data.get("pushed"))
    state.playbooks = _strings(data.get("playbooks"))
    state.skipped = _strings(data.get("skipped"))
    for p, k in (mems if isinstance(mems, dict) else {}).items():
        if isinstance(k, dict) and isinstance(k.get("memory_id"), str) and isinstance(k.get("sha256"), str):
            version = k.get("version_id")
            state.memories[p] = Known(k["memory_id"], k["sha256"], version if isinstance(version, str) else None)
    return state


def _strings(value: Any) -> set[str]:
    return {x for x in value if isinstance(x, str)} if isinstance(value, list) else set()


def save_state(ws: Workspace, state: StoreState, *, pulled: bool = False) -> None:
    if pulled:
        state.pulled_at = now_rfc3339()
    path = state_path(ws, state.store_id)
    ensure_dir(path.parent)
    atomic_write_text(path, json.dumps(state.to_json(), indent=2, ensure_ascii=False) + "\n")
