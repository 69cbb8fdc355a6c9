"""Running a pilot's trials: each one an ordinary session in a fresh copy of the task's workdir,
graded with the task's outcome spec, at most `parallel` at once (docs/pilot.md).

    run = run_pilot(ws, config, plan, todo, pilot_id=pid, journal=journal, parallel=4, max_cost=2.0,
                    progress=view)
    run.records, run.status        # "complete", or "stopped" when --max-cost was reached

Every trial runs `run_agent` with the arm's playbooks (the baseline: the live ones; a candidate: the
proposal's playbook with the chosen entries applied in memory), the same model and settings in every
arm, and the outcome's revision loop exactly as `dreamcli run` does. Its session.start carries
`pilot: {id, arm, trial, task, dream_id}`. The workdir copy (and a private copy of the memory store,
so trials never see each other's notes) is removed when the trial ends; both carry this process's pid,
so after a kill -9 the next command's sweep removes them (dreamcli.recovery). Nothing live is written
except the session log and the grade, as for any run.

A finished trial is appended to the journal at once (an unscored one too, for its cost: a resume runs
it again); its cost, tokens and turns are its lead's and its sub-agents' together (the grader's cost is
in its cost too). `--max-cost` stops starting trials once that spend reaches it; the trials running
then finish. Ctrl-C stops every trial (their logs end `interrupted`; one that spent something is
journaled unscored, for its cost) and raises `Interrupted` carrying `.records`; a re-run of the same
command resumes with the trials not yet recorded. A trial that ends on exit 4 (the endpoint cannot be
reached, by the agent or the grader, or refuses the credentials) stops the pilot the same way the budget
does -- no further trial starts, the running ones finish -- and then raises `CredentialsError` (exit 4)
with that trial's error, carrying `.records`: every later trial would fail alike, and a re-run resumes
once the endpoint is back.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from dreamcli.agent.callbacks import RunCallbacks
from dreamcli.agent.loop import run_agent
from dreamcli.agent.options import RunOptions
from dreamcli.agent.results import RunResult
from dreamcli.agent.scratch import is_home
from dreamcli.config import Config
from dreamcli.errors import EXIT_CREDENTIALS, EXIT_INFRA, EXIT_INTERRUPTED, CredentialsError, DreamError, Interrupted
from dreamcli.interrupts import stop_line
from dreamcli.orchestration.batch import LEAD_GRACE_S
from dreamcli.orchestration.limiter import for_session, shared
from dreamcli.orchestration.supervisor import Job, Monitor, SupervisedWriter, Supervisor
from dreamcli.orchestration.tally import SubagentTally, tokens_of
from dreamcli.outcomes.grading import GradeResult
from dreamcli.outcomes.revision import RevisionLoop
from dreamcli.pilot.plan import PilotPlan, TrialRef, uses_memory
from dreamcli.pilot.store import TrialJournal
from dreamcli.sessions.totals import Totals
from dreamcli.timeutil import now_rfc3339
from dreamcli.workspace.home import Workspace
from dreamcli.workspace.live import private_tempdir


class PilotProgress:
    """What the runner reports (no-op defaults; dreamcli.ui.pilot_view draws it). Called from workers."""

    def trial_started(self, ref: TrialRef) -> None:
        """A trial's session is about to start."""

    def trial_done(self, ref: TrialRef, record: dict[str, Any]) -> None:
        """A trial finished and was recorded (or ended unscored: record["scored"] is False)."""

    def stopping(self, reason: str) -> None:
        """No further trial will start (the budget was reached)."""


@dataclass
class PilotRun:
    records: list[dict[str, Any]] = field(default_factory=list)  # this run's finished trials
    status: str = "complete"  # complete, stopped (budget)
    stop_reason: str | None = None
    spent_usd: float = 0.0
    skipped: int = 0  # trials not started because of the budget (or an unreachable endpoint)
    unreachable: str | None = None  # the error of the first trial that ended on exit 4: the pilot stops


class _Loop(RevisionLoop):
    """The task's revision loop, also counting what grading cost."""

    grade_cost = 0.0
    grade_tokens = 0

    def _grade(self, session_path: Path) -> GradeResult:
        grade = super()._grade(session_path)
        self.grade_cost += grade.spent_usd  # what its calls cost, an unusable answer too (billed either way)
        self.grade_tokens += sum(int(v or 0) for v in grade.usage.values())
        return grade


def _fresh_workdir(ref: TrialRef, home: Path) -> Path:
    """An empty private directory, filled with a copy of the task's workdir. Its name says nothing
    about the arm: the agent sees the same kind of path in every arm. It carries this process's pid
    (`dreamcli-pilot-<pid>-<random>/work`), so the sweep removes it once a kill -9 left it behind.
    What the plan's fingerprint leaves out is not copied either: the workspace `home` (its logs and
    state, when it lives in the workdir) and special files (a named pipe would block the copy)."""
    root = private_tempdir("pilot")
    work = root / "work"
    src = ref.task.spec.workdir
    if src is not None:
        shutil.copytree(src, work, symlinks=True, ignore=partial(_not_copied, home.resolve()))
    else:
        work.mkdir()
    return work


def _not_copied(home: Path, folder: str, names: list[str]) -> set[str]:
    """Of `names` in `folder`, the workspace home and anything not a file, folder or link."""
    left = set()
    for name in names:
        path = Path(folder, name)
        try:
            mode = path.lstat().st_mode
        except OSError:
            left.add(name)
            continue
        special = not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode))
        if special or (stat.S_ISDIR(mode) and is_home(path, home)):  # as `copy_workdir` copies leave it out
            left.add(name)
    return left


def _memory_copy(ws: Workspace, token: str) -> str:
    """A private memory store for one trial, a copy of the default store (removed afterwards). Named as
    a temp folder with this process's pid (`.tmp-pilot-<session>-<pid>`), so the sweep removes it once a
    kill -9 left it behind (docs/reliability.md)."""
    name = f".tmp-pilot-{token}-{os.getpid()}"
    src, dst = ws.memory_store("default"), ws.memory_store(name)
    if src.is_dir():
        shutil.copytree(src, dst, symlinks=True)
    return name


def _record(plan: PilotPlan, pilot_id: str, ref: TrialRef, result: RunResult | None, loop: _Loop,
            wall_s: float, error: str | None, exit_code: int, subagents: SubagentTally, *,
            spent: Totals | None = None, session_id: str | None = None) -> dict[str, Any]:
    """The journal line of a finished trial: cost, tokens and turns are the lead's and its sub-agents'
    together (`subagents`: what the trial's Monitor tallied of every child the lead started; the
    grader's cost is added to `cost_usd` too). `error` is why it is unscored: the run's error, else the
    grader's (`grader error: ...`). With no result (a trial stopped mid-way), `spent` is what its lead
    spent so far and `session_id` its session."""
    outcome = (result.end_fields.get("outcome") if result is not None else None) or {}
    totals = result.totals if result is not None else spent
    infra = loop.grader_error or exit_code in (EXIT_INFRA, EXIT_CREDENTIALS) or (result is None)
    why = None if not infra else ("grader error" if loop.grader_error else "credentials error"
                                  if exit_code == EXIT_CREDENTIALS else "model error" if exit_code == EXIT_INFRA
                                  else "run error")
    if error is None and loop.grader_error and loop.last is not None and loop.last.error:
        error = f"grader error: {loop.last.error}"  # the agent ran to its end: the grader's error is the trial's
    n_kids, kids = subagents.count, subagents.totals
    lead = totals if totals is not None else Totals()
    agent_cost = lead.cost_usd + kids.cost_usd
    tokens = tokens_of(lead) + tokens_of(kids)
    return {
        "pilot_id": pilot_id, "plan": plan.plan_key, "dream_id": plan.dream_id, "task_key": ref.task.key,
        "task": ref.task.label, "arm": ref.arm.name, "index": ref.index,
        "session_id": result.session_id if result is not None else session_id,
        "status": result.status if result is not None else "error", "error": error,
        "outcome": outcome.get("result"), "passed": outcome.get("result") == "satisfied", "scored": not infra,
        "unscored_reason": why,
        "score": outcome.get("score"), "iterations": outcome.get("iterations"),
        "cost_usd": round(agent_cost + loop.grade_cost, 6), "agent_cost_usd": round(agent_cost, 6),
        "grader_cost_usd": round(loop.grade_cost, 6), "tokens": tokens, "grader_tokens": loop.grade_tokens,
        "turns": lead.turns + kids.turns, "subagents": n_kids, "subagent_cost_usd": round(kids.cost_usd, 6),
        "wall_s": round(wall_s, 3), "ts": now_rfc3339(),
    }


def run_pilot(ws: Workspace, config: Config, plan: PilotPlan, todo: list[TrialRef], *, pilot_id: str,
              journal: TrialJournal, parallel: int = 1, max_cost: float | None = None, spent_before: float = 0.0,
              allow: tuple[str, ...] = (), yes_tools: bool = False, progress: PilotProgress | None = None,
              client: Any = None, on_warning: Callable[[str], None] | None = None) -> PilotRun:
    """Run the trials in `todo` (see the module docstring); what a trial's grader warns of (a grade cache not
    written) goes to `on_warning` (the CLI's `warning:` line) when given."""
    from dreamcli.agent.tools.credentials import run_redactor

    if client is None:  # CredentialsError (exit 4) here, before any session exists
        from dreamcli.modelclient import make_client

        client = make_client(max_retries=config.limits.model_retries, timeout=config.limits.request_timeout_s)
    client = shared(client, max(config.limits.concurrency, parallel))  # one limit for trials and their sub-agents
    view = progress or PilotProgress()
    redactor = run_redactor(config)  # the credentials' literal values too, as `dreamcli run` redacts
    run = PilotRun(spent_usd=spent_before)
    lock = threading.Lock()
    stop = threading.Event()
    if max_cost is not None and spent_before >= max_cost:
        stop.set()
        run.status, run.stop_reason = "stopped", f"the budget of ${max_cost:.2f} was already spent"
    sup = Supervisor(parallel, grace_s=LEAD_GRACE_S, name="dreamcli-pilot")
    started: dict[int, tuple[TrialRef, Monitor, _Loop, float]] = {}  # job index -> what its trial spends
    journaled: set[int] = set()

    def journal_stopped(job: Job) -> None:
        """A trial stopped before it ended (Ctrl-C, a signal): what it spent so far is journaled unscored,
        once (by its own thread, or by the main one when the supervisor sealed its log), so that it counts
        after the resume runs the trial again; one that spent nothing leaves no line."""
        with lock:
            if job.index in journaled or job.index not in started:
                return
            journaled.add(job.index)
            ref, monitor, loop, t0 = started[job.index]
        rec = _record(plan, pilot_id, ref, None, loop, time.perf_counter() - t0, None, EXIT_INTERRUPTED,
                      monitor.subagents, spent=monitor.totals, session_id=monitor.session_id)
        if rec["cost_usd"] > 0:
            journal.append({**rec, "status": "interrupted", "scored": False, "unscored_reason": "interrupted"})

    from dreamcli.store.sink import session_sink

    def job_fn(job: Job) -> dict[str, Any] | None:
        ref = todo[job.index]
        if stop.is_set():
            with lock:
                run.skipped += 1
            return None
        writer = SupervisedWriter(ws, redactor=redactor, sink=session_sink(ws, config))  # index, bucket
        monitor = Monitor(RunCallbacks())  # also tallies what the trial's sub-agents spend
        job.writer, job.monitor = writer, monitor
        loop = _Loop(ws, config, ref.task.outcome)
        if on_warning is not None:
            loop.grader.on_warning = on_warning
        workdir = _fresh_workdir(ref, ws.root)
        memory = _memory_copy(ws, writer.session_id) if uses_memory(ref.task.spec) else "default"
        options = RunOptions(
            model=ref.task.model, workdir=workdir, allow=allow, yes=yes_tools, memory_store=memory,
            playbook_loader=ref.arm.loader,
            start_fields={**ref.arm.start_fields(), "pilot": {"id": pilot_id, "arm": ref.arm.name,
                                                             "trial": ref.index, "task": ref.task.key,
                                                             "dream_id": plan.dream_id}})
        view.trial_started(ref)
        t0 = time.perf_counter()
        with lock:
            started[job.index] = (ref, monitor, loop, t0)
        result: RunResult | None = None
        error, exit_code = None, 0
        try:
            result = run_agent(ws, config, ref.task.spec, options, callbacks=monitor, writer=writer,
                               client=for_session(client, sup.cancel), cancel=sup.cancel,
                               on_end_turn=loop.on_end_turn,
                               before_end=loop.before_end)
            exit_code = result.exit_code
        except Interrupted as e:
            result = getattr(e, "result", None)
            exit_code = EXIT_INTERRUPTED
        except DreamError as e:
            writer.discard_if_empty()
            error, exit_code = str(e), e.exit_code
        finally:
            shutil.rmtree(workdir.parent, ignore_errors=True)
            if memory != "default":
                with contextlib.suppress(OSError):
                    shutil.rmtree(ws.memory_store(memory))
        if exit_code == EXIT_INTERRUPTED or (result is not None and result.status == "interrupted") or writer.sealed_as:
            journal_stopped(job)
            return None  # not finished: a re-run does it again
        rec = _record(plan, pilot_id, ref, result, loop, time.perf_counter() - t0, error or
                      (result.error if result is not None else None), exit_code, monitor.subagents)
        journal.append(rec)  # an unscored one too: it runs again on resume, and what it cost still counts
        with lock:
            run.records.append(rec)
            if exit_code == EXIT_CREDENTIALS and run.unreachable is None:
                run.unreachable = rec["error"] or "the model endpoint cannot be reached or refused the credentials"
                stop.set()
            run.spent_usd += rec["cost_usd"]
            over = max_cost is not None and run.spent_usd >= max_cost and not stop.is_set()
            if over:
                stop.set()
                run.status = "stopped"
                run.stop_reason = f"spent ${run.spent_usd:.2f} of the ${max_cost:.2f} budget (--max-cost)"
        view.trial_done(ref, rec)
        if over and run.stop_reason:
            view.stopping(run.stop_reason)
        return rec

    jobs = [Job(i, job_fn) for i in range(len(todo))]
    try:
        sup.run(jobs)
    except KeyboardInterrupt as e:
        for job in jobs:
            if job.sealed:  # still running when the grace ended: its thread will not get to the journal
                journal_stopped(job)
        line, code = stop_line(e)  # `interrupted`, or `interrupted by SIGTERM` (exit 143)
        err = Interrupted(f"{line}; {len(run.records)} trial(s) of this run are recorded -- run the same "
                          "command again to resume", exit_code=code)
        err.records = run.records  # type: ignore[attr-defined]
        raise err from None
    for job in jobs:
        if job.error is not None:
            raise job.error
    if run.unreachable is not None:
        raise _stopped_unreachable(run)
    return run


def _stopped_unreachable(run: PilotRun) -> CredentialsError:
    """Exit 4 with the trial's own `cannot reach HOST (...)` line, as `run`, `grade` and `dream` give it,
    and what a re-run does with the trials recorded so far."""
    kept = sum(1 for r in run.records if r.get("scored"))
    recorded = "1 trial of this run is" if kept == 1 else f"{kept} trials of this run are"
    err = CredentialsError(f"{run.unreachable}; the pilot stopped: {recorded} recorded -- run the same command "
                           "again to resume")
    err.records = run.records  # type: ignore[attr-defined]
    return err
