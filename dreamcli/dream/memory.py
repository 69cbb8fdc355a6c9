"""The memory store as evidence and as something a dream may tidy (docs/proposal-format.md, `target:
memory`): merge near-duplicate notes, retire stale ones, keep an index file. Notes the agent wrote
during runs are also playbook evidence (see signals: memory tool writes become `memory_note`
candidates). Reads at most MAX_NOTES files of at most MAX_NOTE_BYTES each."""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dreamcli.dream.aggregates import Aggregates
from dreamcli.dream.text import Redact, excerpt
from dreamcli.ids import short_id
from dreamcli.playbooks.proposal_model import Evidence, Operation
from dreamcli.words import jaccard, stems
from dreamcli.workspace.home import Workspace

MAX_NOTES = 500
MAX_NOTE_BYTES = 64_000
DUPLICATE_SIMILARITY = 0.6
STALE_DAYS = 21
INDEX_PATH = "/memories/index.md"
INDEX_MIN_NOTES = 3
MAX_STALE_PER_DREAM = 10  # more stale notes are proposed by later dreams, so a review stays short


@dataclass
class Note:
    path: str  # as the memory tool sees it: /memories/...
    text: str
    mtime: float

    def title(self, redact: Redact | None = None) -> str:
        """The first line of text, cut to 100 characters (redacted first with `redact`)."""
        for line in self.text.splitlines():
            line = line.strip().lstrip("#").strip()
            if line:
                return excerpt(line, 100, redact=redact)
        return "(empty)"


def check_store_name(ws: Workspace, store: str) -> str:
    """`store` when approving the dream's memory operations could write to it: the check approval applies
    (`dreamcli.playbooks.apply.memory_path`), made before the dream reads anything. UsageError (exit 2)
    for an absolute path, `..`, a hidden or empty name: the dream read any directory, approve refused;
    and for a store other than `default` that does not exist (a misspelt name was read as an empty store);
    and for a cloud memory store's mirror (its state file, `dreamcli.cloud.state.state_path`, exists): a
    local dream's approved memory changes there are never pushed, and the next pull would delete them."""
    from dreamcli.errors import UsageError
    from dreamcli.playbooks.apply import LeavesStore, memory_path

    try:
        memory_path(ws, store, INDEX_PATH)
    except LeavesStore:  # a symlinked store: read as empty, refused at approval
        pass
    except ValueError:
        raise UsageError(f"--memory-store {store!r}: not a memory store name (memory/NAME/ in the workspace: "
                         "no '/', not starting with '.')") from None
    if (ws.state_dir / "cloud" / "memory" / f"{store}.json").is_file():  # read here: dream sits below cloud
        raise UsageError(f"--memory-store {store!r}: a cloud memory store's mirror (a local dream's changes to it "
                         f"are never pushed, and the next pull deletes them); use `dreamcli cloud dream --store "
                         f"{store}` for cloud stores")
    if store != "default" and not ws.memory_store(store).is_dir():  # `default` is made by the first note
        raise UsageError(f"--memory-store {store!r}: no such memory store (known: {', '.join(known_stores(ws))})")
    return store


def known_stores(ws: Workspace, limit: int = 10) -> list[str]:
    """The store names under memory/ (and `default`), sorted; at most `limit`, then "…"."""
    try:
        names = {e.name for e in os.scandir(ws.memory_dir) if e.is_dir() and not e.name.startswith(".")}
    except OSError:
        names = set()
    found = sorted(names | {"default"})
    return found[:limit] + (["…"] if len(found) > limit else [])


def read_notes(ws: Workspace, store: str) -> list[Note]:
    """The store's notes, never following a symlink: the agent's bash tool can plant one pointing at any
    file on the machine, and a note's text travels into proposals, reports and model prompts."""
    root = ws.memories_root(store)
    if root.is_symlink() or not root.is_dir():
        return []
    real_root = os.path.realpath(root)
    found: list[tuple[str, ...]] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        # os.walk lists a symlink to a directory among dirnames but does not descend into it
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and not os.path.islink(os.path.join(dirpath, d))]
        base = Path(dirpath).relative_to(root).parts
        found.extend((*base, name) for name in filenames if not name.startswith("."))
    notes: list[Note] = []
    for parts in sorted(found):
        if len(notes) >= MAX_NOTES:
            break
        note = _read_note(os.path.join(root, *parts), real_root)
        if note is not None:
            notes.append(Note("/memories/" + "/".join(parts), *note))
    return notes


def _read_note(full: str, real_root: str) -> tuple[str, float] | None:
    """Text and mtime of a regular file inside the store; None for symlinks, anything resolving outside
    the store, and what cannot be read."""
    real = os.path.realpath(full)
    if os.path.commonpath([real, real_root]) != real_root:
        return None
    try:
        fd = os.open(full, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:  # a symlink (ELOOP under O_NOFOLLOW), gone, unreadable
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None
        with os.fdopen(os.dup(fd), "rb") as fh:
            data = fh.read(MAX_NOTE_BYTES)
    except OSError:
        return None
    finally:
        os.close(fd)
    return data.decode("utf-8", "replace"), st.st_mtime


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]


def _op(op: str, path: str, text: str | None, reason: str, kind: str, *, old_text: str | None = None,
        merged_paths: list[str] | None = None, evidence: list[dict[str, Any]] | None = None) -> Operation:
    return Operation(entry_id=short_id("mem-"), target="memory", op=op, path=path, text=text, old_text=old_text,
                     merged_paths=merged_paths or [], reason=reason, kind=kind,
                     evidence=[Evidence.model_validate(e) for e in evidence or []])


def memory_operations(ws: Workspace, store: str, agg: Aggregates, *, reference: datetime | None = None,
                      judge_stale: bool = True) -> tuple[list[Operation], list[Note]]:
    """Proposed memory operations (not yet seen in an earlier proposal) and the notes read. Retirements
    only with `judge_stale`: when `agg.memory_touch` covers every session (not a --task/--since/--session
    part of them, where a note other sessions use looked unused)."""
    notes = read_notes(ws, store)
    # excerpts and titles are redacted before they are cut (a cut secret no longer matches its rule): a
    # note written before a config pattern existed, or edited by hand, may hold one. `old_text` stays
    # whole, so lint can flag the secret the note holds; the engine redacts the proposal after that
    redact = agg.redact
    ops: list[Operation] = []
    regular = [n for n in notes if n.path != INDEX_PATH]
    gone: set[str] = set()  # merged away or retired: not in the index
    kept: set[str] = set()  # merge targets: approving a retirement too would delete every copy of the note
    # near-duplicates: merge into the longest note of each group (a note takes part in one merge at most)
    words = {n.path: stems(n.text) for n in regular}
    for i, a in enumerate(regular):
        if a.path in gone or a.path in kept:
            continue
        group = [a] + [b for b in regular[i + 1:] if b.path not in gone and b.path not in kept
                       and jaccard(words[a.path], words[b.path]) >= DUPLICATE_SIMILARITY]
        if len(group) < 2:
            continue
        keep = max(group, key=lambda n: (len(n.text), n.path))
        others = sorted(n.path for n in group if n is not keep)
        gone.update(others)
        kept.add(keep.path)
        verb = "says" if len(others) == 1 else "say"
        ops.append(_op("merge", keep.path, keep.text, f"near-duplicate notes: {', '.join(others)} {verb} the same",
                       "memory_duplicate", old_text=keep.text, merged_paths=others,
                       evidence=[{"session_id": None, "seq": None,
                                  "excerpt": excerpt(f"{n.path}: {n.text}", redact=redact)}
                                 for n in group]))
    # stale: untouched on disk and unused by sessions for STALE_DAYS before the latest activity
    ref = reference or datetime.now(UTC)
    cutoff = ref.timestamp() - STALE_DAYS * 86400
    stale, most = 0, MAX_STALE_PER_DREAM if judge_stale else 0
    for n in sorted(regular, key=lambda n: n.mtime):
        if n.path in gone or n.path in kept or n.mtime >= cutoff or stale >= most:
            continue
        used = agg.memory_touch.get(n.path)
        if used and _ts(used) >= cutoff:
            continue
        gone.add(n.path)
        stale += 1
        days = int((ref.timestamp() - n.mtime) // 86400)
        ops.append(_op("retire", n.path, None, f"not written or read by any session for {days} days", "memory_stale",
                       old_text=n.text, evidence=[{"session_id": None, "seq": None,
                                                   "excerpt": excerpt(f"{n.path}: {n.text}", redact=redact)}]))
    # index: one line per note that stays
    remaining = [n for n in regular if n.path not in gone]
    if len(remaining) >= INDEX_MIN_NOTES:
        lines = ["# Memory index", ""] + [f"- `{n.path}`: {n.title(redact)}"
                                          for n in sorted(remaining, key=lambda n: n.path)]
        text = "\n".join(lines) + "\n"
        current = next((n for n in notes if n.path == INDEX_PATH), None)
        if current is None:
            ops.append(_op("create", INDEX_PATH, text, f"an index of the {len(remaining)} notes in the store",
                           "memory_index"))
        elif current.text.strip() != text.strip():
            ops.append(_op("update", INDEX_PATH, text, "the index no longer lists the notes in the store",
                           "memory_index", old_text=current.text))
    fresh = []
    for op in ops:
        key = "memory-op|" + _digest(op.op, op.path or "", op.text or "", *op.merged_paths)
        if key in agg.proposed:
            continue
        op.signature = key
        fresh.append(op)
    return fresh, notes


def _ts(value: str) -> float:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def notes_digest(notes: list[Note], redact: Redact, limit: int = 20) -> list[dict[str, str]]:
    """Compact memory evidence for the model: path and first line of each note, redacted."""
    return [{"path": redact(n.path), "title": n.title(redact)} for n in notes[:limit] if n.path != INDEX_PATH]


