"""What pilots measured for a dream's entries, as review and approval read it (docs/pilot.md).

`dreamcli pilot` (dreamcli.pilot) appends one record per run to `dreams/<id>/pilot.json`:

    {"v": 1, "dream_id": "...", "runs": [{"pilot_id": ..., "entries": [...], "lift": {...},
                                          "per_entry": {"pb-...": {"lift": {...}}}, ...}]}

The file is read by dreamcli.playbooks.pilot_file (the one reader); this module gives what approval
needs from it: `last_lifts(dream_dir)`, per entry id, the lift of the last run that piloted it -- the
entry's own leave-one-out lift when that run was `--per-entry`, else the lift of the entries piloted
together. An unreadable file, or a lift that is not finite numbers, reads as "no pilot" (never a pass).

A lift over no scored pair (every trial unscored, or `--max-cost` stopped the run before a trial ended
in both arms; its interval is the uninformative -1..+1) measured nothing: it never passes the gate, and
it never hides what an earlier run did measure -- the last run that scored at least one pair counts,
and a run that scored none counts only while no run has (`lift_problem` then says why nothing was
scored: `no_pairs_why`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dreamcli.playbooks.pilot_file import PILOT_FILE, PILOT_SCHEMA_VERSION, parse_lift, read_runs

__all__ = ["PILOT_FILE", "PILOT_SCHEMA_VERSION", "EntryLift", "last_lifts", "lift_problem", "no_pairs_why"]


@dataclass(frozen=True)
class EntryLift:
    entry_id: str
    pilot_id: str
    delta: float
    ci95: tuple[float, float]
    p_value: float | None
    pairs: int
    together_with: int  # how many entries were piloted with it (1: alone or leave-one-out)
    leave_one_out: bool
    ts: str | None = None
    no_pairs: str | None = None  # pairs == 0: why the run scored none ("6 trials unscored: model errors")

    def to_json(self) -> dict[str, Any]:
        return {"pilot_id": self.pilot_id, "delta": self.delta, "ci95": list(self.ci95), "p_value": self.p_value,
                "pairs": self.pairs, "together_with": self.together_with, "leave_one_out": self.leave_one_out,
                "ts": self.ts, "no_pairs": self.no_pairs}


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


def _better(new: EntryLift, old: EntryLift | None) -> bool:
    """A later run replaces the earlier one, unless it scored no pair and the earlier one did."""
    return old is None or new.no_pairs is None or old.no_pairs is not None


def last_lifts(dream_dir: Path) -> dict[str, EntryLift]:
    """Entry id -> the lift its last pilot measured (see the module docstring)."""
    out: dict[str, EntryLift] = {}
    for run in read_runs(Path(dream_dir) / PILOT_FILE):
        if not isinstance(run, dict):
            continue
        listed = run.get("entries")
        entries = [e for e in listed if isinstance(e, str)] if isinstance(listed, list) else []
        joint = _lift(run.get("lift"))
        per = run.get("per_entry")
        per = per if isinstance(per, dict) else {}
        for entry in entries:
            item = per.get(entry)
            own = _lift(item.get("lift")) if isinstance(item, dict) else None
            if own is not None and own[3] == 0 and joint is not None and (joint[3] or 0) > 0:
                own = None  # its own arm scored nothing: the entries together were still measured
            chosen = own or joint
            if chosen is None:
                continue
            delta, ci, p, pairs = chosen
            found = EntryLift(entry_id=entry, pilot_id=str(run.get("pilot_id") or ""), delta=delta, ci95=ci,
                              p_value=p, pairs=pairs or 0, together_with=1 if own else len(entries),
                              leave_one_out=own is not None, ts=run["ts"] if isinstance(run.get("ts"), str) else None,
                              no_pairs=None if pairs else no_pairs_why(run) if pairs == 0 else _NO_COUNT)
            if _better(found, out.get(entry)):
                out[entry] = found
    return out


def lift_problem(lift: EntryLift | None) -> str | None:
    """Why `approval.require_lift` refuses an entry (None: the last pilot that scored a pair for it
    measured a lift whose CI upper bound is above 0)."""
    if lift is None:
        return "it has never been piloted"
    if lift.pairs == 0 or lift.no_pairs is not None:
        why = lift.no_pairs or no_pairs_why({})
        return f"its pilot ({lift.pilot_id}) scored no pairs ({why}), so it measured nothing"
    if lift.ci95[1] <= 0:
        return (f"its last pilot ({lift.pilot_id}) measured a lift of {lift.delta:+.2f} with a 95% CI of "
                f"{lift.ci95[0]:+.2f}..{lift.ci95[1]:+.2f}, whose upper bound is not above 0")
    return None
