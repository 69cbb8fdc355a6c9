"""Dreams as the playbooks commands read them: `dreams/<id>/{proposal.json, dream.json,
decisions.jsonl}` (docs/proposal-format.md). The proposal itself is the typed model of
`dreamcli.playbooks.proposal_model`; this module adds the review state around it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dreamcli.errors import InputError, UsageError
from dreamcli.workspace.home import Workspace

if TYPE_CHECKING:
    from dreamcli.playbooks.proposal_model import (
        MEMORY_OPS,
        PLAYBOOK_OPS,
        PROPOSAL_VERSION,
        TEXT_OPS,
        Operation,
        Proposal,
        parse_proposal,
    )

__all__ = ["MEMORY_OPS", "PLAYBOOK_OPS", "PROPOSAL_VERSION", "TEXT_OPS", "Decision", "Dream", "Operation",
           "Proposal", "UnreadableDream", "load_dream", "parse_proposal"]

_MODEL_NAMES = frozenset({"MEMORY_OPS", "PLAYBOOK_OPS", "PROPOSAL_VERSION", "TEXT_OPS", "Operation", "Proposal",
                          "parse_proposal"})


def __getattr__(name: str) -> Any:
    """The proposal model's names, loaded on first use: listing a workspace with no dream needs no pydantic."""
    if name in _MODEL_NAMES:
        from dreamcli.playbooks import proposal_model

        return getattr(proposal_model, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


STATUSES = ("pending", "approved", "partially_approved", "rejected", "empty", "superseded")
_PAST_TENSE = {"approve": "approved", "reject": "rejected", "edit": "edited", "revert": "reverted"}


def past_tense(action: str) -> str:
    """How a decision reads to a person: `reject` -> `rejected`."""
    return _PAST_TENSE.get(action, action)


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
        """What the decisions make of the dream: `partially_approved` once some entry is approved and
        others are not; `pending` while entries are left to decide and none is approved (some may be
        rejected)."""
        actions = [self.decision(o.entry_id).action for o in self.proposal.operations]
        if not actions:
            return "empty"
        if all(a == "approve" for a in actions):
            return "approved"
        if all(a == "reject" for a in actions):
            return "rejected"
        return "partially_approved" if "approve" in actions else "pending"

    @property
    def superseded_by(self) -> str | None:
        """The later dream that proposes all of this one again (dreamcli.dream.journal), if any."""
        by = self.info.get("superseded_by")
        return by if self.info.get("status") == "superseded" and isinstance(by, str) else None

    @property
    def status(self) -> str:
        """dream.json's status when it is one this dreamcli knows, else the one the decisions give."""
        status = self.info.get("status")
        if status == "partially_approved" and not any(d.action == "approve" for d in self.decisions.values()):
            return self.computed_status()  # written by an older dreamcli after a rejection alone
        return status if isinstance(status, str) and status in STATUSES else self.computed_status()

    def text_for(self, op: Operation) -> str | None:
        edited = self.decision(op.entry_id).edited_text
        return edited if edited is not None else op.text

    @property
    def decisions_path(self) -> Path:
        return self.dir / "decisions.jsonl"

    @property
    def info_path(self) -> Path:
        return self.dir / "dream.json"


@dataclass(frozen=True)
class UnreadableDream:
    """A dream left out of a listing because one of its files does not read as its model."""

    dream_id: str
    file: str  # relative to the workspace: dreams/<id>/proposal.json
    problem: str  # the field and what is wrong with it: "operations.0.entry_id: must be a string (found 5)"

    @classmethod
    def of(cls, dream_id: str, error: InputError) -> UnreadableDream:
        where = f"{error.file}{'' if error.line is None else f':{error.line}'}: " if error.file else ""
        problem = str(error).removeprefix(where)
        if error.line is not None:
            problem = f"line {error.line}: {problem}"
        return cls(dream_id, str(error.file or f"dreams/{dream_id}"), problem)

    def message(self) -> str:
        """One line for stderr."""
        return f"dream {self.dream_id} cannot be read and is left out: {self.file}: {self.problem}"

    def to_json(self) -> dict[str, str]:
        return {"dream_id": self.dream_id, "file": self.file, "problem": self.problem}


# --- reading -------------------------------------------------------------------------------------

def _read_json(path: Path, name: str) -> Any:
    """The JSON at `path`; InputError naming it as `name` (relative to the workspace)."""
    import json  # here, not at the top: `playbooks list` of a workspace without dreams never loads it

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("file not found", file=name) from None
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", file=name) from None
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror}", file=name) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"invalid JSON: {e.msg}", file=name, line=e.lineno) from None
    except RecursionError:
        raise InputError("invalid JSON: nested deeper than it can be read", file=name) from None


def read_decisions(path: Path) -> dict[str, Decision]:
    out: dict[str, Decision] = {}
    if not path.exists():
        return out
    import json

    with open(path, "rb") as f:
        for raw in f:
            try:
                rec = json.loads(raw)
            except (ValueError, RecursionError):
                continue  # a torn last line: skip, never fail
            fold_decision(out, rec)
    return out


def fold_decision(decisions: dict[str, Decision], rec: Any) -> None:
    """Fold one decisions.jsonl record into the per-entry state."""
    if not isinstance(rec, dict) or not isinstance(rec.get("entry_id"), str):
        return
    d = decisions.setdefault(rec["entry_id"], Decision())
    action = rec.get("action")
    if action == "edit" and isinstance(rec.get("text"), str) and rec["text"].strip():  # an empty edit: no text
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
    """A dream by full id or unique prefix (case-insensitive), by the rule sessions are found by
    (`dreamcli.sessions.paths.find_session`); UsageError otherwise."""
    given = given.strip()
    if not given:
        raise UsageError("empty dream id")
    ids = dream_ids(ws)
    if given in ids:
        return given
    matches = [i for i in ids if i.lower().startswith(given.lower())]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise UsageError(f"dream id {given!r} is ambiguous ({', '.join(matches[:5])})")
    raise UsageError(f"no dream {given!r} in {ws.dreams_dir} (see: dreamcli playbooks diff)")


def load_dream(ws: Workspace, dream_id: str) -> Dream:
    """The dream (an id or unique prefix); InputError (exit 2) naming the file and field when its
    proposal.json or dream.json does not read as its model, wrong types included."""
    dream_id = resolve_dream_id(ws, dream_id)
    d = ws.dreams_dir / dream_id
    from dreamcli.playbooks.proposal_model import parse_proposal

    name = f"{ws.dreams_dir.name}/{dream_id}/"
    proposal = parse_proposal(_read_json(d / "proposal.json", name + "proposal.json"), name + "proposal.json")
    info: dict[str, Any] = {}
    if (d / "dream.json").exists():
        data = _read_json(d / "dream.json", name + "dream.json")
        if not isinstance(data, dict):
            raise InputError("must be a JSON object", file=name + "dream.json")
        info = data
    return Dream(dream_id=dream_id, dir=d, info=info, proposal=proposal,
                 decisions=read_decisions(d / "decisions.jsonl"))


def list_dreams(ws: Workspace, problems: list[str] | None = None,
                unreadable: list[UnreadableDream] | None = None) -> list[Dream]:
    """Every dream with a proposal, oldest first. With `problems` or `unreadable`, a dream that does not
    read is reported there (a one-line message, or the dream, file and problem) and left out, instead
    of failing the whole listing."""
    out = []
    for i in dream_ids(ws):
        try:
            out.append(load_dream(ws, i))
        except InputError as e:
            if problems is None and unreadable is None:
                raise
            bad = UnreadableDream.of(i, e)
            if problems is not None:
                problems.append(bad.message())
            if unreadable is not None:
                unreadable.append(bad)
    return out


def pending_dreams(ws: Workspace, playbook: str | None = None, problems: list[str] | None = None,
                   unreadable: list[UnreadableDream] | None = None) -> list[Dream]:
    """Dreams with operations nobody has approved or rejected yet, oldest first (unreadable ones: see
    `list_dreams`)."""
    out = []
    for dream in list_dreams(ws, problems, unreadable):
        if playbook is not None and dream.proposal.playbook != playbook:
            continue
        if dream.undecided() and dream.superseded_by is None:
            out.append(dream)
    return out
