"""Which of a dream's pending entries a pilot measures (docs/pilot.md).

    entries = pending_entries(ws, "01JD3Z", ["pb-3f9k2xab"])  # None: every pending playbook entry
    entries.ids        # what every candidate arm places
    entries.warnings   # one line per entry left out

`proposal.json` is not trusted (dreamcli.playbooks.vetting): an entry whose text as it stands has a
block lint finding with the workspace's current rules is left out of every arm, with a warning; a
pilot left with no entry is refused (exit 2) before anything runs. The plan is then that of the
entries placed (its identity and key), as `--entry` naming only those would make it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dreamcli.errors import UsageError
from dreamcli.playbooks.proposals import load_dream, past_tense
from dreamcli.playbooks.trial import blocked_warning, blocked_why
from dreamcli.playbooks.vetting import Vetting
from dreamcli.workspace.home import Workspace


@dataclass(frozen=True)
class PilotEntries:
    dream_id: str
    playbook: str
    ids: list[str]  # the pending entries the candidate places
    blocked: dict[str, str] = field(default_factory=dict)  # left out: entry id -> its block findings, one line

    @property
    def warnings(self) -> list[str]:
        return [blocked_warning(i, why, of="pilot") for i, why in self.blocked.items()]


def pending_entries(ws: Workspace, dream_id: str, entry_ids: list[str] | None) -> PilotEntries:
    """The dream's pending playbook entries (or those of `entry_ids`, each checked to be one) less those
    with a block finding. UsageError when none is left."""
    dream = load_dream(ws, dream_id)
    pending = {o.entry_id: o for o in dream.proposal.operations
               if o.target == "playbook" and o.op != "counts" and dream.decision(o.entry_id).action is None}
    ids = list(pending)
    if entry_ids:
        for e in dict.fromkeys(entry_ids):
            if e not in pending:
                op = dream.proposal.find(e)
                why = ("it is not in the proposal" if op is None else
                       f"it is already {past_tense(action)}" if (action := dream.decision(e).action) else
                       f"it is a {op.target} {op.op} operation, which changes no playbook text")
                raise UsageError(f"cannot pilot entry {e} of dream {dream.dream_id}: {why}")
        ids = list(dict.fromkeys(entry_ids))
    if not ids:
        raise UsageError(f"dream {dream.dream_id} has no pending playbook entries to pilot")
    vet = Vetting.of(ws)
    blocked = {i: found for i in ids if (found := blocked_why(vet, dream, pending[i]))}
    kept = [i for i in ids if i not in blocked]
    if not kept:
        first, findings = next(iter(blocked.items()))
        many = len(blocked) > 1
        raise UsageError(f"nothing to pilot: {'every entry chosen' if many else 'entry ' + first} of dream "
                         f"{dream.dream_id} has a blocking lint finding ({first}: {findings}"
                         f"{f'; and {len(blocked) - 1} more' if many else ''}), so no trial may place it; "
                         "reject or edit it (`dreamcli playbooks diff` shows the findings)")
    return PilotEntries(dream.dream_id, dream.proposal.playbook, kept, blocked)
