"""Curation: turn ranked candidates (with their entry text) into playbook operations against the
current playbook.

- A candidate already in the playbook (an entry a past dream minted for it, or an entry that says
  the same thing) gets a `counts` operation (new sources, last seen) instead of a duplicate `add`;
  one whose entry is still undecided (in a pending or partly reviewed dream) is not proposed again;
  one whose entry was rejected comes back only when its support has doubled.
- helpful/harmful: graded episodes that had an entry in context (session.start `playbooks[].entry_ids`)
  count as helpful when satisfied, harmful otherwise; entries that keep hurting (harmful >= 3 and at
  least twice helpful) are proposed for retirement.
- Near-duplicate live entries are proposed for a merge.
- The token budget (config.dream.token_budget, default 2000) is enforced: the lowest-ranked additions
  are dropped until the playbook as it would be after approval fits.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dreamcli.dream.aggregates import Aggregates
from dreamcli.dream.candidates import Candidate
from dreamcli.dream.templates import REASONS, offline_text
from dreamcli.ids import short_id, ulid_time_ms
from dreamcli.playbooks.duplicates import text_key
from dreamcli.playbooks.format import token_estimate
from dreamcli.playbooks.proposal_model import EntryMetadata, Evidence, Operation, Support
from dreamcli.playbooks.proposals import read_decisions
from dreamcli.words import jaccard, overlap, stems
from dreamcli.workspace.home import Workspace

MAX_EVIDENCE = 4  # evidence per operation: three sessions' lines, and the fix's line for a workaround
SAME_ENTRY = 0.6  # stem overlap at which a candidate says what an existing entry says
MERGE_SIMILARITY = 0.7
RETIRE_MIN_HARMFUL = 3
STALE_DAYS = 60  # a live entry not seen again this long before the newest session read stopped recurring
STALE_MIN_SESSIONS = 10  # ... when the dream read at least this many sessions (else there is no telling)


@dataclass
class Curated:
    operations: list[Operation] = field(default_factory=list)
    dropped: list[dict[str, Any]] = field(default_factory=list)  # candidates left out: why, and a `reason` code
    tokens_before: int = 0
    tokens_after: int = 0


def day(value: str | None) -> str | None:
    return value[:10] if value else None


def _id_day(session_id: str) -> str | None:
    from datetime import UTC, datetime

    try:
        return datetime.fromtimestamp(ulid_time_ms(session_id) / 1000, UTC).strftime("%Y-%m-%d")
    except (ValueError, OverflowError, OSError):
        return None


def _metadata(c: Candidate, helpful: int = 0, harmful: int = 0) -> EntryMetadata:
    first, last = day(c.first_seen), day(c.last_seen)
    if (first is None or last is None) and c.sources:
        days = sorted(d for d in (_id_day(s) for s in c.sources) if d)
        first, last = first or (days[0] if days else None), last or (days[-1] if days else None)
    return EntryMetadata(helpful=helpful, harmful=harmful, sources=c.sources[:20], first_seen=first, last_seen=last)


def candidate_op(c: Candidate, text: str, *, op: str = "add", entry_id: str | None = None,
                 old_text: str | None = None, section: str | None = None, reason: str | None = None,
                 helpful: int = 0, harmful: int = 0, merged_ids: list[str] | None = None) -> Operation:
    return Operation(entry_id=entry_id or short_id("pb-"), target="playbook", op=op, section=section or c.section,
                     text=text or None, old_text=old_text, merged_ids=merged_ids or [],
                     reason=reason or REASONS[c.kind], kind=c.kind, signature=c.key,
                     support=Support(sessions=c.support, successes=c.successes, total_sessions=c.total),
                     impact=round(c.impact, 3), metadata=_metadata(c, helpful, harmful),
                     evidence=[Evidence.model_validate(e) for e in c.evidence[:MAX_EVIDENCE]], taint=list(c.taint))


def dream_status(ws: Workspace, dream_id: str | None) -> str | None:
    if not dream_id:
        return None
    try:
        return json.loads((ws.dreams_dir / dream_id / "dream.json").read_text()).get("status")
    except (OSError, ValueError, AttributeError, RecursionError):
        return None


_FINAL = {"approved": "approve", "rejected": "reject"}  # a dream's status that decides every entry of it


def entry_review(ws: Workspace, dream_id: str | None, entry_id: str | None) -> str | None:
    """The review of one proposed entry: `approve` or `reject` (its decision in the dream's
    decisions.jsonl, else the dream's final status), `pending` while undecided in a dream still open for
    review (pending or partially approved), None when the dream is superseded or unknown. A dream whose
    folder is gone (deleted by hand) answers what the audit trail recorded of the entry, else `undecided`."""
    if not dream_id or not entry_id:
        return None
    if not (ws.dreams_dir / dream_id / "proposal.json").is_file():
        from dreamcli.dream.reviews import audited_review

        return audited_review(ws, dream_id, entry_id) or "undecided"
    status = dream_status(ws, dream_id)
    if status == "superseded":
        return None
    decision = read_decisions(ws.dreams_dir / dream_id / "decisions.jsonl").get(entry_id)
    if decision is not None and decision.action is not None:
        return decision.action
    return _FINAL.get(status or "", "pending")


def prior_state(ws: Workspace, c: Candidate, agg: Aggregates, live: dict[str, Any] | set[str]
                ) -> tuple[str | None, dict[str, Any]]:
    """What happened to this candidate's earlier proposal: `live` (its entry is in the playbook),
    `pending` (its own entry still undecided, even in a partly reviewed dream), `hold` (rejected, or
    approved and gone since; back when its support has doubled), or None (never proposed, or proposed by a
    dream deleted before anyone decided it: proposed again)."""
    prior = next((agg.proposed[k] for k in c.pattern_keys if k in agg.proposed), None)
    if not prior:
        return None, {}
    if prior.get("entry_id") in live:
        return "live", prior
    review = entry_review(ws, prior.get("dream_id"), prior.get("entry_id"))
    if review == "pending":
        return "pending", prior
    if review == "undecided":  # no rejection on record: not "rejected before"
        return None, prior
    if c.support < 2 * int(prior.get("support") or 0):
        return "hold", prior
    return None, prior


def curate(ws: Workspace, playbook: Any, candidates: list[Candidate], texts: dict[str, str], agg: Aggregates,
           *, token_budget: int, extra_ops: list[Operation] | None = None, name: str = "default",
           latest: str | None = None, sessions_read: int = 0,
           add_fields: dict[str, dict[str, str]] | None = None) -> Curated:
    """Operations for the candidates (already ranked and limited) plus entry bookkeeping. `add_fields`:
    per candidate key, the `section` and `reason` the dreamer model gave its add (checked), else the template's."""
    from dreamcli.playbooks.lint import injection_findings

    out = Curated()
    extra_ops = [op for op in extra_ops or [] if not (op.text and injection_findings(op.text))]
    entries = {e.id: e for e in playbook.entries()} if playbook is not None else {}
    entry_words = {eid: stems(e.text) for eid, e in entries.items()}
    counts: dict[str, Operation] = {}
    touched_ids = {op.entry_id for op in extra_ops or []} | {m for op in extra_ops or [] for m in op.merged_ids}
    for c in candidates:
        text = texts.get(c.key)
        if not text:
            continue
        if injection_findings(text):
            out.dropped.append({"key": c.key, "why": "its text reads like an injected command; never proposed",
                                "reason": "injection"})
            continue
        if c.facts.get("conflict"):  # opposite corrections: reported, never an entry (nor a count)
            out.dropped.append({"key": c.key, "why": offline_text(c), "reason": "conflicting"})
            continue
        state, prior = prior_state(ws, c, agg, entries)
        if state == "live":
            _bump(counts, entries[prior["entry_id"]], c)
            continue
        if state == "pending":
            out.dropped.append({"key": c.key, "why": f"awaiting review in dream {prior.get('dream_id')}",
                                "reason": "awaiting_review"})
            continue
        if state == "hold":
            out.dropped.append({"key": c.key, "why": "proposed before and not approved; waiting for more support",
                                "reason": "rejected_before"})
            continue
        words = stems(text)
        same = max(entries, key=lambda eid: overlap(words, entry_words[eid]), default=None)
        if same is not None and overlap(words, entry_words[same]) >= SAME_ENTRY:
            _bump(counts, entries[same], c)
            continue
        model = (add_fields or {}).get(c.key, {})
        out.operations.append(candidate_op(c, text, section=model.get("section"), reason=model.get("reason")))
    _entry_use(agg, entries, counts)
    for eid, op in counts.items():
        if eid in touched_ids:
            continue
        meta = op.metadata
        if meta.harmful >= RETIRE_MIN_HARMFUL and meta.harmful >= 2 * meta.helpful:
            op.op, op.kind, op.text, op.old_text = "retire", "harmful", None, entries[eid].text
            op.reason = (f"contradicted by outcomes: in context in {meta.harmful} graded runs that failed vs "
                         f"{meta.helpful} that passed")
        out.operations.append(op)
    out.operations.extend(_merges(entries, agg, touched_ids | set(counts)))
    busy = touched_ids | set(counts) | {m for op in out.operations for m in [op.entry_id, *op.merged_ids]}
    out.operations.extend(stale_retirements(entries, agg, busy, latest, sessions_read))
    out.operations.extend(extra_ops or [])
    _enforce_budget(playbook, out, token_budget, name)
    return out


def _counts_op(entry: Any) -> Operation:
    return Operation(entry_id=entry.id, target="playbook", op="counts", section=entry.section, text=entry.text,
                     old_text=entry.text, reason="new evidence for an existing entry", kind="counts",
                     support=Support(sessions=0), impact=0.0,
                     metadata=EntryMetadata(helpful=entry.helpful, harmful=entry.harmful,
                                            sources=list(entry.sources), first_seen=entry.first_seen,
                                            last_seen=entry.last_seen))


def _bump(counts: dict[str, Operation], entry: Any, c: Candidate) -> None:
    op = counts.setdefault(entry.id, _counts_op(entry))
    meta = op.metadata
    new = [s for s in c.sources if s not in meta.sources]
    meta.sources = (new + meta.sources)[:20]
    last = day(c.last_seen)
    if last and (meta.last_seen is None or last > meta.last_seen):
        meta.last_seen = last
    op.support.sessions = max(op.support.sessions, c.support)
    op.signature = op.signature or c.key
    op.evidence = (op.evidence + [Evidence.model_validate(e) for e in c.evidence])[:3]


def _entry_use(agg: Aggregates, entries: dict[str, Any], counts: dict[str, Operation]) -> None:
    for eid, use in agg.entry_use.items():
        entry = entries.get(eid)
        new_helpful, new_harmful = len(use.get("new_helpful", [])), len(use.get("new_harmful", []))
        if entry is None or not (new_helpful or new_harmful):
            continue
        op = counts.setdefault(eid, _counts_op(entry))
        op.metadata.helpful += new_helpful
        op.metadata.harmful += new_harmful
        op.reason = (f"in context in {new_helpful + new_harmful} newly graded runs "
                        f"({new_helpful} passed, {new_harmful} failed)")


def _merges(entries: dict[str, Any], agg: Aggregates, busy: set[str]) -> list[Operation]:
    ops = []
    items = [e for e in entries.values() if e.id not in busy]
    words = {e.id: stems(e.text) for e in items}
    merged: set[str] = set()
    for i, a in enumerate(items):
        if a.id in merged:
            continue
        dups = [b for b in items[i + 1:]
                if b.id not in merged and jaccard(words[a.id], words[b.id]) >= MERGE_SIMILARITY]
        if not dups:
            continue
        key = "merge|" + "|".join(sorted([a.id] + [b.id for b in dups]))
        if key in agg.proposed:
            continue
        merged.update(b.id for b in dups)
        group = [a, *dups]
        keep_text = max(group, key=lambda e: (e.helpful - e.harmful, len(e.text))).text
        sources = [s for e in group for s in e.sources][:20]
        ops.append(Operation(
            entry_id=a.id, target="playbook", op="merge", section=a.section, text=keep_text, old_text=a.text,
            merged_ids=[b.id for b in dups], reason="near-duplicate entries", kind="duplicate", signature=key,
            support=Support(sessions=len(set(sources))), impact=0.0,
            metadata=EntryMetadata(helpful=sum(e.helpful for e in group), harmful=sum(e.harmful for e in group),
                                   sources=sources,
                                   first_seen=min((e.first_seen for e in group if e.first_seen), default=None),
                                   last_seen=max((e.last_seen for e in group if e.last_seen), default=None))))
    return ops


def stale_retirements(entries: dict[str, Any], agg: Aggregates, busy: set[str], latest: str | None,
                      sessions_read: int) -> list[Operation]:
    """Live entries whose pattern stopped recurring: last seen over STALE_DAYS before the newest
    session read, by a dream that read enough sessions to tell. A proposal with its evidence."""
    if not latest or sessions_read < STALE_MIN_SESSIONS:
        return []
    from datetime import date

    try:
        newest = date.fromisoformat(latest[:10])
    except ValueError:
        return []
    ops = []
    for e in entries.values():
        if e.id in busy or not e.last_seen or f"stale|{e.id}" in agg.proposed:
            continue
        try:
            days = (newest - date.fromisoformat(str(e.last_seen)[:10])).days
        except ValueError:
            continue
        if days < STALE_DAYS:
            continue
        evidence = [Evidence(session_id=s, excerpt=f"last seen here ({e.last_seen}): {e.text[:100]}")
                    for s in list(e.sources)[:2]]
        ops.append(Operation(
            entry_id=e.id, target="playbook", op="retire", section=e.section, text=None, old_text=e.text,
            reason=f"stopped recurring: last seen {e.last_seen}, {days} days before the newest of the "
                   f"{sessions_read} sessions this dream read, none of which showed it",
            kind="stale", signature=f"stale|{e.id}", support=Support(sessions=len(e.sources)), impact=0.0,
            metadata=EntryMetadata(helpful=e.helpful, harmful=e.harmful, sources=list(e.sources),
                                   first_seen=e.first_seen, last_seen=e.last_seen), evidence=evidence))
    return ops


def tokens_after(playbook: Any, operations: list[Operation], name: str) -> int:
    """The playbook's token estimate once `operations` are applied (conflicts ignored)."""
    from dreamcli.playbooks import new_playbook
    from dreamcli.playbooks.apply import apply_operations

    pb = playbook.copy() if playbook is not None else new_playbook(name)
    apply_operations(pb, [op for op in operations if op.target == "playbook"])
    return token_estimate(pb)


def _add_score(op: Operation) -> float:
    return op.support.sessions * (0.5 + (op.impact or 0))


def _independent(adds: list[Operation], operations: list[Operation]) -> bool:
    """Whether each add stands alone: no other operation names its id or says its text (whitespace and
    case ignored, as `apply` compares). Then dropping an add only takes its entry out of the playbook,
    so the token estimate never grows as more adds are dropped, and a bisection finds what the
    one-by-one loop finds."""
    ids = {op.entry_id for op in adds}
    keys = {text_key(op.text) for op in adds}
    if len(ids) < len(adds) or len(keys) < len(adds):
        return False
    mine = {id(op) for op in adds}
    for op in operations:
        if id(op) in mine:
            continue
        if op.entry_id in ids or ids.intersection(op.merged_ids):
            return False
        if ({text_key(op.text), text_key(op.old_text)} - {""}) & keys:
            return False
    return True


def _fewest_drops(tokens: Callable[[int], int], n: int, budget: int, *, bisect: bool) -> tuple[int, int]:
    """The fewest of the `n` worst adds to drop for `tokens(k)` to fit `budget` (all `n` when nothing
    fits), with `tokens` of it. Bisection when tokens never grow with k (log n renders, not k + 1)."""
    seen = {0: tokens(0)}
    if seen[0] <= budget or n == 0:
        return 0, seen[0]
    if not bisect:
        k = 0
        while seen[k] > budget and k < n:
            k += 1
            seen[k] = tokens(k)
        return k, seen[k]
    lo, hi = 0, n  # tokens(lo) is over the budget; hi fits, or is n (every add dropped: the loop's end)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        seen[mid] = tokens(mid)
        if seen[mid] <= budget:
            hi = mid
        else:
            lo = mid
    if hi not in seen:
        seen[hi] = tokens(hi)
    return hi, seen[hi]


def _enforce_budget(playbook: Any, out: Curated, budget: int, name: str) -> None:
    """Drop the lowest-scoring adds (the earlier one on a tie) until the playbook fits the budget.
    Taking the `min` again and again drops them in a stable sort's order, so only how many to drop is
    searched; each try re-applies every operation to a copy of the playbook."""
    out.tokens_before = token_estimate(playbook) if playbook is not None else 0
    ops = list(out.operations)
    worst = sorted((op for op in ops if op.op == "add" and op.target == "playbook"), key=_add_score)

    def without(k: int) -> list[Operation]:
        gone = {id(op) for op in worst[:k]}
        return [op for op in ops if id(op) not in gone]

    k, out.tokens_after = _fewest_drops(lambda k: tokens_after(playbook, without(k), name), len(worst), budget,
                                        bisect=_independent(worst, ops))
    out.operations[:] = without(k)
    out.dropped.extend({"key": op.signature, "why": f"over the token budget ({budget} tokens)", "text": op.text,
                        "reason": "over_budget"} for op in worst[:k])
