"""`dreamcli dream --auto-approve`: approve what no policy holds for a person, through the one approval
path (`dreamcli.playbooks.approval.approve`: locked, journaled, audited).

Held, and left pending for review: operations with a blocking lint finding, tainted operations
(evidence only from untrusted content), and with config `approval.require_lift` every operation a
pilot has not yet shown to lift (a new dream's entries have never been piloted). Holding is policy,
not failure: the dream succeeded, and `held_for_lift` says why each entry waits. Nothing is approved on
top of a live playbook edited by hand since its version (or one that does not parse): the next version
would take in an edit nobody reviewed, so a person approves it (`held_for_hand_edit`).
"""

from __future__ import annotations

from typing import Any

from dreamcli.workspace.home import Workspace

ACTOR = "dreamcli dream --auto-approve"


def auto_approve(ws: Workspace, dream_id: str, *, actor: str = ACTOR) -> dict[str, Any]:
    """Approve the dream's undecided operations that nothing holds; report what was held and why.

    {"approved": [ids], "refused": [ids], "held_for_review": [ids held for lint or taint],
     "held_for_lift": [{"entry_id", "reason"}], "status": the dream's status}"""
    from dreamcli.playbooks.approval import approve, lift_gate
    from dreamcli.playbooks.proposals import load_dream
    from dreamcli.playbooks.vetting import Vetting

    dream = load_dream(ws, dream_id)
    undecided = dream.undecided()
    if (edited := hand_edited_from(ws, dream.proposal.playbook)) is not None:
        return {"approved": [], "refused": [], "held_for_review": [], "held_for_lift": [],
                "held_for_hand_edit": {**edited, "entry_ids": [o.entry_id for o in undecided]},
                "status": dream.status}
    vet = Vetting.of(ws)  # blocking as approval sees it: the text as it stands, linted with today's rules
    held = [o.entry_id for o in undecided if o.tainted or vet.blocking(dream, o)]
    rest = [o for o in undecided if o.entry_id not in held]
    gated = lift_gate(ws, dream, rest)
    ids = [o.entry_id for o in rest if o.entry_id not in gated]
    out: dict[str, Any] = {"approved": [], "refused": [], "held_for_review": held,
                           "held_for_lift": [{"entry_id": k, "reason": v} for k, v in gated.items()],
                           "held_for_hand_edit": None, "status": dream.status}
    if ids:
        review = approve(ws, dream.dream_id, entry_ids=ids, actor=actor, wait=-1)
        out.update(approved=[o.entry_id for o in review.applied], refused=[o.entry_id for o in review.refused],
                   status=review.status)
    return out


def hand_edited_from(ws: Workspace, name: str) -> dict[str, Any] | None:
    """`from_version`: the version the live playbook `name` was edited by hand from (its file differs from
    that kept version), -1 for a live file that does not parse; `unkept`: no such version is kept (made by
    hand). None when it is as recorded, or there is none yet."""
    from dreamcli.playbooks.store import load_version_text, read_live_or_damage

    live, text, damage = read_live_or_damage(ws, name)
    if damage is not None:
        return {"from_version": -1, "unkept": False}
    if live is None or text is None:
        return None
    recorded = load_version_text(ws, name, live.version)
    return None if recorded == text else {"from_version": live.version, "unkept": recorded is None}


def held_for_hand_edit_message(dream_id: str, playbook: str, held: dict[str, Any] | None) -> str | None:
    """The one line that says why nothing was auto-approved on a hand-edited playbook."""
    if not held:
        return None
    since = ("does not parse" if held["from_version"] < 0 else "was made by hand (no kept version)"
             if held.get("unkept") else f"was edited by hand since v{held['from_version']}")
    return (f"not auto-approved: playbook {playbook} {since}; a person approves the next version, which "
            f"would take that in: dreamcli playbooks diff {dream_id}")


def held_for_lift_message(dream_id: str, held: list[dict[str, str]]) -> str | None:
    """The one line that says why entries were not auto-approved under `approval.require_lift`."""
    if not held:
        return None
    n = len(held)
    first = held[0]
    return (f"not auto-approved: approval.require_lift holds {n} entr{'y' if n == 1 else 'ies'} until a pilot "
            f"measures a lift whose interval reaches above 0 ({first['entry_id']}: {first['reason']}); "
            f"{'it stays' if n == 1 else 'they stay'} pending: dreamcli pilot TASK.yaml --proposal {dream_id}")
