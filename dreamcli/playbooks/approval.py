"""Approve, reject and edit a dream's proposed operations; revert a playbook to an old version.

Every change happens under the workspace's "playbooks" lock and re-reads the live playbook inside it,
so racing approvals (or an approval while a dream writes its proposal) lose nothing; the live text
is compared again just before writing (`commit_playbook`) to catch writers that ignore the lock.
Each decision is appended to `dreams/<id>/decisions.jsonl`, `dream.json` gets its new status by an
atomic rewrite, and `audit.jsonl` gets one record per command: actor, time, dream id, entry ids and
content hashes before and after.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dreamcli.audit import append_audit, check_line, check_text, content_hash, current_actor
from dreamcli.errors import UsageError
from dreamcli.playbooks import audit_evidence, journal
from dreamcli.playbooks.apply import (
    ALREADY,
    APPLIED,
    CONFLICT,
    ApplyResult,
    Outcome,
    apply_operations,
    check_memory,
    check_memory_targets,
    write_memory,
)
from dreamcli.playbooks.format import entry_text_problem
from dreamcli.playbooks.hand_edit_vet import record_fields, vetting_hook
from dreamcli.playbooks.model import new_playbook, normalize_text
from dreamcli.playbooks.proposal_model import TEXT_OPS, LintFinding, Operation
from dreamcli.playbooks.proposals import Dream, fold_decision, past_tense
from dreamcli.playbooks.store import (
    Commit,
    ConcurrentChange,
    commit_playbook,
    load_version,
    read_live,
)
from dreamcli.playbooks.vetting import Vetting
from dreamcli.timeutil import now_rfc3339
from dreamcli.workspace.fsutil import append_line, atomic_write_text
from dreamcli.workspace.home import Workspace
from dreamcli.workspace.lock import workspace_lock

if TYPE_CHECKING:
    from dreamcli.config import Config

LOCK_NAME = "playbooks"
COMMIT_ATTEMPTS = 3


@dataclass
class ReviewResult:
    action: str
    dream_id: str
    playbook: str
    outcomes: list[Outcome] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (entry id, why) not touched
    commit: Commit | None = None
    status: str = ""
    audit: dict[str, Any] | None = None

    @property
    def applied(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == APPLIED]

    @property
    def refused(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == CONFLICT]

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action, "dream_id": self.dream_id, "playbook": self.playbook, "status": self.status,
            "outcomes": [{"entry_id": o.entry_id, "op": o.op, "target": o.target, "result": o.status,
                          "reason": o.reason} for o in self.outcomes],
            "skipped": [{"entry_id": i, "reason": r} for i, r in self.skipped],
            "version_before": self.commit.version_before if self.commit else None,
            "version_after": self.commit.version_after if self.commit else None,
            "hand_edit": self.commit.hand_edit.to_json() if self.commit and self.commit.hand_edit else None,
        }


def _select(dream: Dream, entry_ids: list[str] | None, all_: bool) -> list[Operation]:
    if bool(entry_ids) == bool(all_):
        raise UsageError("name the entries to review with --entry ID (repeatable) or pass --all")
    if all_:
        return list(dream.proposal.operations)
    ops = []
    for entry_id in dict.fromkeys(entry_ids or []):
        op = dream.proposal.find(entry_id)
        if op is None:
            raise UsageError(f"dream {dream.dream_id} proposes no entry {entry_id} (it has: {_known(dream)})")
        ops.append(op)
    return ops


def _known(dream: Dream, shown: int = 8) -> str:
    """The first `shown` entry ids of the dream, and how many more there are and where to see them all."""
    ids = [o.entry_id for o in dream.proposal.operations]
    more = f" … and {len(ids) - shown} more; see: dreamcli playbooks diff {dream.dream_id}" if len(ids) > shown else ""
    return ", ".join(ids[:shown]) + more


def _decision(action: str, entry_id: str, actor: str, **extra: Any) -> dict[str, Any]:
    return {"v": 1, "ts": now_rfc3339(), "action": action, "entry_id": entry_id, "actor": actor, **extra}


def _record(ws: Workspace, dream: Dream, records: list[dict[str, Any]]) -> str:
    """Append decisions (one write, one fsync), fold them in, and rewrite `dream.json` status
    atomically when it changed. Returns the new status. Each decision is redacted as the reason and text
    in it already are (`redact_edit`), the reviewer's name included."""
    if records:
        from dreamcli.config import workspace_redactor

        redactor = workspace_redactor(ws.config_path)
        records = [redactor.redact_obj(r) for r in records]
        lines = "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in records)
        append_line(dream.decisions_path, lines, fsync=True)
        for rec in records:
            fold_decision(dream.decisions, rec)
    status = dream.computed_status()
    info = dict(dream.info) or {"dream_id": dream.dream_id, "playbook": dream.proposal.playbook}
    if records and (info.get("status") != status or "reviewed" not in info):
        info["status"] = status
        info["reviewed"] = now_rfc3339()
        atomic_write_text(dream.info_path, json.dumps(info, indent=2, ensure_ascii=False) + "\n")
        dream.info = info
    return status


def workspace_config(ws: Workspace) -> Config:
    from dreamcli.config import load_config

    return load_config(ws.config_path)


def redact_edit(ws: Workspace, text: str) -> tuple[str, bool]:
    """A reviewer's text with secrets redacted (workspace patterns too): secrets never reach disk."""
    from dreamcli.config import workspace_redactor

    redacted = workspace_redactor(ws.config_path).redact_text(text)
    return redacted, redacted != text


def lint_text(text: str, config: Config) -> list[LintFinding]:  # lint (and pydantic) load only when needed
    from dreamcli.playbooks.lint import lint_entry_text

    return lint_entry_text(text, config)


def approve(ws: Workspace, dream_id: str, *, entry_ids: list[str] | None = None, all_: bool = False,
            edits: dict[str, str] | None = None, force: bool = False, actor: str | None = None,
            wait: float | None = None, reason: str | None = None, include_tainted: bool = False) -> ReviewResult:
    """Apply the chosen operations of a dream to its playbook as a new version. With config
    `approval.require_lift`, entries without a pilot lift above 0 need `force` and a `reason` (audited).
    With `all_`, tainted operations (evidence only from untrusted content) stay pending unless
    `include_tainted` (audited either way). The text applied is redacted with the workspace's current
    rules and linted again (`dreamcli.playbooks.vetting`): a block finding on it needs `force` too."""
    who = current_actor(actor)
    reason = redact_edit(ws, check_line(reason, "--reason"))[0].strip() if reason else None
    edits = {k: redact_edit(ws, normalize_text(check_text(v, "--edit-text")))[0] for k, v in (edits or {}).items()}
    with workspace_lock(ws, LOCK_NAME, wait=wait):
        dream, evidence = audit_evidence.load_decided(ws, dream_id)  # and the hash of what is decided on
        prop = dream.proposal
        journal.recover(ws, prop.playbook, who)  # audit a commit an interrupted approve left unaudited
        if dream.superseded_by is not None:
            raise UsageError(f"dream {dream.dream_id} was superseded by dream {dream.superseded_by}, which "
                             f"proposes the same entries; review that one (dreamcli playbooks diff "
                             f"{dream.superseded_by})")
        result = ReviewResult("approve", dream.dream_id, prop.playbook)
        todo: list[Operation] = []
        for op in _select(dream, entry_ids, all_):
            done = dream.decision(op.entry_id).action
            if done == "approve":
                result.skipped.append((op.entry_id, "already approved"))
            elif done == "reject":
                if not all_:
                    raise UsageError(f"entry {op.entry_id} of dream {dream.dream_id} was rejected; a rejected "
                                     "entry cannot be approved (the next dream may propose it again)")
                result.skipped.append((op.entry_id, "rejected"))
            elif all_ and op.tainted and not include_tainted:
                result.skipped.append((op.entry_id, f"tainted ({', '.join(op.taint)}): approve it with --entry "
                                                    f"{op.entry_id}, or pass --include-tainted"))
            else:
                todo.append(op)
        for entry_id, text in edits.items():
            edited = prop.find(entry_id)
            if edited is None or edited not in todo:
                raise UsageError(f"--edit-text applies to an entry being approved; {entry_id} is not one")
            if edited.op not in TEXT_OPS or not text:
                raise UsageError(f"entry {entry_id} ({edited.op}) has no text to edit, or the new text is empty")
            if (problem := entry_text_problem(text)) is not None:
                raise UsageError(f"--edit-text for {entry_id}: {problem}")
        # what is applied and checked is the operation as it stands now, redacted and linted with today's
        # rules: proposal.json may have been edited, or written before a redaction pattern (playbooks/vetting.py)
        vetted = Vetting.of(ws).ops(dream, todo, edits)
        blocked, redacted = vetted.blocked, vetted.redacted
        if blocked and not force:
            first_id, findings = next(iter(blocked.items()))
            what = "; ".join(f"{f.rule}: {f.message}" for f in findings)
            raise UsageError(f"{len(blocked)} entr{'y has' if len(blocked) == 1 else 'ies have'} a blocking lint "
                             f"finding ({first_id}: {what}); reject or edit {'it' if len(blocked) == 1 else 'them'}, "
                             "leave them out, or approve with --force")
        gated = lift_gate(ws, dream, todo, edits | vetted.redacted_texts(), leave_out_held=False)
        if gated and not (force and reason):
            first_id, why = next(iter(gated.items()))
            raise UsageError(f"approval.require_lift: entry {first_id} cannot be approved: {why} "
                             f"({len(gated)} entr{'y' if len(gated) == 1 else 'ies'} held); pilot it with: "
                             f"dreamcli pilot TASK.yaml --proposal {dream.dream_id} --entry {first_id}; or approve "
                             "with --force --reason TEXT (audited)")
        if not todo:
            result.status = dream.status
            return result
        applied, commit = _apply_and_commit(ws, dream, vetted.ops, who, refused=vetted.refused, force=force,
                                            evidence=evidence)
        result.outcomes = applied.outcomes
        result.commit = commit
        version = commit.version_after if commit else None
        records = []
        for o in result.outcomes:
            if o.status == CONFLICT:
                continue
            if o.entry_id in edits:
                new = edits[o.entry_id]
                records.append(_decision("edit", o.entry_id, who, text=new, text_hash=content_hash(new)))
            forced = o.entry_id in blocked or o.entry_id in gated
            records.append(_decision("approve", o.entry_id, who, result=o.status, playbook_version=version,
                                     forced=forced, text_hash=content_hash(o.after)))
        result.status = _record(ws, dream, records)
        result.audit = _audit_review(ws, "approve", who, dream, result, edits=edits, forced=sorted(blocked),
                                     forced_lift=[{"entry_id": k, "why": v} for k, v in gated.items()],
                                     reason=reason, tainted=sorted(o.entry_id for o in todo if o.tainted),
                                     redacted=[o.entry_id for o in result.applied if o.entry_id in redacted],
                                     include_tainted=include_tainted and all_, **evidence,
                                     left_tainted=[i for i, why in result.skipped if why.startswith("tainted")])
        journal.finish(ws, prop.playbook)
        return result


def lift_gate(ws: Workspace, dream: Dream, ops: list[Operation], edits: dict[str, str] | None = None, *,
              leave_out_held: bool = True) -> dict[str, str]:
    """Entry id -> why config `approval.require_lift` holds it (empty when the policy is off). Only
    operations that change playbook text are measured by a pilot, so only they are held; a lift counts
    only for the text it measured (`edits`: the text this approval would apply instead) on the playbook
    it measured, and only while the entries piloted with it are live or among `ops` (docs/pilot.md, "In
    review"). With `leave_out_held` the held entries are left out of the approval (`dream --auto-approve`),
    so entries piloted with them are held too; without it, all of `ops` go in together (approve --force)."""
    if not workspace_config(ws).approval.require_lift:
        return {}
    from dreamcli.playbooks.lift import current_state, last_lifts, lift_problem

    live, _ = read_live(ws, dream.proposal.playbook)
    gated: dict[str, str] = {}
    while True:
        approving = [o.entry_id for o in ops if o.entry_id not in gated]
        now = current_state(dream, live.entries() if live is not None else [], edits, approving=approving)
        lifts = last_lifts(dream.dir, now)
        found = {o.entry_id: why for o in ops if o.target == "playbook" and o.op != "counts"
                 and (why := lift_problem(lifts.get(o.entry_id))) is not None}
        if not leave_out_held:
            return found
        if found.keys() <= gated.keys():  # nothing new held: settled (the held set only grows, so it ends)
            return gated
        gated |= found


def _apply_and_commit(ws: Workspace, dream: Dream, ops: list[Operation], who: str, *,
                      refused: dict[str, str], force: bool = False,
                      evidence: dict[str, str] | None = None) -> tuple[ApplyResult, Commit | None]:
    prop = dream.proposal
    for attempt in range(COMMIT_ATTEMPTS):
        live, live_text = read_live(ws, prop.playbook)
        pb = live if live is not None else new_playbook(prop.playbook)
        base = None
        if live is not None and prop.base_version and prop.base_version != pb.version:
            base = load_version(ws, prop.playbook, prop.base_version)
        applied = apply_operations(pb, ops, base_version=prop.base_version, base=base, ws=ws,
                                   memory_store=prop.memory_store, refused=refused)
        check_memory(applied.memory)  # refuse before the playbook is written, not halfway
        check_memory_targets(applied.memory)
        commit = None
        intent = vetting_hook(ws, journal.begin(ws, "approve", who, dream_id=dream.dream_id, entry_ids=[
            o.entry_id for o in applied.outcomes if o.status == APPLIED], extra=evidence),
                              force=force)  # lints a hand edit taken in
        try:
            if applied.changed:
                commit = commit_playbook(ws, pb, expected_text=live_text, before_write=intent)
        except ConcurrentChange:
            if attempt == COMMIT_ATTEMPTS - 1:
                raise
            continue
        write_memory(applied.memory)
        return applied, commit
    raise AssertionError("unreachable")


def reject(ws: Workspace, dream_id: str, *, entry_ids: list[str] | None = None, all_: bool = False,
           reason: str, actor: str | None = None, wait: float | None = None) -> ReviewResult:
    """Record that the chosen operations will not be applied (with the reviewer's reason)."""
    who = current_actor(actor)
    if not (reason or "").strip():
        raise UsageError("say why with --reason TEXT (it goes into the audit trail)")
    # the reason reaches decisions.jsonl and the audit: no secrets, and only text they can hold
    reason, _ = redact_edit(ws, check_line(reason, "--reason"))
    with workspace_lock(ws, LOCK_NAME, wait=wait):
        dream, evidence = audit_evidence.load_decided(ws, dream_id)  # and the hash of what is decided on
        result = ReviewResult("reject", dream.dream_id, dream.proposal.playbook)
        records = []
        for op in _select(dream, entry_ids, all_):
            done = dream.decision(op.entry_id).action
            if done == "reject":
                result.skipped.append((op.entry_id, "already rejected"))
            elif done == "approve":
                if not all_:
                    raise UsageError(f"entry {op.entry_id} is already approved; to undo it: "
                                     f"dreamcli playbooks revert {dream.proposal.playbook} VERSION")
                result.skipped.append((op.entry_id, "approved"))
            else:
                text = dream.text_for(op)
                records.append(_decision("reject", op.entry_id, who, reason=reason, text_hash=content_hash(text)))
                result.outcomes.append(Outcome(op.entry_id, op.op, op.target, "rejected", reason, after=text))
        result.status = _record(ws, dream, records)
        if result.outcomes:
            result.audit = _audit_review(ws, "reject", who, dream, result, reason=reason, **evidence)
        return result


def edit(ws: Workspace, dream_id: str, entry_id: str, text: str, *, actor: str | None = None,
         wait: float | None = None) -> tuple[Outcome, list[LintFinding]]:
    """Change the text a pending operation will apply; returns the outcome and fresh lint findings."""
    who = current_actor(actor)
    new, redacted = redact_edit(ws, normalize_text(check_text(text, "--text")))
    if not new:
        raise UsageError("the edited text is empty")
    if (problem := entry_text_problem(new)) is not None:
        raise UsageError(f"cannot use this text for {entry_id}: {problem}")
    with workspace_lock(ws, LOCK_NAME, wait=wait):
        dream, evidence = audit_evidence.load_decided(ws, dream_id)  # and the hash of what is decided on
        op = dream.proposal.find(entry_id)
        if op is None:
            raise UsageError(f"dream {dream.dream_id} proposes no entry {entry_id}")
        if op.op not in TEXT_OPS:
            raise UsageError(f"entry {entry_id} is a {op.op} operation: it has no text to edit")
        action = dream.decision(entry_id).action
        if action is not None:
            raise UsageError(f"entry {entry_id} is already {past_tense(action)}; only pending "
                             "entries can be edited")
        before = dream.text_for(op)
        findings = lint_text(new, workspace_config(ws))
        if redacted:
            findings.append(LintFinding(severity="warn", rule="redacted",
                                        message="secrets in the text were replaced by [REDACTED:...] markers"))
        if dream.decision(entry_id).edited_text == new:  # a rerun (after exit 74): finish it, record nothing twice
            from dreamcli.playbooks.edit_rerun import finish_edit

            return Outcome(entry_id, op.op, op.target, "edited", before=finish_edit(ws, dream, op, who),
                           after=new), findings
        _record(ws, dream, [_decision("edit", entry_id, who, text=new, text_hash=content_hash(new))])
        append_audit(ws, "edit", actor=who, dream_id=dream.dream_id, playbook=dream.proposal.playbook,
                     entry_ids=[entry_id], hash_before=content_hash(before), hash_after=content_hash(new), **evidence)
        return Outcome(entry_id, op.op, op.target, "edited", before=before, after=new), findings


def _audit_review(ws: Workspace, action: str, who: str, dream: Dream, result: ReviewResult,
                  **extra: Any) -> dict[str, Any]:
    commit = result.commit
    entries = [{"entry_id": o.entry_id, "op": o.op, "target": o.target, "result": o.status,
                "hash_before": content_hash(o.before), "hash_after": content_hash(o.after)}
               for o in result.outcomes]
    fields: dict[str, Any] = {
        "dream_id": dream.dream_id, "playbook": dream.proposal.playbook,
        "entry_ids": [o.entry_id for o in result.outcomes if o.status in (APPLIED, ALREADY, "rejected")],
        "refused": [{"entry_id": o.entry_id, "reason": o.reason} for o in result.refused],
        "entries": entries, "dream_status": result.status,
    }
    if commit is not None:
        fields.update(version_before=commit.version_before, version_after=commit.version_after,
                      hash_before=commit.hash_before, hash_after=commit.hash_after)
        fields.update(record_fields(commit))  # hand_edited_before, hand_edit (dreamcli.playbooks.hand_edit_vet)
    else:  # no playbook changed: say what was live, under names that do not vouch for its content
        live, text = read_live(ws, dream.proposal.playbook)
        fields.update(live_version=live.version if live else None, live_hash=content_hash(text))
    fields.update({k: v for k, v in extra.items() if v})
    return append_audit(ws, action, actor=who, **fields)
