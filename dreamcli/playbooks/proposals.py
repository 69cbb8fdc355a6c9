"""Dream proposals as the playbooks commands read them: `dreams/<id>/{proposal.json, dream.json,
decisions.jsonl}` (docs/proposal-format.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dreamcli.errors import InputError, UsageError
from dreamcli.playbooks.model import ID_RE
from dreamcli.playbooks.store import check_name
from dreamcli.workspace.home import Workspace

PROPOSAL_VERSION = 1
PLAYBOOK_OPS = ("add", "update", "merge", "retire", "counts")
MEMORY_OPS = ("create", "update", "merge", "retire")
TEXT_OPS = ("add", "update", "merge", "create")
STATUSES = ("pending", "approved", "partially_approved", "rejected", "empty")
_PAST_TENSE = {"approve": "approved", "reject": "rejected", "edit": "edited", "revert": "reverted"}


def past_tense(action: str) -> str:
    """How a decision reads to a person: `reject` -> `rejected`."""
    return _PAST_TENSE.get(action, action)


@dataclass
class Operation:
    entry_id: str
    op: str
    target: str = "playbook"
    section: str | None = None
    text: str | None = None
    old_text: str | None = None
    merged_ids: list[str] = field(default_factory=list)
    reason: str = ""
    kind: str = ""
    support: dict[str, Any] = field(default_factory=dict)
    impact: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    lint: list[dict[str, Any]] = field(default_factory=list)
    path: str | None = None
    merged_paths: list[str] = field(default_factory=list)

    @property
    def blocking(self) -> list[dict[str, Any]]:
        return [f for f in self.lint if str(f.get("severity", "")).lower() == "block"]


@dataclass
class Proposal:
    dream_id: str
    playbook: str
    base_version: int
    operations: list[Operation]
    created: str | None = None
    memory_store: str = "default"
    lint: list[dict[str, Any]] = field(default_factory=list)
    budget: dict[str, Any] = field(default_factory=dict)
    file: str = ""

    def find(self, entry_id: str) -> Operation | None:
        return next((o for o in self.operations if o.entry_id == entry_id), None)


@dataclass
class Decision:
    """The review state of one operation, folded from decisions.jsonl."""

    action: str | None = None  # "approve" or "reject" (final), None while undecided
    edited_text: str | None = None
    record: dict[str, Any] = field(default_factory=dict)


@dataclass
class Dream:
    dream_id: str
    dir: Path
    info: dict[str, Any]
    proposal: Proposal
    decisions: dict[str, Decision]

    def decision(self, entry_id: str) -> Decision:
        return self.decisions.get(entry_id) or Decision()

    def undecided(self) -> list[Operation]:
        return [o for o in self.proposal.operations if self.decision(o.entry_id).action is None]

    def computed_status(self) -> str:
        actions = [self.decision(o.entry_id).action for o in self.proposal.operations]
        if not actions:
            return "empty"
        if all(a == "approve" for a in actions):
            return "approved"
        if all(a == "reject" for a in actions):
            return "rejected"
        if all(a is None for a in actions):
            return "pending"
        return "partially_approved"

    @property
    def status(self) -> str:
        return str(self.info.get("status") or self.computed_status())

    def text_for(self, op: Operation) -> str | None:
        edited = self.decision(op.entry_id).edited_text
        return edited if edited is not None else op.text

    @property
    def decisions_path(self) -> Path:
        return self.dir / "decisions.jsonl"

    @property
    def info_path(self) -> Path:
        return self.dir / "dream.json"


# --- reading -------------------------------------------------------------------------------------

def _read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("file not found", file=str(path)) from None
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", file=str(path)) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"invalid JSON: {e.msg}", file=str(path), line=e.lineno) from None


def _str_list(value: Any, file: str, fld: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError("must be a list of strings", file=file, field=fld)
    return list(value)


def _dict(value: Any, file: str, fld: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InputError("must be an object", file=file, field=fld)
    return value


def _dict_list(value: Any, file: str, fld: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise InputError("must be a list of objects", file=file, field=fld)
    return list(value)


def parse_operation(raw: Any, file: str, i: int) -> Operation:
    where = f"operations.{i}"
    if not isinstance(raw, dict):
        raise InputError("must be an object", file=file, field=where)
    target = raw.get("target") or "playbook"
    if target not in ("playbook", "memory"):
        raise InputError(f"unknown target {target!r} (playbook or memory)", file=file, field=f"{where}.target")
    allowed = PLAYBOOK_OPS if target == "playbook" else (*MEMORY_OPS, "add")
    op = raw.get("op")
    if op not in allowed:
        raise InputError(f"unknown op {op!r} for a {target} operation ({', '.join(allowed)})",
                         file=file, field=f"{where}.op")
    if target == "memory" and op == "add":
        op = "create"
    entry_id = raw.get("entry_id")
    if not isinstance(entry_id, str) or (target == "playbook" and not ID_RE.fullmatch(entry_id)):
        raise InputError(f"invalid entry id {entry_id!r}", file=file, field=f"{where}.entry_id")
    for key in ("text", "old_text", "section", "reason", "kind", "path"):
        if raw.get(key) is not None and not isinstance(raw[key], str):
            raise InputError("must be a string", file=file, field=f"{where}.{key}")
    text = raw.get("text")
    if op in TEXT_OPS and not (text or "").strip():
        raise InputError(f"a {op} operation needs a non-empty text", file=file, field=f"{where}.text")
    if target == "memory" and not raw.get("path"):
        raise InputError("a memory operation needs a path", file=file, field=f"{where}.path")
    merged_ids = _str_list(raw.get("merged_ids"), file, f"{where}.merged_ids")
    if target == "playbook" and op == "merge" and not merged_ids:
        raise InputError("a merge needs merged_ids", file=file, field=f"{where}.merged_ids")
    impact = raw.get("impact")
    return Operation(
        entry_id=entry_id, op=op, target=target, section=raw.get("section"), text=text,
        old_text=raw.get("old_text"), merged_ids=merged_ids, reason=raw.get("reason") or "",
        kind=raw.get("kind") or "", support=_dict(raw.get("support"), file, f"{where}.support"),
        impact=float(impact) if isinstance(impact, int | float) else None,
        metadata=_dict(raw.get("metadata"), file, f"{where}.metadata"),
        evidence=_dict_list(raw.get("evidence"), file, f"{where}.evidence"),
        lint=_dict_list(raw.get("lint"), file, f"{where}.lint"), path=raw.get("path"),
        merged_paths=_str_list(raw.get("merged_paths"), file, f"{where}.merged_paths"),
    )


def parse_proposal(data: Any, file: str) -> Proposal:
    if not isinstance(data, dict):
        raise InputError("must be a JSON object", file=file)
    v = data.get("v", PROPOSAL_VERSION)
    if not isinstance(v, int) or v < 1:
        raise InputError("must be a positive integer", file=file, field="v")
    if v > PROPOSAL_VERSION:
        raise InputError(f"proposal format v{v} is newer than this dreamcli reads (v{PROPOSAL_VERSION}); "
                         "upgrade dreamcli", file=file, field="v")
    dream_id = data.get("dream_id")
    if not isinstance(dream_id, str) or not dream_id:
        raise InputError("required: the dream id", file=file, field="dream_id")
    playbook = data.get("playbook")
    if not isinstance(playbook, str):
        raise InputError("required: the playbook name", file=file, field="playbook")
    try:
        check_name(playbook)
    except UsageError as e:
        raise InputError(str(e), file=file, field="playbook") from None
    base = data.get("base_version")
    if base is None:
        base = 0
    if isinstance(base, bool) or not isinstance(base, int) or base < 0:
        raise InputError("must be a non-negative integer", file=file, field="base_version")
    raw_ops = data.get("operations")
    if not isinstance(raw_ops, list):
        raise InputError("required: a list of operations", file=file, field="operations")
    ops = [parse_operation(raw, file, i) for i, raw in enumerate(raw_ops)]
    seen: set[str] = set()
    for i, o in enumerate(ops):
        if o.entry_id in seen:
            raise InputError(f"entry id {o.entry_id} appears twice", file=file, field=f"operations.{i}.entry_id")
        seen.add(o.entry_id)
    return Proposal(
        dream_id=dream_id, playbook=playbook, base_version=base, operations=ops, created=data.get("created"),
        memory_store=str(data.get("memory_store") or "default"),
        lint=_dict_list(data.get("lint"), file, "lint"), budget=_dict(data.get("budget"), file, "budget"),
        file=file,
    )


def read_decisions(path: Path) -> dict[str, Decision]:
    out: dict[str, Decision] = {}
    if not path.exists():
        return out
    with open(path, "rb") as f:
        for raw in f:
            try:
                rec = json.loads(raw)
            except ValueError:
                continue  # a torn last line: skip, never fail
            fold_decision(out, rec)
    return out


def fold_decision(decisions: dict[str, Decision], rec: Any) -> None:
    """Fold one decisions.jsonl record into the per-entry state."""
    if not isinstance(rec, dict) or not isinstance(rec.get("entry_id"), str):
        return
    d = decisions.setdefault(rec["entry_id"], Decision())
    action = rec.get("action")
    if action == "edit" and isinstance(rec.get("text"), str):
        d.edited_text = rec["text"]
    elif action in ("approve", "reject"):
        d.action = action
        d.record = rec


def dream_ids(ws: Workspace) -> list[str]:
    d = ws.dreams_dir
    if not d.is_dir():
        return []
    return sorted(p.name for p in d.iterdir()
                  if not p.name.startswith(".") and (p / "proposal.json").is_file())


def resolve_dream_id(ws: Workspace, given: str) -> str:
    ids = dream_ids(ws)
    if given in ids:
        return given
    matches = [i for i in ids if i.lower().startswith(given.lower())] if len(given) >= 4 else []
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise UsageError(f"dream id {given!r} is ambiguous ({', '.join(matches[:5])})")
    raise UsageError(f"no dream {given!r} in {ws.dreams_dir} (see: dreamcli playbooks diff)")


def load_dream(ws: Workspace, dream_id: str) -> Dream:
    dream_id = resolve_dream_id(ws, dream_id)
    d = ws.dreams_dir / dream_id
    proposal = parse_proposal(_read_json(d / "proposal.json"), str(d / "proposal.json"))
    info: dict[str, Any] = {}
    if (d / "dream.json").exists():
        data = _read_json(d / "dream.json")
        if not isinstance(data, dict):
            raise InputError("must be a JSON object", file=str(d / "dream.json"))
        info = data
    return Dream(dream_id=dream_id, dir=d, info=info, proposal=proposal,
                 decisions=read_decisions(d / "decisions.jsonl"))


def list_dreams(ws: Workspace, problems: list[str] | None = None) -> list[Dream]:
    """Every dream with a proposal, oldest first. With `problems`, an unreadable dream is reported
    there and skipped instead of failing the whole listing."""
    out = []
    for i in dream_ids(ws):
        try:
            out.append(load_dream(ws, i))
        except InputError as e:
            if problems is None:
                raise
            problems.append(f"dream {i} skipped: {e}")
    return out


def pending_dreams(ws: Workspace, playbook: str | None = None,
                   problems: list[str] | None = None) -> list[Dream]:
    """Dreams with operations nobody has approved or rejected yet, oldest first."""
    out = []
    for dream in list_dreams(ws, problems):
        if playbook is not None and dream.proposal.playbook != playbook:
            continue
        if dream.undecided():
            out.append(dream)
    return out
