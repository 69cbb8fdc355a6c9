"""What `playbooks revert` would make live, vetted with the workspace's current rules (`Vetting.of`: the
config.yaml read now) as `dreamcli import` vets a bundle. A kept version may predate a rule: kept before
a lint rule or a `redaction.patterns` entry existed, or before the audit trail that checks kept files.

- The kept text is redacted first: what the revert writes never holds a secret. A secret that cannot be
  replaced in place (the redacted text would not parse: front matter, metadata) refuses the revert.
- The redacted text is linted where it would go live: every entry whose exact text is not live in the
  playbook already, and the description and section headings (`prompt_parts`) not live already. A block
  finding refuses the revert unless `force`; warn findings are reported only.

    vetted = vet_version(kept_text, live, Vetting.of(ws), file=".history/legal/v3.md")
    vetted.playbook   # what the revert writes (redacted)
    vetted.blocked    # [Flag(part, entry_id, heading, findings)]: refuse unless --force
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dreamcli.errors import InputError
from dreamcli.playbooks.format import parse_playbook
from dreamcli.playbooks.lint import lint_entry_text, prompt_parts
from dreamcli.playbooks.model import Playbook
from dreamcli.playbooks.proposal_model import BLOCK, LintFinding
from dreamcli.playbooks.vetting import Vetting


@dataclass(frozen=True)
class Flag:
    """An entry (or the description, a section heading: `part`) of the kept version with lint findings."""

    part: str  # entry, description, section
    entry_id: str | None
    heading: str | None
    findings: tuple[LintFinding, ...]

    @property
    def blocks(self) -> bool:
        return any(f.severity == BLOCK for f in self.findings)

    def where(self) -> str:
        if self.part == "entry":
            return f"[{self.entry_id}]"
        if self.part == "section":
            title = self.heading or ""
            return f"section heading {(title if len(title) <= 120 else title[:119] + '…')!r}"
        return self.part

    def reason(self, *, blocking_only: bool = False) -> str:
        shown = [f for f in self.findings if f.severity == BLOCK or not blocking_only]
        return "; ".join(f"{f.rule}: {f.message}" for f in shown)

    def to_json(self) -> dict[str, Any]:
        return {"entry_id": self.entry_id, "part": self.part, "findings": [f.to_json() for f in self.findings]} \
            | ({"heading": self.heading} if self.part == "section" else {})

    def audit_part(self) -> dict[str, Any]:
        return {"part": self.part} | ({"heading": self.heading} if self.part == "section" else {})


@dataclass(frozen=True)
class VettedVersion:
    playbook: Playbook  # the kept version, redacted: what the revert writes
    secrets_redacted: bool
    redacted: tuple[str, ...]  # ids of the entries whose text the redaction changed
    flags: tuple[Flag, ...]

    @property
    def blocked(self) -> list[Flag]:
        return [f for f in self.flags if f.blocks]

    @property
    def warnings(self) -> list[Flag]:
        return [f for f in self.flags if not f.blocks]


def vet_version(text: str, live: Playbook | None, vet: Vetting, *, file: str) -> VettedVersion:
    """`text` (a kept version, already parsed once as it is) redacted, and linted where it would go live
    over `live` (None: no live playbook)."""
    raw = parse_playbook(text, file=file)
    clean = vet.redact(text)
    try:
        pb = parse_playbook(clean, file=file)
    except InputError:  # the parser's message could quote the secret: say only what happened
        raise InputError("holds what looks like a secret where it cannot be redacted in place (in its front "
                         "matter or metadata); not reverting to it", file=file) from None
    before = {e.id: e.text for e in raw.entries()}
    redacted = tuple(e.id for e in pb.entries() if before.get(e.id, e.text) != e.text)
    return VettedVersion(pb, clean != text, redacted, tuple(_flags(pb, live, vet)))


def _flags(pb: Playbook, live: Playbook | None, vet: Vetting) -> list[Flag]:
    """Lint findings of what of `pb` is not live already: entries (by exact text), description, headings."""
    live_texts = {e.text for e in live.entries()} if live is not None else set()
    live_parts = set(prompt_parts(live)) if live is not None else set()
    flags = []
    for part, text in prompt_parts(pb):
        if (part, text) not in live_parts and (found := lint_entry_text(text, vet.config)):
            flags.append(Flag(part, None, text if part == "section" else None, tuple(found)))
    for e in pb.entries():
        if e.text not in live_texts and (found := lint_entry_text(e.text, vet.config)):
            flags.append(Flag("entry", e.id, None, tuple(found)))
    return flags


def refusal(name: str, version: int, blocked: list[Flag]) -> str:
    """The one line of a revert lint refused: each flagged entry or part with its blocking findings."""
    shown = "; ".join(f"{f.where()} {f.reason(blocking_only=True)}" for f in blocked[:3])
    more = f" (and {len(blocked) - 3} more)" if len(blocked) > 3 else ""
    return (f"playbook {name!r} v{version} is refused by lint: {shown}{more}; nothing was changed; review it, "
            "then revert with --force to restore it anyway")


def audit_fields(vetted: VettedVersion, force: bool) -> dict[str, Any]:
    """The revert record's fields for what the redaction changed and what --force let in."""
    fields: dict[str, Any] = {}
    if vetted.secrets_redacted:
        fields |= {"secrets_redacted": True, "redacted": list(vetted.redacted)}
    forced = vetted.blocked if force else []
    if any(f.part == "entry" for f in forced):
        fields["forced"] = [f.entry_id for f in forced if f.part == "entry"]
    if any(f.part != "entry" for f in forced):
        fields["forced_parts"] = [f.audit_part() for f in forced if f.part != "entry"]
    return fields
