"""What pilots measured for a dream's entries, as review and approval read it (docs/pilot.md).

`dreamcli pilot` (dreamcli.pilot) appends one record per run to `dreams/<id>/pilot.json`:

    {"v": 1, "dream_id": "...", "runs": [{"pilot_id": ..., "entries": [...], "lift": {...},
                                          "per_entry": {"pb-...": {"lift": {...}}},
                                          "measured": {"entries": {...}, "others": {...}, ...}, ...}]}

The file is read by dreamcli.playbooks.pilot_file (the one reader); this module gives what approval
needs from it: `last_lifts(dream_dir, now)`, per entry id, the lift of the last run that piloted it.
An unreadable file, or a lift that is not finite numbers, reads as "no pilot" (never a pass).

The lift that counts for an entry is that of the entries piloted together, `--per-entry` runs too.
Leave-one-out (the candidate vs the candidate without the entry) says what an entry adds to the
others, not whether the change helps -- two entries that say one thing each add nothing to the other
-- so an entry's own leave-one-out lift (`EntryLift.own`) holds it only when it shows the entry hurts.

A lift counts only for what it measured. Each run records that (`measured_record`): the text of every
entry piloted together and the other entries of the proposal's playbook. Given `now`
(`current_state`: the entries as approve would apply them, and the live playbook), a run that measured
another text of one of its entries, or another version of the playbook's other entries (those this
dream does not change), is `stale`: the entry reads as not piloted, and says why. A run recorded
before pilots kept this counts only while none of its entries has been edited (their text is then the
proposal's, the only one a pilot could have measured); its playbook cannot be checked.

A joint lift counts for an entry only while the entries it was measured with go live with it: each is
already live (approved), or pending -- and, in an approval (`current_state(..., approving=...)`), among
the entries being approved. One that was rejected, reverted, or left out of the approval makes the run
stale for the others (`measured with pb-x, which was rejected`), and the entry's own leave-one-out lift,
when a `--per-entry` run measured it at 0 or less, is said with it: the lift was its partners'.

A lift over no scored pair (every trial unscored, or `--max-cost` stopped the run before a trial ended
in both arms; its interval is the uninformative -1..+1) measured nothing: it never passes the gate, and
it never hides what an earlier run did measure -- the last run that scored at least one pair counts,
and a run that scored none counts only while no run has (`lift_problem` then says why nothing was
scored: `no_pairs_why`). A stale run, likewise, counts only while no run matches.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dreamcli.audit import content_hash
from dreamcli.figures import bound_text, p_text, signed
from dreamcli.playbooks.model import normalize_text
from dreamcli.playbooks.pilot_file import PILOT_FILE, PILOT_SCHEMA_VERSION, parse_lift, read_runs

if TYPE_CHECKING:
    from dreamcli.playbooks.model import Entry, Playbook
    from dreamcli.playbooks.proposals import Dream, Operation

__all__ = ["PILOT_FILE", "PILOT_SCHEMA_VERSION", "EntryLift", "Now", "OwnLift", "current_state", "last_lifts",
           "lift_problem", "measured_record", "no_pairs_why", "text_hash"]

ALPHA = 0.05  # the pilot's significance level (dreamcli.pilot.stats.effect)


@dataclass(frozen=True)
class OwnLift:
    """An entry's leave-one-out lift in a `--per-entry` run: the candidate vs the candidate without it."""

    delta: float
    ci95: tuple[float, float]
    p_value: float | None
    pairs: int

    @property
    def hurts(self) -> bool:
        """The others did significantly better without the entry: the interval is below 0 and the exact
        test gives p < 0.05 (the pilot table's `hurts`, dreamcli.pilot.stats.effect)."""
        return self.pairs > 0 and self.ci95[1] < 0 and self.p_value is not None and self.p_value < ALPHA

    def to_json(self) -> dict[str, Any]:
        return {"delta": self.delta, "ci95": list(self.ci95), "p_value": self.p_value, "pairs": self.pairs}


@dataclass(frozen=True)
class EntryLift:
    entry_id: str
    pilot_id: str
    delta: float  # the lift of the entries piloted together (alone: the entry's own)
    ci95: tuple[float, float]
    p_value: float | None
    pairs: int
    together_with: int  # how many entries were piloted together (1: alone)
    ts: str | None = None
    no_pairs: str | None = None  # pairs == 0: why the run scored none ("6 trials unscored: model errors")
    own: OwnLift | None = None  # its leave-one-out lift (a --per-entry run whose arm scored pairs)
    stale: str | None = None  # why the run does not count for the entry as it stands ("measured an earlier text")

    @property
    def leave_one_out(self) -> bool:
        return self.own is not None

    def to_json(self) -> dict[str, Any]:
        return {"pilot_id": self.pilot_id, "delta": self.delta, "ci95": list(self.ci95), "p_value": self.p_value,
                "pairs": self.pairs, "together_with": self.together_with, "ts": self.ts, "no_pairs": self.no_pairs,
                "leave_one_out_lift": self.own.to_json() if self.own is not None else None, "stale": self.stale}


# --- what a run measured, and whether that is the entry as it stands ---------------------------

def text_hash(text: str | None) -> str | None:
    """The hash a pilot records of an entry's text, as applied (normalised); None: no text (a retire)."""
    return None if text is None else content_hash(normalize_text(text))


def _entry_key(entry: Entry) -> str:
    """A short hash of an entry's section and text: what of it reaches the prompt."""
    return hashlib.sha256(f"{entry.section or ''}\n{entry.text}".encode()).hexdigest()[:16]


def measured_record(candidate: Playbook, entry_ids: Iterable[str], base_version: int) -> dict[str, Any]:
    """What a pilot run measured (its result's `measured`): the candidate playbook's piloted entries
    (id -> `text_hash`; None when the candidate has no such entry: retired) and its other entries
    (id -> a short hash of section and text), built on live version `base_version`."""
    ids = list(dict.fromkeys(entry_ids))
    placed = {e.id: e for e in candidate.entries()}
    return {"playbook": candidate.name, "base_version": base_version,
            "entries": {i: text_hash(placed[i].text) if i in placed else None for i in ids},
            "others": {i: _entry_key(e) for i, e in placed.items() if i not in ids}}


@dataclass(frozen=True)
class Now:
    """A dream's entries and its playbook as they stand, to match runs against (`current_state`)."""

    playbook: str
    texts: dict[str, str | None]  # the dream's playbook entries: id -> text_hash of what approve would apply
    edited: frozenset[str]  # those a reviewer edited
    changed: frozenset[str]  # ids whose text the dream changes: its entries and the entries they merge
    others: dict[str, str]  # the live playbook's other entries: id -> short hash
    out: dict[str, str] = field(default_factory=dict)  # the dream's entries that will not go live: id -> why


def _left_out(dream: Dream, ops: list[Operation], live_ids: set[str], approving: set[str] | None) -> dict[str, str]:
    """The dream's entries that will not be in the playbook an approval makes: id -> `which ...` words."""
    out = {}
    for o in ops:
        action = dream.decision(o.entry_id).action
        if action == "reject":
            out[o.entry_id] = "was rejected"
        elif action == "approve" and (o.entry_id in live_ids) == (o.op == "retire"):
            out[o.entry_id] = "was approved, then reverted"
        elif action is None and approving is not None and o.entry_id not in approving:
            out[o.entry_id] = "this approval leaves out"
    return out


def current_state(dream: Dream, live: Iterable[Entry], edits: dict[str, str] | None = None,
                  approving: Iterable[str] | None = None) -> Now:
    """`Now` for `dream`, with `live` the entries of the live playbook (none when it does not exist),
    `edits` the texts an approval is about to apply instead of the dream's (`approve --edit-text`), and
    `approving` the entries that approval applies (None: no approval, as `playbooks diff` reads it)."""
    edits = edits or {}
    live = list(live)
    ops = [o for o in dream.proposal.operations if o.target == "playbook" and o.op != "counts"]
    changed = frozenset({o.entry_id for o in ops} | {m for o in ops for m in o.merged_ids})
    texts = {o.entry_id: None if o.op == "retire" else text_hash(edits.get(o.entry_id, dream.text_for(o)))
             for o in ops}
    edited = {o.entry_id for o in ops if o.entry_id in edits or dream.decision(o.entry_id).edited_text is not None}
    return Now(playbook=dream.proposal.playbook, texts=texts, edited=frozenset(edited), changed=changed,
               others={e.id: _entry_key(e) for e in live if e.id not in changed},
               out=_left_out(dream, ops, {e.id for e in live}, None if approving is None else set(approving)))


def _partner_out(entry: str, entries: list[str], now: Now, own: OwnLift | None) -> str | None:
    """Why a joint lift is not `entry`'s: a partner will not go live with it (and what it added itself)."""
    gone = [e for e in entries if e != entry and e in now.out]
    if not gone:
        return None
    alone = (f" (its own leave-one-out lift was {signed(own.delta)}, 95% CI {_ci(own.ci95)}, "
             f"{own.pairs} pairs)") if own is not None and own.delta <= 0 else ""
    return f"measured with {gone[0]}, which {now.out[gone[0]]}{alone}"


def _stale(run: dict[str, Any], entry: str, entries: list[str], now: Now, own: OwnLift | None = None) -> str | None:
    """Why `run` (which piloted `entries` together) does not count for `entry` as it stands; None: it does.
    What it measured is checked first (texts, playbook), then whether its partners go live with it."""
    return _measured_stale(run, entry, entries, now) or _partner_out(entry, entries, now, own)


def _measured_stale(run: dict[str, Any], entry: str, entries: list[str], now: Now) -> str | None:
    """Why `run` measured other texts or another playbook than `entry` as it stands; None: the same."""
    measured = run.get("measured")
    if not isinstance(measured, dict):  # recorded before pilots kept what they measured
        edited = [e for e in entries if e in now.edited]
        if not edited:
            return None
        return f"did not record the text it measured, and {edited[0]} was edited since it was proposed"
    texts = measured.get("entries")
    texts = texts if isinstance(texts, dict) else {}
    other = [e for e in entries if e not in texts or e not in now.texts or texts[e] != now.texts[e]]
    if entry in other:
        return "measured an earlier text"
    if other:
        return f"measured an earlier text of {other[0]} (piloted together)"
    then = measured.get("others")
    if not isinstance(then, dict):
        return "did not record the playbook it measured on"
    then = {k: v for k, v in then.items() if k not in now.changed}
    moved = sorted(k for k in then.keys() | now.others.keys() if then.get(k) != now.others.get(k))
    if moved:
        more = f" and {len(moved) - 2} more" if len(moved) > 2 else ""
        return (f"measured on an earlier version of playbook {now.playbook} "
                f"({', '.join(moved[:2])}{more} changed since)")
    return None


def _lift(raw: Any) -> tuple[float, tuple[float, float], float | None, int | None] | None:
    """(delta, ci95, p_value, pairs) of a `lift` object whose delta and CI are finite numbers, else None
    (pairs None: no count of 0 or more recorded)."""
    lift = parse_lift(raw) if isinstance(raw, dict) and "delta" in raw else None
    if lift is None or lift["lo"] is None or lift["hi"] is None:
        return None
    pairs = raw.get("pairs")
    pairs = pairs if isinstance(pairs, int) and not isinstance(pairs, bool) and pairs >= 0 else None
    return lift["delta"], (lift["lo"], lift["hi"]), lift["p_value"], pairs


_NO_COUNT = "its record has no pair count"  # a hand-made or damaged file: never a pass


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def no_pairs_why(run: dict[str, Any]) -> str:
    """Why a pilot run (its result object, docs/pilot.md "Output") scored no pair, in a few words:
    `6 trials unscored: model errors`, `stopped before a trial ended in both arms: the budget ...`."""
    unscored = _count(run.get("unscored"))
    raw = run.get("unscored_reasons")
    reasons = {k: n for k, v in raw.items() if isinstance(k, str) and (n := _count(v))} if isinstance(raw, dict) else {}
    if unscored:
        if len(reasons) == 1:
            what = f": {next(iter(reasons))}{'s' if unscored != 1 else ''}"
        elif reasons:
            what = ": " + ", ".join(f"{n} {k}{'s' if n != 1 else ''}" for k, n in sorted(reasons.items()))
        else:
            what = " (grader or model errors)"
        return f"{unscored} trial{'s' if unscored != 1 else ''} unscored{what}"
    reason = run.get("stop_reason")
    if run.get("status") == "stopped":
        return "stopped before a trial ended in both arms" + (f": {reason}" if isinstance(reason, str) else "")
    return "no trial ended scored in both arms"


def _rank(lift: EntryLift) -> tuple[bool, bool]:
    return lift.stale is None, lift.no_pairs is None


def _better(new: EntryLift, old: EntryLift | None) -> bool:
    """A later run replaces the earlier one, unless the earlier one matches the entry as it stands and
    the later one does not, or (both matching or both not) it scored no pair and the earlier one did."""
    return old is None or _rank(new) >= _rank(old)


def _own(raw: Any) -> OwnLift | None:
    """A leave-one-out lift that scored pairs (one that scored none, or has no count, says nothing)."""
    lift = _lift(raw)
    if lift is None or not lift[3]:
        return None
    return OwnLift(delta=lift[0], ci95=lift[1], p_value=lift[2], pairs=lift[3])


def last_lifts(dream_dir: Path, now: Now | None = None) -> dict[str, EntryLift]:
    """Entry id -> the lift that counts for it (see the module docstring). With `now`, a run that does not
    match the entry as it stands is `stale` (and counts only while no run matches); without it, every run
    is taken as it is recorded."""
    out: dict[str, EntryLift] = {}
    for run in read_runs(Path(dream_dir) / PILOT_FILE):
        if not isinstance(run, dict):
            continue
        listed = run.get("entries")
        entries = list(dict.fromkeys(e for e in listed if isinstance(e, str))) if isinstance(listed, list) else []
        joint = _lift(run.get("lift"))
        if joint is None:
            continue
        delta, ci, p, pairs = joint
        per = run.get("per_entry")
        per = per if isinstance(per, dict) else {}
        for entry in entries:
            item = per.get(entry)
            own = _own(item.get("lift")) if isinstance(item, dict) else None
            found = EntryLift(entry_id=entry, pilot_id=str(run.get("pilot_id") or ""), delta=delta, ci95=ci,
                              p_value=p, pairs=pairs or 0, together_with=len(entries),
                              ts=run["ts"] if isinstance(run.get("ts"), str) else None,
                              no_pairs=None if pairs else no_pairs_why(run) if pairs == 0 else _NO_COUNT,
                              own=own, stale=_stale(run, entry, entries, now, own) if now is not None else None)
            if _better(found, out.get(entry)):
                out[entry] = found
    return out


def lift_problem(lift: EntryLift | None) -> str | None:
    """Why `approval.require_lift` refuses an entry (None: the last pilot that scored a pair for it, as
    it stands, measured a lift whose CI upper bound is above 0, and its own leave-one-out lift, if
    measured, does not show that it hurts)."""
    if lift is None:
        return "it has never been piloted"
    if lift.stale is not None:
        return f"it has not been piloted as it stands: its pilot ({lift.pilot_id}) {lift.stale}"
    if lift.pairs == 0 or lift.no_pairs is not None:
        why = lift.no_pairs or no_pairs_why({})
        return f"its pilot ({lift.pilot_id}) scored no pairs ({why}), so it measured nothing"
    if lift.ci95[1] <= 0:
        return (f"its last pilot ({lift.pilot_id}) measured a lift of {signed(lift.delta)} with a 95% CI of "
                f"{_ci(lift.ci95)}, whose upper bound is not above 0")
    own = lift.own
    if own is not None and own.hurts:
        p = f", p {p_text(own.p_value)}" if own.p_value is not None else ""
        return (f"its own leave-one-out lift in pilot {lift.pilot_id} is {signed(own.delta)} (95% CI "
                f"{_ci(own.ci95)}{p}): the other entries did better without it")
    return None


def _ci(ci: tuple[float, float]) -> str:
    """`+0.01..+0.08`, each bound as every output writes it (a bound that is not 0 never reads 0.00)."""
    return f"{bound_text(ci[0])}..{bound_text(ci[1])}"
