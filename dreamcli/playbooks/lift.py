"""What pilots measured for a dream's entries, as review and approval read it (docs/pilot.md).

`dreamcli pilot` (dreamcli.pilot) appends one record per run to `dreams/<id>/pilot.json`:

    {"v": 1, "dream_id": "...", "runs": [{"pilot_id": ..., "entries": [...], "lift": {...},
                                          "per_entry": {"pb-...": {"lift": {...}}}, ...}]}

This module only reads it: `last_lifts(dream_dir)` gives, per entry id, the lift of the last run that
piloted it -- the entry's own leave-one-out lift when that run was `--per-entry`, else the lift of
the entries piloted together. An unreadable file reads as "no pilot" (never a pass).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PILOT_FILE = "pilot.json"
PILOT_SCHEMA_VERSION = 1


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


def read_pilot_file(path: Path) -> dict[str, Any]:
    """The pilot file's object ({"v", "dream_id", "runs"}); an empty one when missing or unreadable."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"v": PILOT_SCHEMA_VERSION, "runs": []}
    if not isinstance(data, dict) or not isinstance(data.get("runs"), list):
        return {"v": PILOT_SCHEMA_VERSION, "runs": []}
    return data


def _lift(raw: Any) -> tuple[float, tuple[float, float], float | None, int] | None:
    if not isinstance(raw, dict):
        return None
    try:
        ci = raw["ci95"]
        p = raw.get("p_value")
        pairs = int(raw.get("pairs") or 0)
        return float(raw["delta"]), (float(ci[0]), float(ci[1])), None if p is None else float(p), pairs
    except (KeyError, TypeError, ValueError, IndexError):
        return None


def last_lifts(dream_dir: Path) -> dict[str, EntryLift]:
    """Entry id -> the lift its last pilot measured (see the module docstring)."""
    out: dict[str, EntryLift] = {}
    for run in read_pilot_file(Path(dream_dir) / PILOT_FILE)["runs"]:
        if not isinstance(run, dict):
            continue
        entries = [e for e in run.get("entries") or [] if isinstance(e, str)]
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
                                   leave_one_out=own is not None, ts=run.get("ts"))
    return out


def lift_problem(lift: EntryLift | None) -> str | None:
    """Why `approval.require_lift` refuses an entry (None: its last pilot's CI upper bound is above 0)."""
    if lift is None:
        return "it has never been piloted"
    if lift.ci95[1] <= 0:
        return (f"its last pilot ({lift.pilot_id}) measured a lift of {lift.delta:+.2f} with a 95% CI of "
                f"{lift.ci95[0]:+.2f}..{lift.ci95[1]:+.2f}, whose upper bound is not above 0")
    return None
