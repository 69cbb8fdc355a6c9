"""What approving an operation would apply, checked now rather than taken from the proposal file.

`dreams/<id>/proposal.json` is a file on disk: it may have been edited after the dream wrote it, or
written before a `redaction.patterns` entry that now calls one of its values a secret. So approval,
trials and review take every operation through `Vetting.op`, which gives the operation they use
(`Vetted.op`), built from the file's with the workspace's current rules:

- text (a reviewer's edit, else the proposal's) and section title: redacted, and linted as the dream
  lints text (a section's findings say `section title: ...`); the findings stored with the operation
  still count, unless a reviewer's edit replaced the text they were about;
- metadata: `sources`, `first_seen` and `last_seen` must be exact (session ids, dates), so a value the
  redaction changes is left out, not written as a marker; other metadata values are redacted;
- a memory `path`, `merged_paths` or `merged_ids`: when the redaction changes one the operation is
  `refused` (even with --force): no file is named after a secret;
- reason, kind, taint and evidence: redacted (shown, never applied); `old_text` is kept as given: it is
  only compared with the live text, and review shows it redacted.

    vet = Vetting.of(ws)
    vetted = vet.op(dream, op, edits)   # vetted.op, vetted.blocking, vetted.refused, vetted.redacted
    text = vet.text(dream, op, edits)   # what approval writes (None: the operation has no text)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dreamcli.playbooks.proposal_model import BLOCK, TEXT_OPS, EntryMetadata, Evidence, LintFinding, Operation

if TYPE_CHECKING:
    from dreamcli.config import Config
    from dreamcli.playbooks.proposals import Dream
    from dreamcli.redaction import Redactor
    from dreamcli.workspace.home import Workspace

EXACT_METADATA = ("sources", "first_seen", "last_seen")


@dataclass(frozen=True)
class Vetted:
    """One operation as approval applies it and review shows it."""

    op: Operation  # the vetted copy; `op.lint` holds the current findings
    refused: str | None = None  # why it cannot be applied, even with --force
    redacted: tuple[str, ...] = ()  # the applied fields the redaction changed: "text", "section", "metadata"

    @property
    def blocking(self) -> list[LintFinding]:
        return self.op.blocking


@dataclass(frozen=True)
class VettedOps:
    """Several operations vetted together, by entry id (in the order given)."""

    items: dict[str, Vetted]

    @property
    def ops(self) -> list[Operation]:
        return [v.op for v in self.items.values()]

    @property
    def blocked(self) -> dict[str, list[LintFinding]]:
        return {k: v.blocking for k, v in self.items.items() if v.blocking}

    @property
    def refused(self) -> dict[str, str]:
        return {k: v.refused for k, v in self.items.items() if v.refused is not None}

    @property
    def redacted(self) -> set[str]:
        return {k for k, v in self.items.items() if v.redacted}

    def only(self, entry_ids: Iterable[str]) -> VettedOps:
        return VettedOps({k: self.items[k] for k in entry_ids})

    def redacted_texts(self) -> dict[str, str]:
        """Entry id -> the text applied, for the entries whose text the redaction changed."""
        return {k: v.op.text for k, v in self.items.items() if "text" in v.redacted and v.op.text is not None}


@dataclass(frozen=True)
class Vetting:
    config: Config
    redactor: Redactor

    @classmethod
    def of(cls, ws: Workspace) -> Vetting:
        """The workspace's current lint and redaction rules (config.yaml, read now)."""
        from dreamcli.config import load_config
        from dreamcli.redaction import for_config

        config = load_config(ws.config_path)
        return cls(config, for_config(config))

    def redact(self, text: str) -> str:
        return self.redactor.redact_text(text)

    def redact_obj(self, obj: Any) -> Any:
        return self.redactor.redact_obj(obj)

    def text(self, dream: Dream, op: Operation, edits: dict[str, str] | None = None) -> str | None:
        """The text approving `op` applies: the edit, else the proposal's, redacted."""
        raw = given_text(dream, op, edits)
        return None if raw is None else self.redact(raw)

    def findings(self, dream: Dream, op: Operation, edits: dict[str, str] | None = None) -> list[LintFinding]:
        """Every lint finding on the text and section title approving `op` applies (linted as given, so a
        secret they held is a finding although what is written is redacted), then those stored with `op`
        unless a reviewer's edit replaced its text. Messages are redacted: a finding quotes what it matched."""
        raw = given_text(dream, op, edits)
        from dreamcli.playbooks.lint import lint_entry_text, lint_operation

        fresh = lint_operation(op if raw == op.text else op.model_copy(update={"text": raw}), self.config)
        if op.section:
            fresh += [f.model_copy(update={"message": f"section title: {f.message}"})
                      for f in lint_entry_text(op.section, self.config)]
        edited = op.entry_id in (edits or {}) or dream.decision(op.entry_id).edited_text is not None
        kept = [] if edited else [f for f in op.lint if f not in fresh]
        return [self._clean(f) for f in fresh + kept]

    def blocking(self, dream: Dream, op: Operation, edits: dict[str, str] | None = None) -> list[LintFinding]:
        return [f for f in self.findings(dream, op, edits) if f.severity == BLOCK]

    def op(self, dream: Dream, op: Operation, edits: dict[str, str] | None = None) -> Vetted:
        """`op` as approval applies it (see the module docstring)."""
        raw = given_text(dream, op, edits)
        text = None if raw is None else self.redact(raw)
        section = None if op.section is None else self.redact(op.section)
        metadata = self._metadata(op.metadata)
        update: dict[str, Any] = {
            "text": text, "section": section, "metadata": metadata, "lint": self.findings(dream, op, edits),
            "path": None if op.path is None else self.redact(op.path),
            "merged_paths": [self.redact(p) for p in op.merged_paths],
            "merged_ids": [self.redact(i) for i in op.merged_ids],
            "reason": self.redact(op.reason), "kind": self.redact(op.kind),
            "taint": [self.redact(t) for t in op.taint], "evidence": [self._evidence(e) for e in op.evidence],
        }
        changed = {"text": op.op in TEXT_OPS and text != raw, "section": section != op.section,
                   "metadata": metadata is not op.metadata}
        redacted = tuple(k for k, v in changed.items() if v)
        return Vetted(op.model_copy(update=update), self._refusal(op, update), redacted)

    def ops(self, dream: Dream, ops: Iterable[Operation], edits: dict[str, str] | None = None) -> VettedOps:
        return VettedOps({o.entry_id: self.op(dream, o, edits) for o in ops})

    def _metadata(self, md: EntryMetadata) -> EntryMetadata:
        """`md` less the exact values the redaction changes, its other values redacted (`md` itself when
        nothing changes)."""
        update: dict[str, Any] = {}
        sources = [s for s in md.sources if self.redact(s) == s]
        if sources != md.sources:
            update["sources"] = sources
        for key in ("first_seen", "last_seen"):
            value = getattr(md, key)
            if value is not None and self.redact(value) != value:
                update[key] = None
        extra = md.model_extra or {}
        if extra and (clean := self.redact_obj(extra)) != extra:
            update |= clean
        return md.model_copy(update=update) if update else md

    def _evidence(self, ev: Evidence) -> Evidence:
        excerpt = self.redact(ev.excerpt)
        extra = ev.model_extra or {}
        clean = self.redact_obj(extra) if extra else extra
        if excerpt == ev.excerpt and clean == extra:
            return ev
        return ev.model_copy(update={"excerpt": excerpt, **clean})

    def _refusal(self, op: Operation, vetted: dict[str, Any]) -> str | None:
        if op.path is not None and vetted["path"] != op.path:
            return (f"its memory path ({vetted['path']}) holds what looks like a secret: no file is named after a "
                    "secret; reject it")
        if vetted["merged_paths"] != op.merged_paths:
            shown = next(v for v, p in zip(vetted["merged_paths"], op.merged_paths, strict=True) if v != p)
            return f"a merged memory path ({shown}) holds what looks like a secret; reject it"
        if vetted["merged_ids"] != op.merged_ids:
            return "a merged entry id holds what looks like a secret; reject it"
        return None

    def _clean(self, finding: LintFinding) -> LintFinding:
        message = self.redact(finding.message)
        return finding if message is finding.message else finding.model_copy(update={"message": message})


def given_text(dream: Dream, op: Operation, edits: dict[str, str] | None = None) -> str | None:
    """The text approving `op` would apply before redaction: `edits` (this approval's), else the
    reviewer's recorded edit, else the proposal's."""
    if edits and op.entry_id in edits:
        return edits[op.entry_id]
    return dream.text_for(op)
