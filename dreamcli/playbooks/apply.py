"""Applying a proposal's operations to a playbook and a memory store (docs/proposal-format.md).

Nothing here writes to disk: `apply_operations` changes a Playbook in memory and plans memory-store
writes; approval commits both under the workspace lock.

Conflict rules: a proposal carries `base_version`, the playbook version its dream read. Operations
whose entries still fit the current playbook are applied; the others are refused with a reason:
- add: fits unless the id already exists with other text (same text: already applied);
- update/merge/retire: fit while the entry exists and its text still matches `old_text`;
- counts: fits while the entry exists; counts move by the dream's delta against `base_version`
  (from history), so counts added by another approval in between are kept.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from dreamcli.errors import InputError
from dreamcli.playbooks.duplicates import find_same_text
from dreamcli.playbooks.format import entry_text_problem, section_problem
from dreamcli.playbooks.model import Entry, Playbook, normalize_text, text_matches
from dreamcli.playbooks.proposal_model import TEXT_OPS, EntryMetadata, Operation
from dreamcli.workspace.home import Workspace

APPLIED, ALREADY, CONFLICT = "applied", "already", "conflict"


@dataclass
class Outcome:
    entry_id: str
    op: str
    target: str
    status: str  # applied, already, conflict
    reason: str = ""
    before: str | None = None  # entry text (or memory file content) before
    after: str | None = None  # and after


@dataclass
class MemoryChange:
    path: Path
    before: str | None
    after: str | None  # None: delete
    root: Path | None = None  # the store's memories/ directory the path must stay inside


@dataclass
class ApplyResult:
    playbook: Playbook
    outcomes: list[Outcome] = field(default_factory=list)
    memory: list[MemoryChange] = field(default_factory=list)

    def by_status(self, status: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == status]

    @property
    def changed(self) -> bool:
        return any(o.status == APPLIED and o.target == "playbook" for o in self.outcomes)


def _conflict(op: Operation, reason: str, before: str | None = None) -> Outcome:
    return Outcome(op.entry_id, op.op, op.target, CONFLICT, reason, before=before)


def merge_metadata(entry: Entry, md: EntryMetadata, base: Entry | None, *, counts: bool = True) -> None:
    """Fold a dream's metadata into `entry`: counts (unless `counts` is off) by delta against the base
    version when known; only the fields the proposal set."""
    given = md.model_fields_set
    for key in ("helpful", "harmful") if counts else ():
        value = getattr(md, key)
        if key not in given or value < 0:
            continue
        if base is not None:
            setattr(entry, key, max(0, getattr(entry, key) + value - getattr(base, key)))
        else:
            setattr(entry, key, value)
    sources = [s for s in md.sources if _meta_value_ok(s)]
    if sources:
        entry.sources = list(dict.fromkeys([*sources, *entry.sources]))
    first, last = md.first_seen, md.last_seen
    if first is not None and _meta_value_ok(first):
        entry.first_seen = min(first, entry.first_seen) if entry.first_seen else first
    if last is not None and _meta_value_ok(last):
        entry.last_seen = max(last, entry.last_seen) if entry.last_seen else last


def _meta_value_ok(value: Any) -> bool:
    """Whether `value` fits in the `<!-- dc: key=value -->` comment (no space, ',' or '-->'): other
    values from a proposal are dropped rather than written into a file that would not parse."""
    return (isinstance(value, str) and bool(value) and not any(c.isspace() for c in value)
            and "," not in value and "-->" not in value)


class _Applier:
    def __init__(self, pb: Playbook, base: Playbook | None, ws: Workspace | None, store: str) -> None:
        self.pb = pb
        self.base = base
        self.ws = ws
        self.store = store
        self.index: dict[str, Entry] = {e.id: e for e in pb.entries()}
        self.memory: dict[Path, MemoryChange] = {}
        self.pending: list[Entry] = []  # new entries, inserted in one pass by finish()

    def remove(self, entry: Entry) -> None:
        if any(p is entry for p in self.pending):
            self.pending = [p for p in self.pending if p is not entry]
        else:
            self.pb.body = [item for item in self.pb.body if item is not entry]
        del self.index[entry.id]

    def finish(self) -> None:
        self.pb.add_entries(self.pending)
        self.pending = []

    def base_entry(self, entry_id: str) -> Entry | None:
        return self.base.find(entry_id) if self.base is not None else None

    # --- playbook ops ---------------------------------------------------------------------------
    def add(self, op: Operation, text: str) -> Outcome:
        existing = self.index.get(op.entry_id)
        if existing is not None:
            if text_matches(existing.text, text):
                return Outcome(op.entry_id, op.op, op.target, ALREADY, "already in the playbook",
                               existing.text, existing.text)
            return _conflict(op, f"id {op.entry_id} already exists with other text", existing.text)
        same = find_same_text(self.index.values(), text)
        if same is not None:  # never two live entries with one text (another dream, a lost watermark)
            return Outcome(op.entry_id, op.op, op.target, ALREADY,
                           f"the playbook already says this as {same.id}", same.text, same.text)
        entry = Entry(id=op.entry_id, text=text, section=op.section)
        merge_metadata(entry, op.metadata, None)
        self.pending.append(entry)
        self.index[entry.id] = entry
        return Outcome(op.entry_id, op.op, op.target, APPLIED, before=None, after=text)

    def _fits(self, op: Operation, entry: Entry | None, text: str | None) -> Outcome | None:
        """None when `op` may change `entry`; else the already/conflict outcome."""
        if entry is None:
            return _conflict(op, f"entry {op.entry_id} is no longer in the playbook "
                             f"(retired or merged after version {self.base_version})")
        if text is not None and text_matches(entry.text, text):
            return Outcome(op.entry_id, op.op, op.target, ALREADY, "the playbook already says this",
                           entry.text, entry.text)
        if op.old_text is not None and not text_matches(entry.text, op.old_text):
            return _conflict(op, f"entry {op.entry_id} was changed after the dream read version "
                             f"{self.base_version}; review its current text and propose again", entry.text)
        return None

    base_version: int = 0

    def update(self, op: Operation, text: str) -> Outcome:
        entry = self.index.get(op.entry_id)
        refused = self._fits(op, entry, text)
        if refused is not None:
            return refused
        assert entry is not None
        before = entry.text
        entry.text = text
        merge_metadata(entry, op.metadata, None, counts=False)  # counts move through `counts` operations
        return Outcome(op.entry_id, op.op, op.target, APPLIED, before=before, after=text)

    def merge(self, op: Operation, text: str) -> Outcome:
        missing = [m for m in op.merged_ids if m not in self.index]
        target = self.index.get(op.entry_id)
        if missing:
            if len(missing) == len(op.merged_ids) and target is not None and text_matches(target.text, text):
                return Outcome(op.entry_id, op.op, op.target, ALREADY, "already merged", target.text, target.text)
            return _conflict(op, f"merged entr{'y' if len(missing) == 1 else 'ies'} {', '.join(missing)} "
                             f"no longer in the playbook (changed after version {self.base_version})")
        if target is not None:
            refused = self._fits(op, target, None)
            if refused is not None:
                return refused
        before = target.text if target is not None else None
        merged = [self.index[m] for m in op.merged_ids if m != op.entry_id]
        if target is None:
            first = merged[0]
            target = Entry(id=op.entry_id, text=text, section=first.section)
            if any(p is first for p in self.pending):
                self.pending.insert(next(i for i, p in enumerate(self.pending) if p is first), target)
            else:
                self.pb.body.insert(next(i for i, x in enumerate(self.pb.body) if x is first), target)
            self.index[target.id] = target
        for m in merged:
            target.helpful += m.helpful
            target.harmful += m.harmful
            merge_metadata(target, EntryMetadata(sources=m.sources, first_seen=m.first_seen,
                                                 last_seen=m.last_seen), None)
            self.remove(m)
        target.text = text
        merge_metadata(target, op.metadata, None, counts=False)
        return Outcome(op.entry_id, op.op, op.target, APPLIED, before=before, after=text)

    def retire(self, op: Operation) -> Outcome:
        entry = self.index.get(op.entry_id)
        if entry is None:
            return Outcome(op.entry_id, op.op, op.target, ALREADY, "already gone from the playbook")
        refused = self._fits(op, entry, None)
        if refused is not None:
            return refused
        self.remove(entry)
        return Outcome(op.entry_id, op.op, op.target, APPLIED, before=entry.text, after=None)

    def counts(self, op: Operation) -> Outcome:
        entry = self.index.get(op.entry_id)
        if entry is None:
            return _conflict(op, f"entry {op.entry_id} is no longer in the playbook")
        merge_metadata(entry, op.metadata, self.base_entry(entry.id))
        return Outcome(op.entry_id, op.op, op.target, APPLIED, before=entry.text, after=entry.text)

    # --- memory ops -----------------------------------------------------------------------------
    def memory_op(self, op: Operation, text: str | None) -> Outcome:
        if self.ws is None:
            return _conflict(op, "memory operations need a workspace")
        try:
            path = memory_path(self.ws, self.store, op.path or "")
            merged = [memory_path(self.ws, self.store, p) for p in op.merged_paths]
        except ValueError as e:
            return _conflict(op, str(e))
        current = self._read(path)
        if op.op == "create":
            if current is not None:
                if text_matches(current, text):
                    return Outcome(op.entry_id, op.op, op.target, ALREADY, "file already has this content")
                return _conflict(op, f"{op.path} already exists with other content", current)
        elif op.op in ("update", "merge", "retire"):
            if current is None and op.op != "merge":
                if op.op == "retire":
                    return Outcome(op.entry_id, op.op, op.target, ALREADY, "file already deleted")
                return _conflict(op, f"{op.path} no longer exists")
            merged_left = [m for m in merged if m != path and self._read(m) is not None]
            if text is not None and current is not None and text_matches(current, text) and not merged_left:
                return Outcome(op.entry_id, op.op, op.target, ALREADY, "file already has this content")
            if op.old_text is not None and current is not None and not text_matches(current, op.old_text):
                return _conflict(op, f"{op.path} changed after the dream read it", current)
        for m in merged:
            if m != path:
                self.memory[m] = MemoryChange(m, self._read(m), None, root=memory_root(self.ws, self.store))
        new = None if op.op == "retire" else (text or "")
        self.memory[path] = MemoryChange(path, current, new, root=memory_root(self.ws, self.store))
        return Outcome(op.entry_id, op.op, op.target, APPLIED, before=current, after=new)

    def _read(self, path: Path) -> str | None:
        if path in self.memory:
            return self.memory[path].after
        try:
            return path.read_text(encoding="utf-8")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError, UnicodeDecodeError):
            return None  # absent or not a file: approval.check_memory_targets refuses writing there


class LeavesStore(ValueError):
    """A memory path whose name is valid but which leads outside its store through a symlink."""


def memory_path(ws: Workspace, store: str, path: str) -> Path:
    """Map the memory tool's `/memories/...` path into `memory/<store>/memories/`, refusing escapes
    (ValueError; LeavesStore for a valid name that a symlink leads out of the store)."""
    if not store or "/" in store or store.startswith("."):
        raise ValueError(f"invalid memory store {store!r}")
    p = PurePosixPath(path)
    if p.is_absolute() and p.parts[:2] != ("/", "memories"):
        raise ValueError(f"invalid memory path {path!r} (expected /memories/...)")
    parts = p.parts[2:] if p.is_absolute() else p.parts
    if not parts or any(part in ("..", ".", "") for part in parts):
        raise ValueError(f"invalid memory path {path!r} (expected /memories/...)")
    root = memory_root(ws, store)
    target = root.joinpath(*parts)
    if not within(target, root):
        raise LeavesStore(f"memory path {path!r} leads outside the memory store (through a symlink)")
    return target


def memory_root(ws: Workspace, store: str) -> Path:
    return ws.memories_root(store)


def within(path: Path, root: Path) -> bool:
    """Whether `path`, with every symlink resolved (a new file: its parent), stays inside `root`.
    The agent's bash tool can create symlinks in the store, so a lexical check is not enough."""
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a symlink loop
        return False


def check_memory(changes: list[MemoryChange]) -> None:
    """Raise InputError naming the first planned memory write that would land outside its store."""
    for change in changes:
        if change.root is not None and not within(change.path, change.root):
            raise InputError(f"refusing to write memory file {change.path}: it leads outside the memory "
                             f"store {change.root} (through a symlink); nothing was written")


def apply_operations(pb: Playbook, ops: list[Operation], *, base_version: int = 0, base: Playbook | None = None,
                     edits: dict[str, str] | None = None, ws: Workspace | None = None,
                     memory_store: str = "default", refused: dict[str, str] | None = None) -> ApplyResult:
    """Apply `ops` in order to `pb` (changed in place). `edits` replace an operation's text; `refused`
    (entry id -> why, `dreamcli.playbooks.vetting`) are refused as conflicts."""
    applier = _Applier(pb, base, ws, memory_store)
    applier.base_version = base_version
    result = ApplyResult(playbook=pb)
    for op in ops:
        raw = (edits or {}).get(op.entry_id, op.text)
        text = normalize_text(raw) if raw is not None else None
        problem = (refused or {}).get(op.entry_id)
        if problem is None and op.target == "playbook" and op.op in TEXT_OPS:
            problem = entry_text_problem(text or "") or (section_problem(op.section) if op.op == "add" else None)
        if problem is not None:
            outcome = _conflict(op, f"entry {op.entry_id}: {problem}")
        elif op.target == "memory":
            outcome = applier.memory_op(op, raw)
        elif op.op == "add":
            outcome = applier.add(op, text or "")
        elif op.op == "update":
            outcome = applier.update(op, text or "")
        elif op.op == "merge":
            outcome = applier.merge(op, text or "")
        elif op.op == "retire":
            outcome = applier.retire(op)
        else:
            outcome = applier.counts(op)
        result.outcomes.append(outcome)
    applier.finish()
    result.memory = list(applier.memory.values())
    return result


def write_memory(changes: list[MemoryChange]) -> None:
    """Write planned memory changes; every target is checked (`check_memory`) before the first write."""
    from dreamcli.workspace.fsutil import atomic_write_text

    check_memory(changes)
    for change in changes:
        if change.after is None:
            if change.path.exists():
                os.unlink(change.path)
        else:
            atomic_write_text(change.path, change.after)


def check_memory_targets(changes: list[MemoryChange]) -> None:
    """InputError naming the first planned memory write that could not happen: its target exists and is
    not a regular file (a directory, a FIFO), or a folder on its way is a file. Checked before the playbook
    is committed, so a memory write never fails after it."""
    for change in changes:
        path = change.path
        if path.exists() and not path.is_file():
            what = "a directory" if path.is_dir() else "not a regular file"
            raise InputError(f"refusing to write memory file {path}: it is {what}; nothing was written")
        parent = next((p for p in path.parents if os.path.lexists(p)), None)
        if change.after is not None and parent is not None and not parent.is_dir():
            raise InputError(f"refusing to write memory file {path}: {parent} is not a directory; nothing was "
                             "written")
