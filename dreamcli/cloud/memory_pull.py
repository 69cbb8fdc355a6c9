"""`cloud memory pull STORE_ID`: mirror a memory store's memories into `memory/<store>/memories/`
(redacted on the way in) and remember each memory's `content_sha256` for the next push. A memory whose
path holds a secret is skipped, as the agent's memory tool refuses such a path: the path would be a file
name, a key of the state and a line of the output, which redaction of the content does not reach."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dreamcli import sdk_beta
from dreamcli.audit import append_audit
from dreamcli.cloud.client import attempts_of, cloud_error
from dreamcli.cloud.state import (
    Known,
    StoreState,
    both,
    case_key,
    check_store_id,
    load_state,
    lone_surrogate,
    mirror_file,
    save_state,
    shown,
    valid_cloud_id,
)
from dreamcli.config import workspace_redactor
from dreamcli.errors import UsageError
from dreamcli.redaction import Redactor, default_redactor
from dreamcli.textnorm import LONE_SURROGATE
from dreamcli.workspace.fsutil import atomic_write_text, ensure_dir
from dreamcli.workspace.home import Workspace
from dreamcli.workspace.lock import workspace_lock

Progress = Callable[[str], None]
LOCK_NAME = "cloud-memory"  # pulls, pushes and cloud dreams of the workspace's mirrors, one at a time
NAME_MAX = 255  # bytes in one file name (Linux, macOS)
PATH_MAX = 4096  # bytes in a whole path (Linux; macOS allows 1024 and refuses the write: one line)
TEMP_SUFFIX = 32  # what `atomic_write_text` adds to a name while it writes: `.NAME.PID.RANDOM.tmp`
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_TEMP = re.compile(r"\..+\.\d+\.[A-Za-z0-9_]+\.tmp")  # `atomic_write_text` at work: `.NAME.PID.RANDOM.tmp`


class ListingRefused(UsageError):
    """A memory store listing the mirror cannot hold (exit 2): `problem` names the memory and what is wrong,
    without the store, so a caller can name the store its own way (a cloud dream's output store)."""

    def __init__(self, store_id: str, problem: str) -> None:
        super().__init__(f"memory store {store_id}: {problem}; nothing pulled")
        self.store_id = store_id
        self.problem = problem


def shown_redacted(value: Any, redactor: Redactor) -> str:
    """`shown(value)` of the value redacted whole, before it is cut to 80 characters: a secret the cut
    falls in is no longer one the rules find, and half of it would stay in the message."""
    return shown(redactor.redact_obj(value))


def both_redacted(a: str, b: str, redactor: Redactor) -> str:
    """`both(a, b)` of the two paths redacted whole, before either is cut."""
    return both(redactor.redact_text(a), redactor.redact_text(b))


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
    skipped: list[str] = field(default_factory=list)  # paths holding a secret, redacted: not mirrored
    warnings: list[str] = field(default_factory=list)  # one a skipped memory, naming it redacted
    mirror: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"store_id": self.store_id, "store_name": self.store_name, "mirror": self.mirror,
                "written": self.written, "unchanged": self.unchanged, "removed": self.removed,
                "redacted": self.redacted, "skipped": self.skipped, "warnings": self.warnings}


def check_store(client: Any, store_id: str, *, what: str, redactor: Redactor | None = None) -> dict[str, Any]:
    """The store (`BetaManagedAgentsMemoryStore`); a 404 is one clear line, exit 2. The API's message is
    redacted with `redactor` (default: the built-in rules) before it is cut."""
    try:
        return sdk_beta.retrieve_memory_store(client, check_store_id(store_id))
    except Exception as e:
        raise cloud_error(e, what=what, store=store_id, redactor=redactor, attempts=attempts_of(client)) from None


def fetch_memories(client: Any, store_id: str, *, what: str, progress: Progress | None = None,
                   redactor: Redactor | None = None) -> dict[str, CloudMemory]:
    """path -> memory, with content, page after page; a memory without an id, a path or a content hash,
    or two memories at one path, is one line (exit 2), its values (and the API's message, for a failed
    request) redacted with `redactor` (default: the built-in rules) before they are cut for the line."""
    out: dict[str, CloudMemory] = {}
    rules = redactor or default_redactor()
    try:
        for m in sdk_beta.iter_memories(client, store_id, full=True):
            memory = _checked(store_id, m, rules)
            if memory.path in out:
                raise ListingRefused(store_id, f"memories {out[memory.path].memory_id} and {memory.memory_id} "
                                               f"are both at path {shown_redacted(memory.path, rules)}")
            out[memory.path] = memory
            if progress is not None:
                progress(f"{store_id}: {len(out)} memories read")
    except Exception as e:
        raise cloud_error(e, what=what, store=store_id, redactor=rules, attempts=attempts_of(client)) from None
    return out


def _checked(store_id: str, m: dict[str, Any], redactor: Redactor) -> CloudMemory:
    """One listed memory, every field type-checked (never a `None` turned into the string "None")."""
    memory_id, path, sha = m.get("id"), m.get("path"), m.get("content_sha256")
    name = (f"memory {memory_id}" if valid_cloud_id(memory_id)
            else f"a memory with id {shown_redacted(memory_id, redactor)}")
    problem = ("an invalid id" if not valid_cloud_id(memory_id)
               else "no path" if not isinstance(path, str) or not path
               else "no content_sha256" if not isinstance(sha, str) or not _SHA256.fullmatch(sha)
               else "a version id that is not a string" if not isinstance(m.get("memory_version_id"), str | None)
               else "content that is not a string" if not isinstance(m.get("content"), str | None)
               else f"content with {lone_surrogate(m['content'])}" if lone_surrogate(m.get("content") or "")
               else None)
    if problem is not None:
        where = f" at {shown_redacted(path, redactor)}" if isinstance(path, str) and path else ""
        raise ListingRefused(store_id, f"{name}{where} has {problem}")
    return CloudMemory(str(path), str(memory_id), str(sha), m.get("memory_version_id"), m.get("content"))


def check_listing(ws: Workspace, store_id: str, memories: dict[str, CloudMemory]) -> dict[str, Path]:
    """Where each memory goes in the mirror, after checking the whole listing: a path that leaves the
    mirror, two paths that are one file (`/a.md` and `/a.md/`, or `/A.md` and `/a.md` on a file system
    that ignores case, like macOS and Windows), a file that another memory needs as a directory, a name
    too long for the file system. Any of them is one line naming the memory (exit 2), before anything is
    written."""
    root = ws.memories_root(check_store_id(store_id))
    redactor = workspace_redactor(ws.config_path)  # the paths in a refusal, redacted before they are cut
    targets: dict[str, Path] = {}
    owner: dict[str, str] = {}  # the file's place in the mirror, case ignored -> memory path
    for path in sorted(memories):
        target = _target(ws, store_id, path, memories[path].memory_id, redactor)
        key = case_key(target.relative_to(root).as_posix())
        if key in owner:
            other = owner[key]
            same = "are the same file in the mirror" if targets[other] == target else (
                "differ only in case or Unicode normalisation: one file on macOS and Windows")
            raise ListingRefused(store_id, f"memories {both_redacted(other, path, redactor)} {same}")
        owner[key] = path
        targets[path] = target
    for path, target in targets.items():
        for parent in target.relative_to(root).parents:
            file = owner.get(case_key(parent.as_posix()))
            if file is not None:
                raise ListingRefused(store_id, f"memory {shown_redacted(file, redactor)} is a file and memory "
                                               f"{shown_redacted(path, redactor)} needs it as a directory")
    return targets


def _target(ws: Workspace, store_id: str, path: str, memory_id: str, redactor: Redactor) -> Path:
    name = f"memory {memory_id} at {shown_redacted(path, redactor)}"
    if "\x00" in path or LONE_SURROGATE.search(path):
        raise ListingRefused(store_id, f"{name}: a path with a NUL character or not UTF-8")
    try:
        target = mirror_file(ws, store_id, path)
    except UsageError:
        raise ListingRefused(store_id, f"{name}: not a file path inside the mirror") from None
    parts = target.relative_to(ws.memories_root(store_id)).parts
    # the last name also carries the temporary file's suffix while it is written (`.NAME.PID.RANDOM.tmp`)
    if any(len(p.encode()) > NAME_MAX for p in parts[:-1]) or len(parts[-1].encode()) > NAME_MAX - TEMP_SUFFIX:
        raise ListingRefused(store_id, f"{name}: a name longer than the file system allows")
    if len(os.fsencode(target)) > PATH_MAX - TEMP_SUFFIX:
        raise ListingRefused(store_id, f"{name}: a path longer than the file system allows")
    return target


def pull_store(ws: Workspace, client: Any, store_id: str, *, progress: Progress | None = None,
               warned: Progress | None = None) -> PullResult:
    """Pull the store into its mirror; `warned` takes each skipped memory's warning as it comes."""
    what = f"pull memory store {store_id}"
    redactor = workspace_redactor(ws.config_path)
    store = check_store(client, store_id, what=what, redactor=redactor)
    memories = fetch_memories(client, store_id, what=what, progress=progress, redactor=redactor)
    return mirror_memories(ws, store_id, memories, store_name=store.get("name"), warned=warned)


def mirror_memories(ws: Workspace, store_id: str, memories: dict[str, CloudMemory], *,
                    store_name: str | None = None, warned: Progress | None = None) -> PullResult:
    """Write the memories into the mirror (only what changed), drop what the cloud no longer has, and
    record the pulled hashes."""
    with workspace_lock(ws, LOCK_NAME):
        result = _mirror(ws, store_id, memories, store_name)
    for message in result.warnings:
        if warned is not None:
            warned(message)
    if result.written or result.removed:
        append_audit(ws, "cloud-pull", store_id=store_id, written=len(result.written), removed=len(result.removed),
                     redacted=len(result.redacted), mirror=result.mirror)
    return result


def _mirror(ws: Workspace, store_id: str, memories: dict[str, CloudMemory], store_name: str | None) -> PullResult:
    result = PullResult(store_id, store_name, mirror=str(ws.memories_root(store_id)))
    targets = check_listing(ws, store_id, memories)
    redactor = workspace_redactor(ws.config_path)
    _skip_secret_paths(targets, memories, redactor, result)
    old = load_state(ws, store_id)
    state = old.kept()  # what earlier pushes sent stays sent: never again
    # first, so a new memory may take a gone one's place; a name an older pull wrote is shown redacted
    result.removed = [redactor.redact_text(p) for p in _prune(ws, store_id, targets)]
    for path in sorted(targets):
        m = memories[path]
        target = targets[path]
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
            try:
                ensure_dir(target.parent)
                atomic_write_text(target, text)
            except OSError as e:  # the workspace, not the listing (checked above): say which memory
                _keep_old(ws, state, old, {p: memories[p] for p in targets})
                raise UsageError(f"memory store {store_id}: cannot write memory {shown_redacted(path, redactor)} "
                                 f"to {target} "
                                 f"({e.strerror or e}); the rest keep their last pulled state") from None
            result.written.append(path)
        state.memories[path] = Known(m.memory_id, m.sha256, m.version_id)
    save_state(ws, state, pulled=True)
    return result


def _skip_secret_paths(targets: dict[str, Path], memories: dict[str, CloudMemory], redactor: Redactor,
                       result: PullResult) -> None:
    """Take out of `targets` each memory whose path holds a secret, listed redacted in `result.skipped` with a
    warning naming it: its path would be a file name, a key of the state and a line of the output. Not in
    `targets`, a copy an older pull wrote is pruned, and the state does not know it."""
    for path in sorted(targets):
        if redactor.redact_text(path) != path:
            del targets[path]
            result.skipped.append(redactor.redact_text(path))
            result.warnings.append(f"memory {memories[path].memory_id} at {shown_redacted(path, redactor)}: the path "
                                   "holds a secret; not mirrored (rename it in the cloud)")


def _prune(ws: Workspace, store_id: str, targets: dict[str, Path]) -> list[str]:
    """Remove the mirror files whose memory is gone (every file of the mirror the listing does not
    have, whatever the state says), and the folders that leaves empty. Inside the mirror only, never
    through a symlink: a link is removed, not what it points to, and a linked folder is not entered (a
    mirror that is itself a link is left alone). Temp files of a writer are left to the sweep."""
    root = ws.memories_root(store_id)
    if root.is_symlink() or root.parent.is_symlink() or not root.is_dir():
        return []
    keep = {case_key(t.relative_to(root).as_posix()) for t in targets.values()}
    removed: list[str] = []
    emptied: set[str] = set()
    for folder, _dirs, files in os.walk(root, topdown=False):  # followlinks=False: links are not entered
        for name in files:
            rel = Path(folder, name).relative_to(root).as_posix()
            if _TEMP.fullmatch(name) or case_key(rel) in keep:
                continue
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(folder, name))
                removed.append(ascii("/" + rel) if lone_surrogate(rel) else "/" + rel)
                emptied.add(folder)
        if folder in emptied and folder != str(root):
            with contextlib.suppress(OSError):  # not empty: it holds something else
                os.rmdir(folder)
                emptied.add(os.path.dirname(folder))
    return sorted(removed)


def _keep_old(ws: Workspace, state: StoreState, old: StoreState, memories: dict[str, CloudMemory]) -> None:
    """After a failed write: what was mirrored so far, and the last pulled hash of every other memory the
    cloud still has (their mirror files were not touched), so the next push's preconditions stay right."""
    for path, known in old.memories.items():
        if path in memories:
            state.memories.setdefault(path, known)
    state.pushed = old.pushed
    save_state(ws, state)
