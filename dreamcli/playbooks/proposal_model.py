"""The dream proposal as one typed model (docs/proposal-format.md): what the dreamer produces, what
`dreams/<id>/proposal.json` stores, what review renders and what approval applies.

    proposal = Proposal(dream_id=..., playbook="default", operations=[Operation(...)])
    text = proposal.to_json_text()                   # the file's content
    proposal = parse_proposal(json.loads(text), file)  # InputError naming the file and field

Unknown keys are kept (a newer dreamcli may write more); values of the wrong type, unknown
operations, malformed ids and missing texts are refused with the field's dotted path.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from dreamcli.errors import InputError, UsageError
from dreamcli.numbers import finite
from dreamcli.playbooks.model import ID_RE
from dreamcli.textnorm import LONE_SURROGATE
from dreamcli.yamlio import first_error

PROPOSAL_VERSION = 1
PLAYBOOK_OPS = ("add", "update", "merge", "retire", "counts")
MEMORY_OPS = ("create", "update", "merge", "retire")
TEXT_OPS = ("add", "update", "merge", "create")
BLOCK, WARN = "block", "warn"


class FieldProblem(ValueError):
    """A rule that spans fields, reported on the one field that breaks it."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Support(_Open):
    """How often a pattern was seen: distinct episodes, successes among them, sessions read."""

    sessions: int = 0
    successes: int | None = None
    total_sessions: int | None = None


class EntryMetadata(_Open):
    """An entry's bookkeeping as a dream proposes it (totals, not increments)."""

    helpful: int = 0
    harmful: int = 0
    sources: list[str] = Field(default_factory=list)
    first_seen: str | None = None
    last_seen: str | None = None


class Evidence(_Open):
    """Where a pattern was seen: a session (and line), or a memory note (no session)."""

    session_id: str | None = None
    seq: int | None = None
    excerpt: str = ""


class LintFinding(BaseModel):
    """One lint finding: `block` stops approval without --force, `warn` is shown to the reviewer."""

    model_config = ConfigDict(frozen=True, extra="allow")

    severity: str
    rule: str = "lint"
    message: str = ""

    @field_validator("severity", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def _none_to(default: Any) -> Any:
    def convert(cls: Any, value: Any) -> Any:
        return default() if value is None and callable(default) else (default if value is None else value)
    return classmethod(convert)


class Operation(_Open):
    """One proposed change to a playbook entry or a memory file."""

    entry_id: str
    target: Literal["playbook", "memory"] = "playbook"
    op: str
    section: str | None = None
    text: str | None = None
    old_text: str | None = None
    merged_ids: list[str] = Field(default_factory=list)
    reason: str = ""
    kind: str = ""
    signature: str | None = None  # the pattern key it came from: later dreams do not propose it again
    support: Support = Field(default_factory=Support)
    impact: float | None = None
    metadata: EntryMetadata = Field(default_factory=EntryMetadata)
    evidence: list[Evidence] = Field(default_factory=list)
    lint: list[LintFinding] = Field(default_factory=list)
    path: str | None = None  # memory operations: /memories/...
    merged_paths: list[str] = Field(default_factory=list)
    # untrusted sources that are all the evidence has (imported-transcript, network, hidden-characters,
    # file-content); empty when some evidence is trusted. A tainted operation is left out of
    # `approve --all` unless the reviewer passes --include-tainted.
    taint: list[str] = Field(default_factory=list)

    _target_default = field_validator("target", mode="before")(_none_to("playbook"))
    _text_defaults = field_validator("reason", "kind", mode="before")(_none_to(""))
    _lists = field_validator("merged_ids", "merged_paths", "evidence", "lint", "taint", mode="before")(_none_to(list))
    _models = field_validator("support", "metadata", mode="before")(_none_to(dict))

    @field_validator("impact", mode="before")
    @classmethod
    def _impact(cls, value: Any) -> Any:
        return finite(value)  # no float holds 10**400: no impact, as for a string

    @model_validator(mode="after")
    def _rules(self) -> Operation:
        allowed = PLAYBOOK_OPS if self.target == "playbook" else (*MEMORY_OPS, "add")
        if self.op not in allowed:
            raise FieldProblem(f"unknown op {self.op!r} for a {self.target} operation ({', '.join(allowed)})", "op")
        if self.target == "memory" and self.op == "add":
            self.op = "create"
        if self.target == "playbook" and not ID_RE.fullmatch(self.entry_id):
            raise FieldProblem(f"invalid entry id {self.entry_id!r}", "entry_id")
        if self.op in TEXT_OPS and not (self.text or "").strip():
            raise FieldProblem(f"a {self.op} operation needs a non-empty text", "text")
        if self.target == "memory" and not self.path:
            raise FieldProblem("a memory operation needs a path", "path")
        if self.target == "playbook" and self.op == "merge" and not self.merged_ids:
            raise FieldProblem("a merge needs merged_ids", "merged_ids")
        return self

    @property
    def blocking(self) -> list[LintFinding]:
        return [f for f in self.lint if f.severity == BLOCK]

    @property
    def tainted(self) -> bool:
        return bool(self.taint)

    def to_json(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        data["support"] = self.support.model_dump(mode="json", exclude_none=True)
        drop = ("path", "merged_paths") if self.target == "playbook" else ("section", "merged_ids", "metadata",
                                                                           "support", "impact")
        for key in (*drop, "taint"):
            if not data.get(key):
                data.pop(key, None)
        return data


class Budget(_Open):
    token_budget: int | None = None
    tokens_after: int | None = None
    tokens_before: int | None = None


class Proposal(_Open):
    """A dream's proposal: the operations, and what they were computed against."""

    v: int = PROPOSAL_VERSION
    dream_id: str
    created: str | None = None
    playbook: str
    base_version: int = 0
    memory_store: str = "default"
    operations: list[Operation]
    lint: list[LintFinding] = Field(default_factory=list)
    budget: Budget = Field(default_factory=Budget)

    _defaults = field_validator("lint", mode="before")(_none_to(list))
    _budget = field_validator("budget", mode="before")(_none_to(dict))
    _base = field_validator("base_version", mode="before")(_none_to(0))
    _store = field_validator("memory_store", mode="before")(_none_to("default"))

    @field_validator("v")
    @classmethod
    def _version(cls, v: int) -> int:
        if v < 1:
            raise ValueError("must be a positive integer")
        if v > PROPOSAL_VERSION:
            raise ValueError(f"proposal format v{v} is newer than this dreamcli reads (v{PROPOSAL_VERSION}); "
                             "upgrade dreamcli")
        return v

    @field_validator("base_version", mode="before")
    @classmethod
    def _base_int(cls, v: Any) -> Any:
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
            raise ValueError("must be a non-negative integer")
        return v

    @field_validator("dream_id")
    @classmethod
    def _dream_id(cls, v: str) -> str:
        if not v:
            raise ValueError("required: the dream id")
        return v

    @field_validator("playbook")
    @classmethod
    def _playbook(cls, v: str) -> str:
        from dreamcli.playbooks.store import check_name

        try:
            check_name(v)
        except UsageError as e:
            raise ValueError(str(e)) from None
        return v

    @model_validator(mode="after")
    def _unique_ids(self) -> Proposal:
        seen: set[str] = set()
        for i, o in enumerate(self.operations):
            if o.entry_id in seen:
                raise FieldProblem(f"entry id {o.entry_id} appears twice", f"operations.{i}.entry_id")
            seen.add(o.entry_id)
        return self

    def find(self, entry_id: str) -> Operation | None:
        return next((o for o in self.operations if o.entry_id == entry_id), None)

    def to_json(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        data["operations"] = [o.to_json() for o in self.operations]
        return data

    def to_json_text(self) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n"


def _field_of(error: Any) -> str:
    loc = [str(part) for part in error.get("loc", ()) if not str(part).startswith("function-")]
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, FieldProblem):
        loc = [*loc, *cause.field.split(".")] if not cause.field.startswith("operations.") else [cause.field]
    return ".".join(loc)


_EXPECTED = {"string_type": "a string", "int_type": "an integer", "int_parsing": "an integer",
             "int_from_float": "an integer", "float_type": "a number", "float_parsing": "a number",
             "bool_type": "true or false", "bool_parsing": "true or false", "list_type": "a list",
             "dict_type": "an object", "model_type": "an object", "model_attributes_type": "an object"}


def _found(value: Any) -> str:
    if isinstance(value, dict | list):
        return "an object" if isinstance(value, dict) else "a list"
    shown = json.dumps(value, ensure_ascii=False) if value is None or isinstance(value, bool | int | float | str) \
        else type(value).__name__
    return shown if len(shown) <= 40 else shown[:39] + "…"


def _message_of(error: Any) -> str:
    """What is wrong with the field, in words: `must be a string (found 5)`."""
    ctx = error.get("ctx") or {}
    cause = ctx.get("error")
    if isinstance(cause, ValueError):
        return str(cause)
    kind = error.get("type")
    if kind == "missing":
        return "required"
    if kind in _EXPECTED:
        return f"must be {_EXPECTED[kind]} (found {_found(error.get('input'))})"
    if kind == "literal_error" and ctx.get("expected"):
        return f"must be {ctx['expected']} (found {_found(error.get('input'))})"
    return str(error.get("msg", "invalid"))


def parse_proposal(data: Any, file: str) -> Proposal:
    """The proposal in `data` (parsed JSON); InputError naming `file` and the first bad field."""
    if not isinstance(data, dict):
        raise InputError("must be a JSON object", file=file)
    if "operations" in data and not isinstance(data["operations"], list):
        raise InputError("required: a list of operations", file=file, field="operations")
    try:
        bad = _lone_surrogate(data)
    except RecursionError:
        raise InputError("nested too deep to read", file=file) from None
    if bad is not None:  # "\ud800" in the JSON: no file, memory note or audit record can hold it
        where, char, at = bad
        raise InputError(f"holds a lone surrogate ({char!r} at character {at}), which is not UTF-8 text",
                         file=file, field=where)
    try:
        return Proposal.model_validate(data)
    except ValidationError as e:
        first = first_error(e).error
        raise InputError(_message_of(first), file=file, field=_field_of(first)) from None


def _lone_surrogate(data: Any, where: str = "") -> tuple[str, str, int] | None:
    """(the field, the character, its position) of the first string holding a lone surrogate, or None."""
    if isinstance(data, str):
        char = None if data.isascii() else LONE_SURROGATE.search(data)
        return None if char is None else (where, char.group(), char.start())
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in items:
        found = _lone_surrogate(key, where) if isinstance(key, str) else None
        found = found or _lone_surrogate(value, f"{where}.{key}" if where else str(key))
        if found is not None:
            return found
    return None
