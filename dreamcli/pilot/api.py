"""prepare and execute a pilot: what `dreamcli pilot` calls (see dreamcli/pilot/__init__.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dreamcli.config import Config
from dreamcli.pilot.plan import Estimate, PilotPlan, TrialRef, build_plan, estimate_cost
from dreamcli.pilot.runner import PilotProgress, run_pilot
from dreamcli.pilot.store import TrialJournal, append_result
from dreamcli.workspace.home import Workspace


@dataclass
class Prepared:
    plan: PilotPlan
    pilot_id: str
    journal: TrialJournal
    done: dict[tuple[str, str, int], dict[str, Any]]
    todo: list[TrialRef]
    estimate: Estimate
    warnings: list[str] = field(default_factory=list)

    @property
    def resumed(self) -> int:
        """Trials of this plan recorded by an earlier run (not run again)."""
        return len(self.done)


def prepare(ws: Workspace, config: Config, task_files: list[Path], dream_id: str, *,
            entry_ids: list[str] | None = None, trials: int = 5, per_entry: bool = False,
            fresh: bool = False) -> Prepared:
    """Check the input, find an earlier run of the same plan to resume (unless `fresh`), and
    estimate the cost of the trials still to run."""
    from dreamcli.ids import new_ulid

    plan = build_plan(ws, config, task_files, dream_id, entry_ids=entry_ids, trials=trials, per_entry=per_entry)
    journal = TrialJournal(ws, plan.dream_id)
    pilot_id = None if fresh else journal.latest_pilot(plan.plan_key)
    done = journal.done(pilot_id) if pilot_id else {}
    todo = [ref for ref in plan.order() if ref.key not in done]
    done = {k: v for k, v in done.items() if k in {ref.key for ref in plan.order()}}
    return Prepared(plan=plan, pilot_id=pilot_id or new_ulid(), journal=journal, done=done, todo=todo,
                    estimate=estimate_cost(ws, plan, todo))


def execute(ws: Workspace, config: Config, prep: Prepared, *, parallel: int = 1, max_cost: float | None = None,
            allow: tuple[str, ...] = (), yes_tools: bool = False, progress: PilotProgress | None = None,
            client: Any = None) -> dict[str, Any]:
    """Run the trials still to run, then compute and store the result (see the module docstring)."""
    from dreamcli.pilot.report import build_result
    from dreamcli.playbooks.pilot_file import PILOT_FILE, read_runs
    from dreamcli.timeutil import now_rfc3339

    run = run_pilot(ws, config, prep.plan, prep.todo, pilot_id=prep.pilot_id, journal=prep.journal,
                    parallel=parallel, max_cost=max_cost, allow=allow, yes_tools=yes_tools, progress=progress,
                    client=client)
    records = list(prep.done.values()) + run.records
    result = build_result(prep.plan, records, pilot_id=prep.pilot_id, status=run.status, ts=now_rfc3339(),
                          this_run_usd=run.spent_usd, estimate_usd=prep.estimate.total_usd, max_cost=max_cost,
                          stop_reason=run.stop_reason)
    result["resumed_trials"] = prep.resumed
    result["new_trials"] = len(run.records)
    result["skipped_trials"] = run.skipped
    path = prep.journal.path.parent / PILOT_FILE
    earlier = [r for r in read_runs(path) if isinstance(r, dict)]
    if run.records or not any(r.get("pilot_id") == prep.pilot_id for r in earlier):
        path = append_result(ws, prep.plan.dream_id, result)
    result["path"] = str(path)
    return result
