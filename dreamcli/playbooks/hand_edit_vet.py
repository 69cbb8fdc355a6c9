"""A hand edit (dreamcli.playbooks.hand_edit) that a commit takes in: what the edit added or changed is
linted with the rules proposed entries get, and a blocking finding refuses the approve (or merging
import) unless forced, with nothing written; `record_fields` are what the commit's audit record says of it.

    commit_playbook(ws, pb, expected_text=text, before_write=vetting_hook(ws, intent, force=False))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from dreamcli.errors import UsageError
from dreamcli.playbooks.hand_edit import HandEdit, kept_playbook

if TYPE_CHECKING:
    from dreamcli.playbooks.revert_vetting import Flag
    from dreamcli.playbooks.store import Commit
    from dreamcli.playbooks.vetting import Vetting
    from dreamcli.workspace.home import Workspace


def vet(hand: HandEdit, vetting: Vetting, *, force: bool, action: str = "approve") -> HandEdit:
    """`hand` with the lint findings on what it added or changed (entries by text, the description and
    section headings), linted as proposed entries are. A blocking finding raises UsageError naming it and
    how to go on (nothing was written yet), unless `force`. Messages are redacted: a finding quotes what
    it matched."""
    from dreamcli.playbooks.format import parse_playbook
    from dreamcli.playbooks.lint import lint_entry_text, prompt_parts
    from dreamcli.playbooks.revert_vetting import Flag

    def flag(part: str, entry_id: str | None, heading: str | None, text: str) -> Flag | None:
        found = [f.model_copy(update={"message": vetting.redact(f.message)})
                 for f in lint_entry_text(text, vetting.config)]
        return Flag(part, entry_id, heading, tuple(found)) if found else None

    was = kept_playbook(hand.texts[0])
    before = set(prompt_parts(was)) if was is not None else set()
    new_parts = [p for p in prompt_parts(parse_playbook(hand.texts[1])) if p not in before]  # description, headings
    flags = [f for part, text in new_parts
             if (f := flag(part, None, text if part == "section" else None, text)) is not None]
    flags += [f for entry_id, text in hand.new_texts if (f := flag("entry", entry_id, None, text)) is not None]
    blocked = [f for f in flags if f.blocks]
    if blocked and not force:
        raise UsageError(refusal(hand, blocked, action))
    return replace(hand, forced=tuple(f.to_json() for f in blocked),
                   lint_warnings=tuple(f.to_json() for f in flags if not f.blocks))


def refusal(hand: HandEdit, blocked: list[Flag], action: str) -> str:
    """The one line of an approve (or import) refused because the hand edit it would take in fails lint."""
    shown = "; ".join(f"{f.where()} {f.reason(blocking_only=True)}" for f in blocked[:3])
    more = f" (and {len(blocked) - 3} more)" if len(blocked) > 3 else ""
    name, v = hand.playbook, hand.from_version
    if hand.unkept:  # no version to go back to: the file is all there is
        return (f"playbook {name!r} was made by hand (no kept version), and it has a blocking lint finding: "
                f"{shown}{more}; nothing was {past(action)}. Fix the file, then {action} again; or {action} with "
                "--force to take it in anyway (audited)")
    return (f"playbook {name!r} was edited by hand since v{v}, and what the edit added has a blocking lint finding: "
            f"{shown}{more}; nothing was {past(action)}. Drop the edit (dreamcli playbooks revert {name} {v}) or fix "
            f"the file, then {action} again; or {action} with --force to take the edit in anyway (audited)")


def past(action: str) -> str:
    return {"approve": "approved", "import": "imported"}.get(action, f"{action}ed")


def vetting_hook(ws: Workspace, then: Callable[[Commit], None], *, force: bool,
                 action: str = "approve") -> Callable[[Commit], None]:
    """A `before_write` hook for `commit_playbook`: vet the commit's hand edit (`vet`, with the workspace's
    current rules), keep the findings on the commit, then call `then` (the journal's intent). A refusal
    raises before anything is written."""
    def hook(commit: Commit) -> None:
        if commit.hand_edit is not None:
            commit.hand_edit = vet_in(ws, commit.hand_edit, force=force, action=action)
        then(commit)
    return hook


def vet_in(ws: Workspace, hand: HandEdit, *, force: bool, action: str) -> HandEdit:
    """`vet` with the workspace's current rules (config.yaml, read now)."""
    from dreamcli.playbooks.vetting import Vetting

    return vet(hand, Vetting.of(ws), force=force, action=action)


def record_fields(commit: Commit) -> dict[str, Any]:
    """The audit record's fields for a commit made on top of a hand edit: `hand_edited_before` and
    `hand_edit` (`HandEdit.record`)."""
    if commit.hand_edit is None:
        return {"hand_edited_before": True} if commit.hand_edited else {}
    return {"hand_edited_before": True, "hand_edit": commit.hand_edit.record()}
