"""prepare and execute a pilot: what `dreamcli pilot` calls (see dreamcli/pilot/__init__.py).

One pilot of a plan at a time: both hold the workspace lock `pilot-<dream id>-<plan key>` (exit 75
when another process holds it, or wait `wait` seconds, -1 for ever) -- prepare while it reads the
journal, execute from its own re-read of the journal until the result is stored -- so a second
`dreamcli pilot` of the same plan resumes what the first ran instead of running every trial again.
Each execute appends the plan's conditions to `dreams/<id>/pilot-plans.jsonl`, so a later run whose
conditions changed can say which ones (and starts a new pilot instead of resuming).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dreamcli.config import Config
from dreamcli.pilot.plan import Estimate, PilotPlan, TrialRef, build_plan, changed_conditions, estimate_cost
from dreamcli.pilot.runner import PilotProgress, run_pilot
from dreamcli.pilot.store import TrialJournal, append_result, dream_dir
from dreamcli.workspace.home import Workspace
from dreamcli.workspace.lock import workspace_lock

PLANS_FILE = "pilot-plans.jsonl"
PLAN_RECORD_VERSION = 1


@dataclass
class Prepared:
    plan: PilotPlan
    pilot_id: str
    journal: TrialJournal
    done: dict[tuple[str, str, int], dict[str, Any]]
    todo: list[TrialRef]
    estimate: Estimate
    warnings: list[str] = field(default_factory=list)
    fresh: bool = False  # --new: never adopt an earlier run's pilot id

    @property
    def resumed(self) -> int:
        """Trials of this plan recorded by an earlier run (not run again)."""
        return len(self.done)


def plan_lock(ws: Workspace, plan: PilotPlan, wait: float | None = None) -> Any:
    """The lock one pilot of this plan holds (see the module docstring)."""
    return workspace_lock(ws, f"pilot-{plan.dream_id}-{plan.plan_key}", wait=wait)


def _resume_point(journal: TrialJournal, plan: PilotPlan, pilot_id: str | None
                  ) -> tuple[str | None, dict[tuple[str, str, int], dict[str, Any]], list[TrialRef]]:
    """The pilot to continue (`pilot_id`, else the last run of this plan, if any), its recorded trials
    that belong to the plan, and the trials still to run."""
    pilot_id = pilot_id or journal.latest_pilot(plan.plan_key)
    order = plan.order()
    keys = {ref.key for ref in order}
    done = {k: v for k, v in (journal.done(pilot_id) if pilot_id else {}).items() if k in keys}
    return pilot_id, done, [ref for ref in order if ref.key not in done]


def _plan_records(ws: Workspace, dream_id: str) -> list[dict[str, Any]]:
    """The conditions of earlier pilot runs (a torn or wrong-typed line is skipped)."""
    out: list[dict[str, Any]] = []
    try:
        lines = (dream_dir(ws, dream_id) / PLANS_FILE).read_bytes().splitlines()
    except (FileNotFoundError, NotADirectoryError):
        return out
    for raw in lines:
        try:
            rec = json.loads(raw)
        except (ValueError, RecursionError):
            continue
        if (isinstance(rec, dict) and isinstance(rec.get("plan"), str) and isinstance(rec.get("identity"), str)
                and isinstance(rec.get("conditions"), dict)):
            out.append(rec)
    return out


def _record_plan(ws: Workspace, plan: PilotPlan) -> None:
    from dreamcli.timeutil import now_rfc3339
    from dreamcli.workspace.fsutil import append_line

    rec = {"v": PLAN_RECORD_VERSION, "plan": plan.plan_key, "identity": plan.identity, "ts": now_rfc3339(),
           "conditions": plan.conditions}
    append_line(dream_dir(ws, plan.dream_id) / PLANS_FILE, json.dumps(rec, ensure_ascii=False, default=str),
                fsync=True)


def not_resuming_why(ws: Workspace, plan: PilotPlan, journal: TrialJournal) -> str | None:
    """Why the last run of this pilot that recorded trials is not resumed: the conditions that changed
    since (its plan key differs), or None."""
    ran = {r.get("plan") for r in journal.read()}
    earlier = [r for r in _plan_records(ws, plan.dream_id) if r["identity"] == plan.identity and r["plan"] in ran]
    if not earlier or earlier[-1]["plan"] == plan.plan_key:
        return None
    changed = changed_conditions(earlier[-1]["conditions"], plan.conditions) or "the plan"
    return f"conditions changed since the last run: {changed}; not resuming"


def prepare(ws: Workspace, config: Config, task_files: list[Path], dream_id: str, *,
            entry_ids: list[str] | None = None, trials: int = 5, per_entry: bool = False,
            allow: tuple[str, ...] = (), yes_tools: bool = False, fresh: bool = False,
            wait: float | None = None) -> Prepared:
    """Check the input, find an earlier run of the same plan to resume (unless `fresh`), and
    estimate the cost of the trials still to run. The tool permissions (`allow`, `yes_tools`: every
    trial's) are conditions of the plan. LockHeld (exit 75) while another pilot of the plan runs,
    unless `wait`."""
    from dreamcli.ids import new_ulid

    plan = build_plan(ws, config, task_files, dream_id, entry_ids=entry_ids, trials=trials, per_entry=per_entry,
                      allow=allow, yes_tools=yes_tools)
    journal = TrialJournal(ws, plan.dream_id)
    with plan_lock(ws, plan, wait):
        pilot_id, done, todo = _resume_point(journal, plan, new_ulid() if fresh else None)
        why = None if fresh or pilot_id else not_resuming_why(ws, plan, journal)
    return Prepared(plan=plan, pilot_id=pilot_id or new_ulid(), journal=journal, done=done, todo=todo,
                    estimate=estimate_cost(ws, plan, todo), warnings=plan.warnings + ([why] if why else []),
                    fresh=fresh)


def _catch_up(ws: Workspace, prep: Prepared) -> None:
    """Under the plan's lock: take in what another pilot of the plan ran since `prepare` (its pilot
    id and trials), so nothing runs twice."""
    latest = None if prep.fresh else prep.journal.latest_pilot(prep.plan.plan_key)
    pilot_id, done, todo = _resume_point(prep.journal, prep.plan, latest or prep.pilot_id)
    changed = [r.key for r in todo] != [r.key for r in prep.todo]
    prep.pilot_id, prep.done, prep.todo = pilot_id or prep.pilot_id, done, todo
    if changed:
        prep.estimate = estimate_cost(ws, prep.plan, todo)


def execute(ws: Workspace, config: Config, prep: Prepared, *, parallel: int = 1, max_cost: float | None = None,
            progress: PilotProgress | None = None, client: Any = None, wait: float | None = None,
            on_warning: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run the trials still to run (with the plan's tool permissions), then compute and store the result
    (see the module docstring), holding the plan's lock throughout."""
    with plan_lock(ws, prep.plan, wait):
        _catch_up(ws, prep)
        _record_plan(ws, prep.plan)
        return _execute(ws, config, prep, parallel=parallel, max_cost=max_cost, progress=progress, client=client,
                        on_warning=on_warning)


def _execute(ws: Workspace, config: Config, prep: Prepared, *, parallel: int, max_cost: float | None,
             progress: PilotProgress | None, client: Any,
             on_warning: Callable[[str], None] | None) -> dict[str, Any]:
    from dreamcli.pilot.report import build_result
    from dreamcli.playbooks.pilot_file import PILOT_FILE, read_runs
    from dreamcli.timeutil import now_rfc3339

    earlier_unscored = prep.journal.unscored(prep.pilot_id)  # read before this run adds its own
    run = run_pilot(ws, config, prep.plan, prep.todo, pilot_id=prep.pilot_id, journal=prep.journal,
                    parallel=parallel, max_cost=max_cost, allow=prep.plan.allow, yes_tools=prep.plan.yes_tools,
                    progress=progress, client=client, on_warning=on_warning)
    records = list(prep.done.values()) + run.records
    result = build_result(prep.plan, records, pilot_id=prep.pilot_id, status=run.status, ts=now_rfc3339(),
                          this_run_usd=run.spent_usd, estimate_usd=prep.estimate.total_usd, max_cost=max_cost,
                          stop_reason=run.stop_reason, earlier_unscored=earlier_unscored)
    result["resumed_trials"] = prep.resumed
    result["new_trials"] = len(run.records)
    result["skipped_trials"] = run.skipped
    path = prep.journal.path.parent / PILOT_FILE
    earlier = [r for r in read_runs(path) if isinstance(r, dict)]
    if run.records or not any(r.get("pilot_id") == prep.pilot_id for r in earlier):
        path = append_result(ws, prep.plan.dream_id, result)
    result["path"] = str(path)
    return result
