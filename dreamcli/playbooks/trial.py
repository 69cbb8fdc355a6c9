"""Trial before approval: the playbook as it would be with a dream's pending entries, never written.

`dreamcli run --with-proposal DREAM_ID` places this playbook in context instead of the live one; the
session records `with_proposal` so a later review can compare trial runs with ordinary ones.

`proposal.json` is not trusted (dreamcli.playbooks.vetting): an entry is placed as approval would apply
it (text and section title redacted with the workspace's current rules, metadata vetted), and an entry
whose text or section title as it stands has a block lint finding is left out (`Trial.blocked`) --
neither command that places a trial can force it in. A trial that would place nothing the live
playbook does not already hold (`Trial.nothing_placed`: every entry decided, or every pending one
refused or blocked) is refused before a run starts (exit 2), as `dreamcli pilot` refuses it. Only the
top-level run is: its sub-agents are given the `Trial` it placed (`RunOptions.trial`) and place it as it
is, so an entry approved or rejected while the lead runs changes nothing they see.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from dreamcli.playbooks.apply import APPLIED, CONFLICT, apply_operations
from dreamcli.playbooks.model import Playbook, new_playbook
from dreamcli.playbooks.proposal_model import LintFinding, Operation
from dreamcli.playbooks.proposals import Dream, load_dream
from dreamcli.playbooks.store import load_playbook, load_version, read_live
from dreamcli.playbooks.vetting import Vetting
from dreamcli.workspace.home import Workspace


@dataclass
class Trial:
    dream_id: str
    playbook: Playbook
    base_version: int  # the live version the trial was built on (0: no live playbook)
    applied: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (entry id, reason): no longer fits
    blocked: list[tuple[str, str]] = field(default_factory=list)  # (entry id, its block findings): left out
    changed: bool = True  # an operation other than `counts` applied: the placed text differs from the live one

    @property
    def name(self) -> str:
        return self.playbook.name

    @property
    def playbooks(self) -> list[Playbook]:
        return [self.playbook]

    def record(self) -> dict[str, Any]:
        """What a session records under `with_proposal`."""
        return {"dream_id": self.dream_id, "playbook": self.name, "base_version": self.base_version,
                "entry_ids": list(self.applied), "refused": [i for i, _ in self.refused + self.blocked]}

    def nothing_placed(self) -> str | None:
        """Why this trial would place nothing the live playbook does not (one line), or None when it
        places something. A run or pilot of it would try nothing: refused (exit 2), as `pilot` refuses."""
        if self.changed:
            return None
        left = ([f"{i} no longer fits the live playbook ({why})" for i, why in self.refused]
                + [f"{i} has a blocking lint finding ({why})" for i, why in self.blocked])
        if not left:
            return f"dream {self.dream_id} has no pending playbook entries to try"
        more = f"; and {len(left) - 1} more" if len(left) > 1 else ""
        return (f"nothing to try: no pending entry of dream {self.dream_id} can be placed ({left[0]}{more}); "
                "reject or edit it (`dreamcli playbooks diff` shows why)")

    def loader(self) -> Callable[[Workspace, str], Playbook | None]:
        """A playbook loader (`RunOptions.playbook_loader`): this trial for its playbook, else the live one."""
        def load(ws: Workspace, name: str) -> Playbook | None:
            if name == self.name:
                return self.playbook
            return load_playbook(ws, name)

        return load


def trial_playbook(ws: Workspace, dream_id: str, *, include_rejected: bool = False,
                   entry_ids: Collection[str] | None = None) -> Trial:
    """The dream's playbook with its undecided playbook operations applied (in memory only).

    Approved entries are already live; rejected ones are left out unless `include_rejected`. Edits a
    reviewer made are used. Every text is applied redacted with the workspace's current rules, and an
    operation with a block lint finding is left out (`blocked`, see the module docstring). Operations
    that conflict with the live playbook are skipped and listed. With `entry_ids`, only those
    operations are applied (`dreamcli pilot --entry`). The result keeps the live version number: it is
    not a new version.
    """
    dream = load_dream(ws, dream_id)
    prop = dream.proposal
    ops = [o for o in prop.operations if o.target == "playbook"
           and (entry_ids is None or o.entry_id in entry_ids)
           and (dream.decision(o.entry_id).action is None
                or (include_rejected and dream.decision(o.entry_id).action == "reject"))]
    live, _ = read_live(ws, prop.playbook)
    pb = live if live is not None else new_playbook(prop.playbook)
    base = None
    if live is not None and prop.base_version and prop.base_version != pb.version:
        base = load_version(ws, prop.playbook, prop.base_version)
    vetted = Vetting.of(ws).ops(dream, ops)  # only the vetted operations are placed
    blocked = {k: one_line(found) for k, found in vetted.blocked.items()}
    placed = [o for o in vetted.ops if o.entry_id not in blocked]
    result = apply_operations(pb, placed, base_version=prop.base_version, base=base, refused=vetted.refused)
    return Trial(
        dream_id=dream.dream_id, playbook=pb, base_version=live.version if live is not None else 0,
        applied=[o.entry_id for o in result.outcomes if o.status == APPLIED],
        refused=[(o.entry_id, o.reason) for o in result.outcomes if o.status == CONFLICT],
        blocked=list(blocked.items()),
        changed=any(o.status == APPLIED and o.op != "counts" for o in result.outcomes),
    )


def blocked_why(vet: Vetting, dream: Dream, op: Operation) -> str | None:
    """The block findings on the text `op` would place, as one line (`injection: ...; secret: ...`),
    or None when it has none."""
    return one_line(vet.blocking(dream, op)) or None


def one_line(findings: list[LintFinding]) -> str:
    """Findings as one line: `injection: ...; secret: ...`."""
    return "; ".join(" ".join(f"{f.rule}: {f.message}".split()) for f in findings)


def blocked_warning(entry_id: str, why: str, *, of: str = "trial") -> str:
    """The one-line warning for an entry a trial (or a pilot: `of`) leaves out (`blocked`)."""
    return (f"proposed entry {entry_id} left out of the {of}: it has a blocking lint finding ({why}); "
            "reject or edit it")


def playbooks_with_proposal(ws: Workspace, dream_id: str) -> list[Playbook]:
    """The playbook(s) a run would read with this dream's proposed entries applied (not approved)."""
    return trial_playbook(ws, dream_id).playbooks
