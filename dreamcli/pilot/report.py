"""A pilot's result from its trial records (pure: no I/O). The object `--json` prints and
`dreams/<id>/pilot.json` stores, one per run (docs/pilot.md, "Output").

Rates, intervals, means, the lift and its p-value keep full precision, so what shows them rounds once
(a bound stored as 0.005 for 0.004975 printed as +0.01); costs are rounded to the millionth of a dollar.
What a trial left unscored cost counts in `cost`, also after a resume ran it again."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from dreamcli.numbers import finite
from dreamcli.pilot.plan import BASELINE, CANDIDATE, WITHOUT, PilotPlan
from dreamcli.pilot.stats import Lift, lift_of, mean, verdict, wilson
from dreamcli.playbooks.lift import measured_record, no_pairs_why

RESULT_VERSION = 1
_USAGE = (("cost_usd", "cost_usd"), ("tokens", "tokens"), ("turns", "turns"), ("wall_s", "wall_s"))


def _round(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(x, digits)


def _number(value: Any) -> float:
    """A recorded number as a float; 0 for what no float holds (the journal's reader skips such lines)."""
    return finite(value) or 0.0


def arm_summary(name: str, records: list[dict[str, Any]], earlier_usd: float = 0.0) -> dict[str, Any]:
    """One arm's counts and means. The rate, its interval and the score mean keep full precision (a
    reader rounds them once, for the table); `earlier_usd` is what earlier runs' unscored trials of the
    arm cost (they ran again, so only their cost is counted)."""
    scored = [r for r in records if r.get("scored") is True]
    passed = sum(1 for r in scored if r.get("passed") is True)  # never "no", which is truthy
    n = len(scored)
    lo, hi = wilson(passed, n)
    scores = [s for r in scored if (s := finite(r.get("score"))) is not None]
    out: dict[str, Any] = {
        "name": name, "trials": n, "passed": passed, "pass_rate": passed / n if n else None,
        "ci95": [lo, hi], "unscored": len(records) - n, "score_mean": mean(scores),
        "cost_usd": round(sum(_number(r.get("cost_usd")) for r in records) + earlier_usd, 6),
    }
    for key, field in _USAGE:
        out[f"{key}_per_trial"] = mean([_number(r.get(field)) for r in scored])
    return out


def _pairs(records: list[dict[str, Any]], plan: PilotPlan, base: str, cand: str) -> list[list[tuple[bool, bool]]]:
    """Paired pass/fail by task: the same task and trial index in both arms, both scored."""
    index = {(r["task_key"], r["arm"], r["index"]): r for r in records if r.get("scored") is True}
    groups = []
    for t in plan.tasks:
        group = []
        for j in range(plan.trials):
            b, c = index.get((t.key, base, j)), index.get((t.key, cand, j))
            if b is not None and c is not None:
                group.append((b.get("passed") is True, c.get("passed") is True))
        groups.append(group)
    return groups


def lift_json(lift: Lift, no_pairs: str | None = None) -> dict[str, Any]:
    """The lift and its verdict; `no_pairs` says why a lift over no pair scored none (kept with it, for
    the review page, only then)."""
    out = {**lift.to_json(), "verdict": verdict(lift.ci95, lift.pairs, lift.p_value, no_pairs=no_pairs)}
    if lift.pairs == 0 and no_pairs:
        out["no_pairs"] = no_pairs
    return out


def _measured(plan: PilotPlan) -> dict[str, Any] | None:
    """What the lift was measured on (`measured_record`): the candidate's text of each piloted entry and
    the playbook's other entries. Approval counts the lift only while they are what it would apply."""
    trial = plan.arm(CANDIDATE).trial
    return None if trial is None else measured_record(trial.playbook, plan.entry_ids, trial.base_version)


def build_result(plan: PilotPlan, records: Iterable[dict[str, Any]], *, pilot_id: str, status: str, ts: str,
                 this_run_usd: float = 0.0, estimate_usd: float | None = None,
                 max_cost: float | None = None, stop_reason: str | None = None,
                 earlier_unscored: Iterable[dict[str, Any]] = ()) -> dict[str, Any]:
    """The result object (see the module docstring) over every recorded trial of this pilot;
    `earlier_unscored`, the journal's unscored trials of earlier runs, add only what they cost."""
    recs = [r for r in records if r.get("pilot_id") == pilot_id]
    by_arm = {a.name: [r for r in recs if r.get("arm") == a.name] for a in plan.arms}
    before = [r for r in earlier_unscored if r.get("pilot_id") == pilot_id and r.get("scored") is not True]
    arms = [arm_summary(a.name, by_arm[a.name], sum(_number(r.get("cost_usd")) for r in before
                                                    if r.get("arm") == a.name)) for a in plan.arms]
    base, cand = arms[0], arms[1]
    lift = lift_of(_pairs(recs, plan, BASELINE, CANDIDATE))

    def delta(key: str) -> float | None:
        x, y = cand.get(key), base.get(key)
        return None if x is None or y is None else x - y

    result: dict[str, Any] = {
        "v": RESULT_VERSION, "pilot_id": pilot_id, "plan": plan.plan_key, "ts": ts, "status": status,
        "stop_reason": stop_reason, "dream_id": plan.dream_id, "playbook": plan.playbook,
        "entries": list(plan.entry_ids), "leave_one_out": plan.per_entry, "trials": plan.trials,
        "tasks": plan.describe()["tasks"], "arms": arms, "lift": None,
        "score": {"baseline": base["score_mean"], "candidate": cand["score_mean"], "delta": delta("score_mean")},
        "deltas": {key: delta(f"{key}_per_trial") for key, _ in _USAGE},
        "cost": {"total_usd": round(sum(a["cost_usd"] for a in arms), 6), "this_run_usd": round(this_run_usd, 6),
                 "estimate_usd": _round(estimate_usd, 6), "max_cost_usd": max_cost,
                 "by_arm": {a["name"]: a["cost_usd"] for a in arms}},
        "session_ids": {a.name: [r["session_id"] for r in sorted(by_arm[a.name], key=lambda r: (r["task_key"],
                                                                                               r["index"]))
                                 if r.get("session_id")] for a in plan.arms},
        "unscored": sum(a["unscored"] for a in arms),
        "unscored_reasons": dict(sorted(Counter(str(r.get("unscored_reason") or "grader or model error")
                                                for r in recs if r.get("scored") is not True).items())),
        "per_entry": {},
        "measured": _measured(plan),
    }
    why = no_pairs_why(result)  # read only when no pair was scored: the verdict says why
    result["lift"] = lift_json(lift, why)
    if plan.per_entry:
        for entry in plan.entry_ids:
            own = lift_of(_pairs(recs, plan, WITHOUT + entry, CANDIDATE))
            result["per_entry"][entry] = {"arm": WITHOUT + entry, "lift": lift_json(own, why)}
    return result
