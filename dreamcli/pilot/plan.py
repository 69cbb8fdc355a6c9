"""What a pilot runs: its tasks, its arms and the order of its trials (docs/pilot.md).

    plan = build_plan(ws, config, [Path("task.yaml")], "01JD3Z", entry_ids=None, trials=5)
    plan.arms        # baseline, candidate (and without:<entry> arms with per_entry)
    plan.order()     # every (task, arm, index) trial, interleaved

Arms: `baseline` places the live playbooks the task gets today; `candidate` places the same with the
chosen pending entries applied to the proposal's playbook in memory (`dreamcli.playbooks.trial`);
with `per_entry`, `without:<entry id>` places the candidate minus that one entry (leave one out).
Nothing here writes anything.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dreamcli.agent.context import render_playbook_for_prompt, select_playbooks
from dreamcli.agent.loop import resolve_model
from dreamcli.agent.spec import TaskSpec
from dreamcli.agent.taskfile import load_task_file
from dreamcli.config import Config
from dreamcli.errors import UsageError
from dreamcli.outcomes.spec import OutcomeSpec, load_spec
from dreamcli.playbooks.proposals import load_dream
from dreamcli.playbooks.trial import Trial, trial_playbook
from dreamcli.workspace.home import Workspace

BASELINE, CANDIDATE, WITHOUT = "baseline", "candidate", "without:"


@dataclass
class Arm:
    name: str
    entry_ids: tuple[str, ...]  # the pending entries this arm places (none for the baseline)
    trial: Trial | None = None  # the in-memory playbook with those entries; None for the baseline

    @property
    def loader(self) -> Callable[[Workspace, str], Any] | None:
        return self.trial.loader() if self.trial is not None else None

    def start_fields(self) -> dict[str, Any]:
        """What session.start records for this arm besides `pilot` (the trial, as run --with-proposal)."""
        if self.trial is None:
            return {}
        return {"with_proposal": self.trial.dream_id, "trial": self.trial.record()}


@dataclass
class PilotTask:
    index: int
    spec: TaskSpec
    outcome: OutcomeSpec
    model: str
    key: str  # name and content hash: a changed task file or spec is a different task

    @property
    def label(self) -> str:
        return self.spec.name or (self.spec.file.stem if self.spec.file else f"task {self.index + 1}")


@dataclass(frozen=True)
class TrialRef:
    task: PilotTask
    arm: Arm
    index: int

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.task.key, self.arm.name, self.index)


@dataclass
class PilotPlan:
    dream_id: str
    playbook: str
    entry_ids: list[str]
    tasks: list[PilotTask]
    arms: list[Arm]
    trials: int
    per_entry: bool
    plan_key: str = ""
    warnings: list[str] = field(default_factory=list)

    def order(self) -> list[TrialRef]:
        """Every trial, interleaved: index by index, task by task, the arms in a rotating order, so
        drift in the endpoint over time hits every arm alike."""
        out: list[TrialRef] = []
        n = len(self.arms)
        for j in range(self.trials):
            for t in self.tasks:
                shift = (j + t.index) % n
                for arm in self.arms[shift:] + self.arms[:shift]:
                    out.append(TrialRef(t, arm, j))
        return out

    def arm(self, name: str) -> Arm:
        return next(a for a in self.arms if a.name == name)

    def describe(self) -> dict[str, Any]:
        return {"dream_id": self.dream_id, "playbook": self.playbook, "entries": list(self.entry_ids),
                "per_entry": self.per_entry, "trials_per_arm_and_task": self.trials,
                "arms": [a.name for a in self.arms],
                "tasks": [{"name": t.label, "key": t.key, "file": str(t.spec.file) if t.spec.file else None,
                           "model": t.model} for t in self.tasks]}


def _sha(*parts: object) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(json.dumps(p, sort_keys=True, default=str).encode())
        h.update(b"\0")
    return h.hexdigest()


def _task_key(spec: TaskSpec, outcome: OutcomeSpec) -> str:
    body = spec.file.read_bytes().hex() if spec.file is not None and spec.file.is_file() else spec.prompt
    return f"{spec.name or 'task'}:{_sha(body, outcome.spec_hash)[:12]}"


def _load_task(ws: Workspace, config: Config, path: Path, index: int) -> PilotTask:
    spec = load_task_file(path)
    if spec.outcome is None:
        raise UsageError(f"task {path} has no outcome: pilot grades every trial with the task's outcome "
                         "spec (add `outcome:` to the task file)")
    outcome = load_spec(spec.outcome)
    from dreamcli.agent.options import RunOptions

    model = resolve_model(RunOptions(), spec, config)
    return PilotTask(index=index, spec=spec, outcome=outcome, model=model, key=_task_key(spec, outcome))


def _pending_entries(ws: Workspace, dream_id: str, entry_ids: list[str] | None) -> tuple[str, str, list[str]]:
    dream = load_dream(ws, dream_id)
    pending = [o for o in dream.proposal.operations
               if o.target == "playbook" and o.op != "counts" and dream.decision(o.entry_id).action is None]
    ids = [o.entry_id for o in pending]
    if entry_ids:
        for e in dict.fromkeys(entry_ids):
            if e not in ids:
                op = dream.proposal.find(e)
                why = ("it is not in the proposal" if op is None else
                       f"it is already {dream.decision(e).action}d" if dream.decision(e).action else
                       f"it is a {op.target} {op.op} operation, which changes no playbook text")
                raise UsageError(f"cannot pilot entry {e} of dream {dream.dream_id}: {why}")
        ids = list(dict.fromkeys(entry_ids))
    if not ids:
        raise UsageError(f"dream {dream.dream_id} has no pending playbook entries to pilot")
    return dream.dream_id, dream.proposal.playbook, ids


def _arm(ws: Workspace, dream_id: str, name: str, ids: list[str]) -> Arm:
    trial = trial_playbook(ws, dream_id, entry_ids=ids)
    if trial.refused:
        entry, reason = trial.refused[0]
        raise UsageError(f"entry {entry} no longer fits the live playbook ({reason}); pilot the other entries "
                         "with --entry, or reject it")
    return Arm(name=name, entry_ids=tuple(ids), trial=trial)


def build_plan(ws: Workspace, config: Config, task_files: list[Path], dream_id: str, *,
               entry_ids: list[str] | None = None, trials: int = 5, per_entry: bool = False) -> PilotPlan:
    """Load and check everything before any trial runs (bad input: exit 2 with nothing started)."""
    if trials < 1:
        raise UsageError("--trials must be at least 1")
    dream_id, playbook, ids = _pending_entries(ws, dream_id, entry_ids)
    if per_entry and len(ids) < 2:
        raise UsageError("--per-entry compares entries with each other; it needs at least two entries")
    tasks = [_load_task(ws, config, p, i) for i, p in enumerate(task_files)]
    if not tasks:
        raise UsageError("give at least one task file")
    arms = [Arm(BASELINE, ()), _arm(ws, dream_id, CANDIDATE, ids)]
    if per_entry:
        arms += [_arm(ws, dream_id, WITHOUT + e, [i for i in ids if i != e]) for e in ids]
    candidate = arms[1]
    for t in tasks:
        primary = t.spec.playbook or config.playbooks.default
        sel = select_playbooks(ws, task_name=t.spec.name, tags=t.spec.tags, primary=primary,
                               loader=candidate.loader, workspace_default=config.playbooks.default)
        if playbook not in {p.name for p in sel.placed}:
            raise UsageError(f"task {t.label} does not get playbook {playbook!r}, where dream {dream_id} proposes "
                             f"its entries (the task places: {', '.join(p.name for p in sel.placed) or 'none'}); "
                             "pilot it on tasks that use that playbook")
    texts = [render_playbook_for_prompt(a.trial.playbook)[0] if a.trial else "" for a in arms]
    key = _sha(dream_id, ids, per_entry, [t.key for t in tasks], [t.model for t in tasks], texts)[:16]
    return PilotPlan(dream_id=dream_id, playbook=playbook, entry_ids=ids, tasks=tasks, arms=arms, trials=trials,
                     per_entry=per_entry, plan_key=key)


# --- the cost estimate ---------------------------------------------------------------------------

HISTORY_SCAN = 500  # newest session files looked at for past costs of a task
HISTORY_MATCHES = 20
GUESS_TURNS, GUESS_INPUT, GUESS_OUTPUT = 5, 4000, 500  # per turn, when a task never ran before


@dataclass
class Estimate:
    trials: int
    total_usd: float
    per_trial_usd: dict[str, float]  # task key -> estimated cost of one trial
    basis: dict[str, str]  # task key -> "median of N past runs" or a rough guess

    def to_json(self) -> dict[str, Any]:
        return {"trials": self.trials, "total_usd": round(self.total_usd, 4),
                "per_trial_usd": {k: round(v, 6) for k, v in self.per_trial_usd.items()}, "basis": self.basis}


def estimate_cost(ws: Workspace, plan: PilotPlan, remaining: list[TrialRef]) -> Estimate:
    """Median cost of the task's recent runs (sessions with that task name), else a rough guess from
    the model's price; times the trials still to run."""
    from statistics import median

    from dreamcli.models import price_for
    from dreamcli.sessions.paths import iter_session_files
    from dreamcli.sessions.summary import summarize

    names = {t.spec.name: t for t in plan.tasks}
    seen: dict[str, list[float]] = {t.key: [] for t in plan.tasks}
    for n, path in enumerate(iter_session_files(ws, newest_first=True)):
        if n >= HISTORY_SCAN or all(len(v) >= HISTORY_MATCHES for v in seen.values()):
            break
        s = summarize(path)
        if s is None or s.parent_session_id or s.cost_usd is None or s.task not in names:
            continue
        bucket = seen[names[s.task].key]
        if len(bucket) < HISTORY_MATCHES:
            bucket.append(s.cost_usd)
    per: dict[str, float] = {}
    basis: dict[str, str] = {}
    for t in plan.tasks:
        if seen[t.key]:
            per[t.key] = float(median(seen[t.key]))
            basis[t.key] = f"median of {len(seen[t.key])} past runs"
        else:
            inp, out = price_for(t.model) or (3.0, 15.0)
            per[t.key] = GUESS_TURNS * (GUESS_INPUT * inp + GUESS_OUTPUT * out) / 1_000_000
            basis[t.key] = f"rough guess: {GUESS_TURNS} turns of ~{GUESS_INPUT} input tokens (task never ran)"
    total = sum(per[ref.task.key] for ref in remaining)
    return Estimate(trials=len(remaining), total_usd=total, per_trial_usd=per, basis=basis)
