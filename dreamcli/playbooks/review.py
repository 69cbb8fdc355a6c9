"""What a reviewer sees: playbook summaries and each proposed change with its context (plain data;
the CLI prints it as JSON or hands it to dreamcli.ui.playbooks_view)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dreamcli.errors import InputError, UsageError
from dreamcli.playbooks.format import token_estimate
from dreamcli.playbooks.model import Playbook, new_playbook
from dreamcli.playbooks.proposals import pending_dreams
from dreamcli.playbooks.store import list_playbook_names, load_version, read_live
from dreamcli.workspace.home import Workspace

if TYPE_CHECKING:  # the proposal model (pydantic) loads with the first dream read, not with `playbooks list`
    from dreamcli.playbooks.proposals import Dream, Operation, UnreadableDream
    from dreamcli.playbooks.vetting import Vetting

CHANGE = {"add": "added", "update": "changed", "merge": "merged", "retire": "retired", "counts": "counts",
          "create": "added"}


def summaries(ws: Workspace, problems: list[str],
              unreadable: list[UnreadableDream] | None = None) -> list[dict[str, Any]]:
    """One row per playbook (and per playbook a pending dream would create). A dream that does not read is
    left out and reported in `problems` (one line) and, when given, `unreadable` (its dream, file, problem)."""
    pending: dict[str, list[Dream]] = {}
    for dream in pending_dreams(ws, problems=problems, unreadable=unreadable):
        pending.setdefault(dream.proposal.playbook, []).append(dream)
    rows = []
    for name in sorted(set(list_playbook_names(ws)) | set(pending)):
        row: dict[str, Any] = {"name": name, "version": None, "entries": 0, "tokens": 0, "updated": None,
                               "pending_dreams": [d.dream_id for d in pending.get(name, [])],
                               "pending_entries": sum(len(d.undecided()) for d in pending.get(name, []))}
        try:
            pb, _ = read_live(ws, name)
        except InputError as e:
            row["error"] = str(e)
            problems.append(str(e))
            rows.append(row)
            continue
        if pb is not None:
            row.update(version=pb.version, entries=len(pb.entries()), tokens=token_estimate(pb),
                       updated=pb.updated, description=pb.description)
        rows.append(row)
    return rows


def no_playbook(ws: Workspace, name: str) -> UsageError:
    """The error for a playbook with no live file: when pending dreams would create it, say it has no
    approved version yet and how to review them (`playbooks list` shows it as `new`)."""
    pending = pending_dreams(ws, name, problems=[])  # an unreadable dream is warned about by the listings
    count = sum(len(d.undecided()) for d in pending)
    if not count:
        return UsageError(f"no playbook {name!r} (see: dreamcli playbooks list)")
    dreams = f"{len(pending)} dream{'s' if len(pending) > 1 else ''}"
    return UsageError(f"playbook {name!r} has no approved version yet; {count} entr"
                      f"{'y is' if count == 1 else 'ies are'} pending in {dreams} "
                      f"(review them: dreamcli playbooks diff --playbook {name})")


def playbook_json(pb: Playbook) -> dict[str, Any]:
    meta = dict(pb.meta)
    return {"name": pb.name, "version": pb.version, "updated": pb.updated, "description": pb.description,
            "scope": pb.scope, "meta": meta, "sections": pb.sections, "tokens": token_estimate(pb),
            "entries": [e.to_dict() for e in pb.entries()]}


def _evidence(op: Operation) -> list[dict[str, Any]]:
    """Every evidence record of a vetted operation (excerpts already redacted): the terminal shows the first few,
    `--json` all of them."""
    return [{"session_id": ev.session_id, "seq": ev.seq, "excerpt": ev.excerpt} for ev in op.evidence]


def _redacted(vet: Vetting, text: str | None) -> str | None:
    return None if text is None else vet.redact(text)


def _new_text(op: Operation, old: str | None) -> str | None:
    """The text approving the vetted `op` writes; a retire writes none, a `counts` operation keeps the
    `old` text."""
    if op.op in ("retire", "counts"):
        return None if op.op == "retire" else old
    return op.text


def _reverted(op: Any, action: str | None, live_ids: dict[str, Any]) -> bool:
    """An approved playbook change the live playbook no longer shows (a later revert undid it)."""
    if action != "approve" or op.target == "memory" or op.op == "counts":
        return False
    return (op.entry_id in live_ids) if op.op == "retire" else (op.entry_id not in live_ids)


def describe_dream(ws: Workspace, dream: Dream, *, include_decided: bool = False) -> dict[str, Any]:
    """Every (undecided, or all) operation of a dream next to what the live playbook says now. What comes
    from the proposal file is shown as approval would apply it (dreamcli.playbooks.vetting): the vetted
    operation (text, section, metadata, paths and evidence redacted with the workspace's current rules,
    lint findings computed again); one the vetting refuses does not fit."""
    from dreamcli.playbooks.vetting import Vetting

    vet = Vetting.of(ws)
    prop = dream.proposal
    live, live_text = read_live(ws, prop.playbook)
    pb = live if live is not None else new_playbook(prop.playbook)
    ops = [o for o in prop.operations if include_decided or dream.decision(o.entry_id).action is None]
    before = {e.id: (e.text, e.section) for e in pb.entries()}
    tokens_now = token_estimate(pb) if live is not None else 0
    vetted = vet.ops(dream, ops)  # what approval applies and review shows
    undecided = [o for o in ops if dream.decision(o.entry_id).action is None]
    pending = vetted.only(o.entry_id for o in undecided)
    from dreamcli.playbooks.lift import current_state, last_lifts

    # before the dry run below changes pb; a lift counts for the text approval would apply
    lifts = last_lifts(dream.dir, current_state(dream, pb.entries(), pending.redacted_texts()))
    # a dry run on the parsed copy tells which operations still fit the live playbook
    base = None
    if live is not None and prop.base_version and prop.base_version != pb.version:
        base = load_version(ws, prop.playbook, prop.base_version)
    from dreamcli.playbooks.apply import apply_operations

    dry = apply_operations(pb, pending.ops, base_version=prop.base_version, base=base, ws=ws,
                           memory_store=prop.memory_store, refused=pending.refused)
    fit = {o.entry_id: o for o in dry.outcomes}
    import hashlib

    items = []
    for op in vetted.ops:
        entry = before.get(op.entry_id)
        decision = dream.decision(op.entry_id)
        outcome = fit.get(op.entry_id)
        findings = op.lint
        if op.target == "memory":
            old_text = outcome.before if outcome else _redacted(vet, op.old_text)
        else:
            old_text = entry[0] if entry is not None else _redacted(vet, op.old_text)
        items.append({
            "entry_id": op.entry_id, "op": op.op, "target": op.target, "change": CHANGE.get(op.op, op.op),
            "section": entry[1] if entry is not None else op.section, "path": op.path,
            "old_text": old_text, "proposed_old_text": _redacted(vet, op.old_text),
            "new_text": _new_text(op, old_text),
            "edited": decision.edited_text is not None,
            "merged": [{"entry_id": m, "text": before[m][0] if m in before else None} for m in op.merged_ids],
            "merged_paths": op.merged_paths, "reason": op.reason, "kind": op.kind,
            "support": op.support.model_dump(mode="json", exclude_none=True),
            "impact": op.impact, "metadata": op.metadata.model_dump(mode="json"), "evidence": _evidence(op),
            "evidence_total": len(op.evidence), "lint": [f.to_json() for f in findings],
            "blocking": any(f.severity == "block" for f in findings), "taint": list(op.taint),
            "decision": decision.action, "reverted": _reverted(op, decision.action, before),
            "fits": outcome.status if outcome else None,
            "conflict": outcome.reason if outcome and outcome.status == "conflict" else None,
            "pilot": lifts[op.entry_id].to_json() if op.entry_id in lifts else None,
        })
    return {
        "dream_id": dream.dream_id, "playbook": prop.playbook, "status": dream.status,
        "created": prop.created or dream.info.get("created"), "base_version": prop.base_version,
        "live_version": live.version if live is not None else None, "memory_store": prop.memory_store,
        "offline": dream.info.get("offline"), "budget": prop.budget.model_dump(mode="json"),
        "lint": [vet.redact_obj(f.to_json()) for f in prop.lint],
        "tokens_now": tokens_now, "tokens_after": token_estimate(pb), "operations": items,
        "live_hash": None if live_text is None else "sha256:" + hashlib.sha256(live_text.encode()).hexdigest(),
    }
