"""`playbooks edit` run again with the text the entry already has: the rerun an error asked for.

An edit writes the decision (`dreams/<id>/decisions.jsonl`), then the audit record. When a write after
the decision fails (a full disk: exit 74, "run the command again; nothing written before is lost"), the
entry already has the new text; the rerun then writes only what is missing, the audit record when the
trail has none for this text, and never a second decision or a second record.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from dreamcli.audit import append_audit, content_hash, iter_audit
from dreamcli.playbooks.audit_evidence import proposal_hash
from dreamcli.workspace.home import Workspace

if TYPE_CHECKING:
    from dreamcli.playbooks.proposal_model import Operation
    from dreamcli.playbooks.proposals import Dream


def finish_edit(ws: Workspace, dream: Dream, op: Operation, who: str) -> str | None:
    """Append the audit record of `op`'s last recorded edit when the trail's last edit record of this
    entry is not for that text; returns the text the entry had before that edit."""
    text = dream.text_for(op)
    before = _before_last_edit(dream, op)
    digest = content_hash(text)
    last = None
    for rec in iter_audit(ws):
        if rec.get("action") == "edit" and rec.get("dream_id") == dream.dream_id \
                and rec.get("entry_ids") == [op.entry_id]:
            last = rec
    if last is None or last.get("hash_after") != digest:
        append_audit(ws, "edit", actor=who, dream_id=dream.dream_id, playbook=dream.proposal.playbook,
                     entry_ids=[op.entry_id], hash_before=content_hash(before), hash_after=digest,
                     proposal_hash=proposal_hash(dream.dir))
    return before


def _before_last_edit(dream: Dream, op: Operation) -> str | None:
    """The entry's text before its last recorded edit: the edit before it, else the proposed text (read
    as `proposals.fold_decision` reads edits: an edit with empty text does not count)."""
    texts = [op.text]
    try:
        lines = dream.decisions_path.read_bytes().splitlines()
    except FileNotFoundError:
        lines = []
    for raw in lines:
        try:
            rec = json.loads(raw)
        except (ValueError, RecursionError):
            continue  # a torn line, skipped as read_decisions skips it
        if isinstance(rec, dict) and rec.get("entry_id") == op.entry_id and rec.get("action") == "edit" \
                and isinstance(rec.get("text"), str) and rec["text"].strip():
            texts.append(rec["text"])
    return texts[-2] if len(texts) > 1 else op.text
