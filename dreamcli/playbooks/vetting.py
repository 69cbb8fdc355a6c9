"""What approving an operation would apply, checked now rather than taken from the proposal file.

`dreams/<id>/proposal.json` is a file on disk: it may have been edited after the dream wrote it, or
written before a `redaction.patterns` entry that now calls one of its values a secret. So approval
applies, and review shows, the operation's text (a reviewer's edit, else the proposal's) redacted with
the workspace's current rules, and its lint findings computed again on that text with the rules the
dream and `dreamcli playbooks lint` use. The findings stored with the operation still count, unless a
reviewer's edit replaced the text they were about.

    vet = Vetting.of(ws)
    text = vet.text(dream, op, edits)          # what approval writes (None: the operation has no text)
    findings = vet.findings(dream, op, edits)  # current findings, messages redacted
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dreamcli.playbooks.proposal_model import BLOCK, LintFinding, Operation

if TYPE_CHECKING:
    from dreamcli.config import Config
    from dreamcli.playbooks.proposals import Dream
    from dreamcli.redaction import Redactor
    from dreamcli.workspace.home import Workspace


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
        """Every lint finding on the text approving `op` applies (linted as given, so a secret the text
        held is a finding although what is written is redacted), then those stored with `op` unless a
        reviewer's edit replaced its text. Messages are redacted: a finding quotes what it matched."""
        raw = given_text(dream, op, edits)
        from dreamcli.playbooks.lint import lint_operation

        fresh = lint_operation(op if raw == op.text else op.model_copy(update={"text": raw}), self.config)
        edited = op.entry_id in (edits or {}) or dream.decision(op.entry_id).edited_text is not None
        kept = [] if edited else [f for f in op.lint if f not in fresh]
        return [self._clean(f) for f in fresh + kept]

    def blocking(self, dream: Dream, op: Operation, edits: dict[str, str] | None = None) -> list[LintFinding]:
        return [f for f in self.findings(dream, op, edits) if f.severity == BLOCK]

    def _clean(self, finding: LintFinding) -> LintFinding:
        message = self.redact(finding.message)
        return finding if message is finding.message else finding.model_copy(update={"message": message})


def given_text(dream: Dream, op: Operation, edits: dict[str, str] | None = None) -> str | None:
    """The text approving `op` would apply before redaction: `edits` (this approval's), else the
    reviewer's recorded edit, else the proposal's."""
    if edits and op.entry_id in edits:
        return edits[op.entry_id]
    return dream.text_for(op)
