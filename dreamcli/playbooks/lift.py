"""What pilots measured for a dream's entries, as review and approval read it (docs/pilot.md).

`dreamcli pilot` (dreamcli.pilot) appends one record per run to `dreams/<id>/pilot.json`:

    {"v": 1, "dream_id": "...", "runs": [{"pilot_id": ..., "entries": [...], "lift": {...},
                                          "per_entry": {"pb-...": {"lift": {...}}}, ...}]}

The file is read by dreamcli.playbooks.pilot_file (the one reader); this module gives what approval
needs from it: `last_lifts(dream_dir)`, per entry id, the lift of the last run that piloted it -- the
entry's own leave-one-out lift when that run was `--per-entry`, else the lift of the entries piloted
together. An unreadable file, or a lift that is not finite numbers, reads as "no pilot" (never a pass).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dreamcli.playbooks.pilot_file import PILOT_FILE, PILOT_SCHEMA_VERSION, parse_lift, read_runs

__all__ = ["PILOT_FILE", "PILOT_SCHEMA_VERSION", "EntryLift", "last_lifts", "lift_problem"]


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

    def to_json(self) -> dict[str, Any]:
        return {"pilot_id": self.pilot_id, "delta": self.delta, "ci95": list(self.ci95), "p_value": self.p_value,
                "pairs": self.pairs, "together_with": self.together_with, "leave_one_out": self.leave_one_out,
                "ts": self.ts}


def _lift(raw: Any) -> tuple[float, tuple[float, float], float | None, int] | None:
    """(delta, ci95, p_value, pairs) of a `lift` object whose delta and CI are finite numbers, else None."""
    lift = parse_lift(raw) if isinstance(raw, dict) and "delta" in raw else None
    if lift is None or lift["lo"] is None or lift["hi"] is None:
        return None
    pairs = raw.get("pairs")
    pairs = pairs if isinstance(pairs, int) and not isinstance(pairs, bool) and pairs >= 0 else 0
    return lift["delta"], (lift["lo"], lift["hi"]), lift["p_value"], pairs


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
            chosen = own or joint
            if chosen is None:
                continue
            delta, ci, p, pairs = chosen
            out[entry] = EntryLift(entry_id=entry, pilot_id=str(run.get("pilot_id") or ""), delta=delta, ci95=ci,
                                   p_value=p, pairs=pairs, together_with=1 if own else len(entries),
                                   leave_one_out=own is not None,
                                   ts=run["ts"] if isinstance(run.get("ts"), str) else None)
    return out


def lift_problem(lift: EntryLift | None) -> str | None:
    """Why `approval.require_lift` refuses an entry (None: its last pilot's CI upper bound is above 0)."""
    if lift is None:
        return "it has never been piloted"
    if lift.ci95[1] <= 0:
        return (f"its last pilot ({lift.pilot_id}) measured a lift of {lift.delta:+.2f} with a 95% CI of "
                f"{lift.ci95[0]:+.2f}..{lift.ci95[1]:+.2f}, whose upper bound is not above 0")
    return None
