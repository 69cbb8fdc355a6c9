"""`dreamcli dream --auto-approve`: approve what no policy holds for a person, through the one approval
path (`dreamcli.playbooks.approval.approve`: locked, journaled, audited).

Held, and left pending for review: operations with a blocking lint finding, tainted operations
(evidence only from untrusted content), and with config `approval.require_lift` every operation a
pilot has not yet shown to lift (a new dream's entries have never been piloted). Holding is policy,
not failure: the dream succeeded, and `held_for_lift` says why each entry waits.
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
    vet = Vetting.of(ws)  # blocking as approval sees it: the text as it stands, linted with today's rules
    held = [o.entry_id for o in undecided if o.tainted or vet.blocking(dream, o)]
    rest = [o for o in undecided if o.entry_id not in held]
    gated = lift_gate(ws, dream, rest)
    ids = [o.entry_id for o in rest if o.entry_id not in gated]
    out: dict[str, Any] = {"approved": [], "refused": [], "held_for_review": held,
                           "held_for_lift": [{"entry_id": k, "reason": v} for k, v in gated.items()],
                           "status": dream.status}
    if ids:
        review = approve(ws, dream.dream_id, entry_ids=ids, actor=actor, wait=-1)
        out.update(approved=[o.entry_id for o in review.applied], refused=[o.entry_id for o in review.refused],
                   status=review.status)
    return out


def held_for_lift_message(dream_id: str, held: list[dict[str, str]]) -> str | None:
    """The one line that says why entries were not auto-approved under `approval.require_lift`."""
    if not held:
        return None
    n = len(held)
    first = held[0]
    return (f"not auto-approved: approval.require_lift holds {n} entr{'y' if n == 1 else 'ies'} until a pilot "
            f"measures a lift whose interval reaches above 0 ({first['entry_id']}: {first['reason']}); "
            f"{'it stays' if n == 1 else 'they stay'} pending: dreamcli pilot TASK.yaml --proposal {dream_id}")
