"""What a pilot runs: its tasks, its arms and the order of its trials (docs/pilot.md).

    plan = build_plan(ws, config, [Path("task.yaml")], "01JD3Z", entry_ids=None, trials=5)
    plan.arms        # baseline, candidate (and without:<entry> arms with per_entry)
    plan.order()     # every (task, arm, index) trial, interleaved

Arms: `baseline` places the live playbooks the task gets today; `candidate` places the same with the
chosen pending entries applied to the proposal's playbook in memory (`dreamcli.playbooks.trial`: their
text vetted as approval vets it; `dreamcli.pilot.entries` leaves out those with a block finding);
with `per_entry`, `without:<entry id>` places the candidate minus that one entry (leave one out).
A plan is identified by what it pilots (`identity`: the dream, the entries, the tasks) and the
conditions its trials run under (`conditions`, see `plan_conditions`; the tool permissions `allow` and
`yes_tools` among them); `plan_key` hashes both, so a re-run resumes only trials measured under the
same conditions. Nothing here writes anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dreamcli.agent.context import select_playbooks
from dreamcli.agent.loop import resolve_max_turns, resolve_model
from dreamcli.agent.spec import TaskSpec
from dreamcli.agent.taskfile import load_task_file
from dreamcli.config import Config
from dreamcli.errors import UsageError
from dreamcli.outcomes.spec import OutcomeSpec, load_spec
from dreamcli.pilot.entries import pending_entries
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
    identity: str = ""  # what is piloted: the dream, its entries, --per-entry, the tasks' names and files
    conditions: dict[str, Any] = field(default_factory=dict)  # what its trials ran under (plan_conditions)
    allow: tuple[str, ...] = ()  # --allow: bash commands and writes allowed in every trial
    yes_tools: bool = False  # --approve-tools: every tool call approved in every trial

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


def _task_body(spec: TaskSpec) -> str:
    return spec.file.read_bytes().hex() if spec.file is not None and spec.file.is_file() else spec.prompt


def _task_key(spec: TaskSpec, outcome: OutcomeSpec) -> str:
    return f"{spec.name or 'task'}:{_sha(_task_body(spec), outcome.spec_hash)[:12]}"


WORKDIR_HASH_BYTES = 64 * 1024 * 1024  # file contents hashed per workdir; past it, size, head and tail only
WORKDIR_PART_BYTES = 64 * 1024  # past the budget: a file's first and last this many bytes
WORKDIR_MAX_ENTRIES = 100_000  # paths looked at per workdir, in sorted walk order; the rest are not
# config that changes what an agent does or how its trial is graded (the model is resolved per task)
AGENT_CONFIG = ("models.grader", "limits.max_tokens", "limits.bash_timeout_s", "limits.tool_output_bytes",
                "approvals.allow_commands", "approvals.allow_writes")


def uses_memory(spec: TaskSpec) -> bool:
    """Whether the task's trials get the memory tool (each then starts from a copy of the default store)."""
    return spec.tools is None or "memory" in spec.tools


def _hash_file(h: Any, path: str, rel: str, whole: bool) -> bool:
    """Add a regular file's size and content (all of it, or its head and tail) to `h`. Opened without
    blocking and checked again once open (a FIFO swapped in after the lstat never hangs): False, with
    nothing added, when it is no regular file."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return False
        size = st.st_size
        if whole or size <= 2 * WORKDIR_PART_BYTES:
            h.update(f"F\0{rel}\0{size}\0".encode())
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        else:
            h.update(f"P\0{rel}\0{size}\0".encode())
            h.update(f.read(WORKDIR_PART_BYTES))
            f.seek(size - WORKDIR_PART_BYTES)
            h.update(f.read(WORKDIR_PART_BYTES))
    return True


def workdir_fingerprint(root: Path | None, budget: int = WORKDIR_HASH_BYTES, *, skip: Path | None = None,
                        max_entries: int = WORKDIR_MAX_ENTRIES) -> str:
    """A hash of what a trial gets a copy of: every path under `root` (files, directories, symlinks
    and their targets, other special files by type), each regular file's size and content. Contents,
    not mtimes: a checkout or copy of the same files is the same workdir. Reading it once costs less
    than one trial's copy of it; past `budget` bytes of content, further files count by size and their
    first and last WORKDIR_PART_BYTES. Only regular files are opened: a FIFO or a device never is.
    `skip` (the workspace home, where trials write their logs) is left out when it lies under `root`.
    The walk stops after `max_entries` paths (the fingerprint then says so)."""
    if root is None:
        return "none"
    h = hashlib.sha256()
    real = os.path.realpath(root)
    skipped = os.path.realpath(skip) if skip is not None else None
    if skipped == real:
        return h.hexdigest()[:16]  # the workdir is the home: nothing in it but dreamcli's own state
    seen = 0
    for top, dirs, files in os.walk(real):
        dirs[:] = sorted(d for d in dirs if os.path.join(top, d) != skipped)
        for name in sorted(dirs + [f for f in files if os.path.join(top, f) != skipped]):
            seen += 1
            if seen > max_entries:
                h.update(f"+\0{max_entries}\0".encode())
                return h.hexdigest()[:16]
            path = os.path.join(top, name)
            rel = os.path.relpath(path, real)
            try:
                st = os.lstat(path)
                if stat.S_ISLNK(st.st_mode):
                    h.update(f"L\0{rel}\0{os.readlink(path)}\0".encode())
                elif stat.S_ISDIR(st.st_mode):
                    h.update(f"D\0{rel}\0".encode())
                elif stat.S_ISREG(st.st_mode) and _hash_file(h, path, rel, whole=st.st_size <= budget):
                    budget -= st.st_size if st.st_size <= budget else 0
                else:  # a FIFO, socket or device: by type and name, never opened
                    h.update(f"T\0{rel}\0{stat.S_IFMT(st.st_mode)}\0".encode())
            except OSError as e:  # unreadable: the trial's copy fails too; still a stable answer
                h.update(f"E\0{rel}\0{e.errno}\0".encode())
    return h.hexdigest()[:16]


def _holds_file(root: Path) -> bool:
    """Whether anything but a directory lies under `root` (a missing or empty store gives a trial nothing)."""
    return any(files or any(os.path.islink(os.path.join(top, d)) for d in dirs) for top, dirs, files in os.walk(root))


def plan_conditions(ws: Workspace, config: Config, tasks: list[PilotTask], arms: list[Arm], *,
                    allow: tuple[str, ...] = (), yes_tools: bool = False) -> dict[str, Any]:
    """What a pilot's trials run under, by a name `changed_conditions` can report: per task its file,
    outcome spec, workdir contents (less the workspace home, should it lie in the workdir: the pilot writes
    there), model and turn limit; per playbook the text every arm places for every task (the baseline's
    live playbooks too, not only the candidate's); the agent's config; the memory store's contents when a
    task has the memory tool and the store holds a file (hashed as a workdir is); and the tool permissions
    (--allow, --approve-tools)."""
    from dreamcli.agent.options import RunOptions

    labels = [t.label for t in tasks]
    out: dict[str, Any] = {}
    placed: dict[str, list[Any]] = {}
    for t in tasks:
        name = t.label if labels.count(t.label) == 1 else f"{t.label} #{t.index + 1}"
        out[f"task file {name}"] = _sha(_task_body(t.spec))[:16]
        out[f"outcome {name}"] = t.outcome.spec_hash
        out[f"workdir {name}"] = workdir_fingerprint(t.spec.workdir, skip=ws.root)
        out[f"model of {name}"] = t.model
        out[f"max turns of {name}"] = resolve_max_turns(RunOptions(), t.spec, config)
        for arm in arms:
            sel = select_playbooks(ws, task_name=t.spec.name, tags=t.spec.tags,
                                   primary=t.spec.playbook or config.playbooks.default, loader=arm.loader,
                                   workspace_default=config.playbooks.default)
            for p in sel.placed:
                placed.setdefault(p.name, []).append([t.index, arm.name, p.text, p.description])
    out.update({f"playbook {n}": _sha(parts)[:16] for n, parts in sorted(placed.items())})
    for dotted in AGENT_CONFIG:
        value: Any = config
        for part in dotted.split("."):
            value = getattr(value, part)
        out[f"config {dotted}"] = value
    store = ws.memory_store("default")
    if any(uses_memory(t.spec) for t in tasks) and _holds_file(store):  # none or empty: no key, as before it counted
        out["memory store default"] = workdir_fingerprint(store)
    if allow:  # none given: no key, so the plans of pilots run before permissions counted keep theirs
        out["--allow"] = sorted(set(allow))
    if yes_tools:
        out["--approve-tools"] = True
    return out


def changed_conditions(before: dict[str, Any], now: dict[str, Any], most: int = 5) -> str:
    """The names of the conditions that differ (`playbook extra, workdir contract-review`), "" if none."""
    names = [k for k in dict.fromkeys([*before, *now]) if before.get(k) != now.get(k)]
    more = f" and {len(names) - most} more" if len(names) > most else ""
    return ", ".join(names[:most]) + more


def _load_task(ws: Workspace, config: Config, path: Path, index: int) -> PilotTask:
    spec = load_task_file(path)
    if spec.outcome is None:
        raise UsageError(f"task {path} has no outcome: pilot grades every trial with the task's outcome "
                         "spec (add `outcome:` to the task file)")
    outcome = load_spec(spec.outcome)
    from dreamcli.agent.options import RunOptions

    model = resolve_model(RunOptions(), spec, config)
    return PilotTask(index=index, spec=spec, outcome=outcome, model=model, key=_task_key(spec, outcome))


def _arm(ws: Workspace, dream_id: str, name: str, ids: list[str]) -> Arm:
    trial = trial_playbook(ws, dream_id, entry_ids=ids)
    if trial.refused:
        entry, reason = trial.refused[0]
        raise UsageError(f"entry {entry} no longer fits the live playbook ({reason}); pilot the other entries "
                         "with --entry, or reject it")
    return Arm(name=name, entry_ids=tuple(ids), trial=trial)


def build_plan(ws: Workspace, config: Config, task_files: list[Path], dream_id: str, *,
               entry_ids: list[str] | None = None, trials: int = 5, per_entry: bool = False,
               allow: tuple[str, ...] = (), yes_tools: bool = False) -> PilotPlan:
    """Load and check everything before any trial runs (bad input: exit 2 with nothing started)."""
    if trials < 1:
        raise UsageError("--trials must be at least 1")
    entries = pending_entries(ws, dream_id, entry_ids)  # less those with a block finding (pilot/entries.py)
    dream_id, playbook, ids = entries.dream_id, entries.playbook, entries.ids
    if per_entry and len(ids) < 2:
        out = ", ".join(entries.blocked)
        left = f" it can place ({out} left out: blocking lint finding)" if out else ""
        raise UsageError(f"--per-entry compares entries with each other; it needs at least two entries{left}")
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
    identity = _sha(dream_id, ids, per_entry, [[t.label, str(t.spec.file)] for t in tasks])[:16]
    conditions = plan_conditions(ws, config, tasks, arms, allow=allow, yes_tools=yes_tools)
    return PilotPlan(dream_id=dream_id, playbook=playbook, entry_ids=ids, tasks=tasks, arms=arms, trials=trials,
                     per_entry=per_entry, plan_key=_sha(identity, conditions)[:16], identity=identity,
                     conditions=conditions, allow=allow, yes_tools=yes_tools, warnings=entries.warnings)


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
    """Median cost of the task's recent runs (sessions with that task name, each with what its
    sub-agents spent), else a rough guess from the model's price; times the trials still to run."""
    from statistics import median

    from dreamcli.models import price_for
    from dreamcli.numbers import finite
    from dreamcli.sessions.paths import iter_session_files
    from dreamcli.sessions.summary import summarize

    names = {t.spec.name: t for t in plan.tasks}
    seen: dict[str, list[float]] = {t.key: [] for t in plan.tasks}
    children: dict[str, float] = {}  # lead session id -> what its sub-agents spent
    for n, path in enumerate(iter_session_files(ws, newest_first=True)):
        if n >= HISTORY_SCAN or all(len(v) >= HISTORY_MATCHES for v in seen.values()):
            break
        s = summarize(path)
        cost = finite(s.cost_usd) if s is not None else None  # a hand-edited log may hold "3x" or 1e400
        if s is None or cost is None:
            continue
        if s.parent_session_id:  # a sub-agent starts after its lead: newest first, it is met before the lead
            children[s.parent_session_id] = children.get(s.parent_session_id, 0.0) + cost
            continue
        if s.task not in names:
            continue
        bucket = seen[names[s.task].key]
        if len(bucket) < HISTORY_MATCHES:
            bucket.append(cost + children.pop(s.session_id, 0.0))
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
