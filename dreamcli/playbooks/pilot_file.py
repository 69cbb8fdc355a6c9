"""The one reader of `dreams/<id>/pilot.json` (written by `dreamcli pilot`, dreamcli.pilot.store):
the review page reads it here (`read_pilot`), and so does the approval gate (dreamcli.playbooks.lift).

The file holds {"v", "dream_id", "runs": [...]} (older or hand-made files: a bare list of runs, or
one run); each run has `lift: {delta, ci95: [lo, hi], p_value}` and per-entry results. It is read
defensively: a missing, unreadable or oversized file has no runs, a value that is not a finite number
is no value, and a malformed lift is left out -- never an error, and never a pass.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dreamcli.numbers import finite

PILOT_FILE = "pilot.json"
PILOT_SCHEMA_VERSION = 1
_MAX_BYTES = 20_000_000


number = finite  # a finite JSON number as a float, else None (dreamcli.numbers)


def read_runs(path: Path) -> list[Any]:
    """The runs recorded in the pilot file at `path`, as stored (check each item's type); [] when the
    file is missing, unreadable, too large or not a pilot file."""
    try:
        if path.stat().st_size > _MAX_BYTES:
            return []
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return []
    runs = data.get("runs") if isinstance(data, dict) else data
    if isinstance(data, dict) and runs is None and "lift" in data:
        runs = [data]
    return list(runs) if isinstance(runs, list) else []


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def parse_lift(data: Any, *, own: bool = True) -> dict[str, Any] | None:
    """{delta, lo, hi, p_value} from a `lift` object (or an object holding delta/ci95 itself, as
    `EntryLift.to_json`), with what was recorded of `pairs` (the count), `no_pairs` (why none was
    scored) and `own` (the entry's leave-one-out lift, parsed alike)."""
    if not isinstance(data, dict):
        return None
    nested = data.get("lift")
    lift: dict[str, Any] = nested if isinstance(nested, dict) else data
    delta = number(lift.get("delta"))
    if delta is None:
        return None
    ci = lift.get("ci95")
    lo = hi = None
    if isinstance(ci, list | tuple) and len(ci) == 2:
        lo, hi = number(ci[0]), number(ci[1])
        if lo is None or hi is None:
            lo = hi = None
        elif lo > hi:
            lo, hi = hi, lo
    out: dict[str, Any] = {"delta": delta, "lo": lo, "hi": hi, "p_value": number(lift.get("p_value"))}
    if (pairs := _count(lift.get("pairs"))) is not None:
        out["pairs"] = pairs
    if isinstance(why := lift.get("no_pairs"), str):
        out["no_pairs"] = why
    if own and (alone := parse_lift(data.get("leave_one_out_lift"), own=False)) is not None:  # one level only
        out["own"] = alone
    return out


def _entry_results(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for key in ("entries", "per_entry", "entry_results", "results"):
        found = run.get(key)
        if isinstance(found, dict):
            items = [{"entry_id": k, **v} if isinstance(v, dict) else {} for k, v in found.items()]
        elif isinstance(found, list):
            items = [x for x in found if isinstance(x, dict)]
        else:
            continue
        for item in items:
            entry_id = item.get("entry_id") or item.get("id")
            lift = parse_lift(item)
            if isinstance(entry_id, str) and lift is not None:
                out[entry_id] = lift
    return out


def read_pilot(path: Path) -> dict[str, Any] | None:
    """The newest usable run: {runs, lift, entries: {entry_id: lift}, created}, or None. A run that scored
    no pair (stopped by its budget, every trial failed) measured nothing: the newest run that scored
    some is shown instead, as the approval gate (`lift.last_lifts`) counts it."""
    usable = [r for r in read_runs(path) if isinstance(r, dict) and (parse_lift(r.get("lift")) or _entry_results(r))]
    if not usable:
        return None
    scored = [r for r in usable if not no_pair_scored(r.get("lift"))]
    last = (scored or usable)[-1]
    created = last.get("created") or last.get("ts")
    lift = parse_lift(last.get("lift"))
    if lift is not None and lift.get("pairs") == 0 and "no_pairs" not in lift and (n := _count(last.get("unscored"))):
        lift["no_pairs"] = f"{n} trial{'s' if n != 1 else ''} unscored"  # a run recorded before lifts kept why
    return {"runs": len(usable), "lift": lift, "entries": _entry_results(last),
            "created": created if isinstance(created, str) else None}


def no_pair_scored(lift: object) -> bool:
    """Whether a lift object (`Lift.to_json`, as `pilot.json` keeps it) was measured over no pair: its
    `pairs` is the number 0. A count that is missing or not a number is not known, which is not zero.
    The one test of it: the pilot's exit code, its tables, the review page and `approve`."""
    pairs = lift.get("pairs") if isinstance(lift, dict) else None
    return isinstance(pairs, int) and not isinstance(pairs, bool) and pairs == 0
