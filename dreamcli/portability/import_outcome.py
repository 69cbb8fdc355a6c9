"""What a bundle import did to one playbook (`dreamcli import BUNDLE`, dreamcli.portability.importer): the
outcome staged, linted, installed and audited, and shown by `--json`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dreamcli.playbooks.hand_edit import HandEdit
from dreamcli.portability.bundle_lint import Flagged


@dataclass
class PlaybookOutcome:
    name: str
    action: str  # added, merged, replaced, unchanged; refused (new here, every entry refused by lint)
    version_before: int | None
    version_after: int | None
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    folded: list[dict[str, str]] = field(default_factory=list)  # merge: {id, local_id}, same text under another id
    removed: list[str] = field(default_factory=list)  # replace: live entries the bundle's version does not have
    bundle_version: int | None = None  # the version of the bundle's playbook
    older: bool = False  # replace: the bundle's version is older than the live one it replaced
    history_imported: int = 0
    hash_before: str | None = None
    hash_after: str | None = None
    secrets_redacted: int = 0  # files of the bundle's playbook (live, history) whose secrets were replaced
    kept: dict[int, str | None] = field(default_factory=dict)  # older versions the bundle brought -> hash
    refused: list[Flagged] = field(default_factory=list)  # blocked by lint: nothing of them imported
    forced: list[Flagged] = field(default_factory=list)  # blocked by lint, imported with --force
    lint_warnings: list[Flagged] = field(default_factory=list)
    hand_edit: HandEdit | None = None  # the live file was edited by hand since its version (merge keeps the edit)
    hand_edit_kept: str | None = None  # replace: where the hand-edited text it dropped was kept (`state/hand-edits/…`)

    def to_json(self) -> dict[str, Any]:
        flagged = ("refused", "forced", "lint_warnings")
        return {k: [f.to_json() for f in v] if k in flagged else v for k, v in self.__dict__.items()} \
            | {"hand_edit": self.hand_edit.to_json() if self.hand_edit else None}
