"""Many tasks at once (`dreamcli run TASK... --parallel N`): one session per task, graded by its outcome.

    tasks = prepare_batch(ws, config, specs)          # outcome specs load here: exit 2 before any run
    runs = run_batch(ws, config, tasks, RunOptions(yes=True), parallel=4,
                     callbacks_for=view.callbacks_for, on_done=view.done)
    [r.to_json() for r in runs]; any(not r.ok for r in runs)

Each task runs `run_agent` in a worker thread (at most `parallel` at once) with the revision loop
of its outcome (`dreamcli.outcomes.revision`, as `run --outcome` does), one shared model client and
one redactor. The client carries the command's one limit on model calls in flight (`limiter`):
limits.concurrency, or `parallel` when that is larger, over the leads and all their sub-agents.
A run is ok when it completed and, with an outcome, the outcome was satisfied. Ctrl-C stops every
run (and their sub-agents), closes every log with status `interrupted` and raises
`dreamcli.errors.Interrupted` carrying `.runs` (the results so far: `not_started` for the tasks that
never started); SIGTERM and SIGHUP the same, each run's error and the exception's line naming the signal.

A task with `copy_workdir: true` gets its copy when it starts, not before the batch does (unless
`options.workdir` is given, which it runs in instead): an interrupted (or killed) batch leaves no copy for a
task that never ran, and a copy whose session never started (refused, or stopped first) is removed.
"""

from __future__ import annotations

import glob as globmod
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dreamcli.agent.callbacks import RunCallbacks
from dreamcli.agent.loop import run_agent
from dreamcli.agent.options import RunOptions
from dreamcli.agent.results import RunResult
from dreamcli.agent.spec import TaskSpec
from dreamcli.errors import EXIT_FAILED, EXIT_INTERRUPTED, DreamError, Interrupted, UsageError, storage_error
from dreamcli.interrupts import stop_line
from dreamcli.orchestration.limiter import for_session, shared
from dreamcli.orchestration.subagents import CHILD_GRACE_S
from dreamcli.orchestration.supervisor import (
    INTERRUPTED_ERROR,
    Job,
    Monitor,
    SupervisedWriter,
    Supervisor,
    sealed_error,
)
from dreamcli.orchestration.tally import SubagentTally, spend_json
from dreamcli.workspace.userpath import user_path

LEAD_GRACE_S = CHILD_GRACE_S + 1.5  # a lead waiting on sub-agents needs theirs first
_GLOB_CHARS = ("*", "?", "[")


def expand_task_args(args: Iterable[str | Path], *,
                     on_repeat: Callable[[list[Path]], None] | None = None) -> list[Path]:
    """Task file arguments with globs expanded (for when the shell did not, e.g. a quoted pattern),
    in the order given, each file once. UsageError for a pattern or file that matches nothing.
    `on_repeat` is told the files given more than once (by name or through globs that overlap), if any."""
    out: list[Path] = []
    seen: set[Path] = set()
    repeated: list[Path] = []
    for arg in args:
        text = str(arg)
        path = user_path(Path(text).expanduser(), "task file")
        if not path.exists() and any(c in text for c in _GLOB_CHARS):
            matches = sorted(globmod.glob(str(path), recursive=True))
            files = [Path(m) for m in matches if Path(m).is_file()]
            if not files:
                raise UsageError(f"no task files match {text!r}")
        elif not path.is_file():
            raise UsageError(f"task file {text} does not exist" if not path.exists() else f"{text} is not a file")
        else:
            files = [path]
        for f in files:
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                out.append(f)
            elif f not in repeated:
                repeated.append(f)
    if repeated and on_repeat is not None:
        on_repeat(repeated)
    return out


@dataclass
class BatchTask:
    index: int
    spec: TaskSpec
    loop: Any = None  # the outcome's RevisionLoop, or None

    @property
    def label(self) -> str:
        return self.spec.name or (self.spec.file.stem if self.spec.file else f"task {self.index + 1}")


@dataclass
class BatchRun:
    index: int
    task: str
    file: str | None
    status: str  # completed, error, max_turns, interrupted, not_started (see `run_state`)
    session_id: str | None = None
    error: str | None = None
    exit_code: int = 0
    outcome: dict[str, Any] | None = None  # {name, result, score, iterations}
    duration_s: float = 0.0
    result: RunResult | None = field(default=None, repr=False)
    subagents: SubagentTally = field(default_factory=SubagentTally, repr=False)  # what its sub-agents spent

    @property
    def ok(self) -> bool:
        if self.status != "completed":
            return False
        return self.outcome is None or self.outcome.get("result") == "satisfied"

    @property
    def state(self) -> str:
        """ok, failed (ran and failed), interrupted (stopped while it ran) or not_started."""
        if self.ok:
            return "ok"
        return self.status if self.status in ("interrupted", "not_started") else "failed"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = self.result.to_json() if self.result is not None else {}
        data.update({"index": self.index, "task": self.task, "file": self.file, "status": self.status,
                     "session_id": self.session_id, "error": self.error, "exit_code": self.exit_code,
                     "outcome": self.outcome, "ok": self.ok, "duration_s": round(self.duration_s, 3)})
        data.update(spend_json(self.result.totals if self.result is not None else None, self.subagents))
        return data


def prepare_batch(ws: Any, config: Any, specs: list[TaskSpec], *,
                  on_warning: Callable[[str], None] | None = None) -> list[BatchTask]:
    """One BatchTask per spec, with its outcome's revision loop (an invalid spec: InputError, exit 2), whose
    grader tells `on_warning` what it says (a grade cache not written: the CLI's `warning:` line)."""
    from dreamcli.outcomes.revision import revision_loop_for

    tasks = [BatchTask(i, spec, revision_loop_for(ws, config, spec.outcome)) for i, spec in enumerate(specs)]
    for task in tasks:
        if task.loop is not None and on_warning is not None:
            task.loop.grader.on_warning = on_warning
    return tasks


def run_batch(
    ws: Any,
    config: Any,
    tasks: list[BatchTask],
    options: RunOptions,
    *,
    parallel: int,
    client: Any = None,
    callbacks_for: Callable[[BatchTask], RunCallbacks] | None = None,
    on_done: Callable[[BatchRun], None] | None = None,
    cancel: threading.Event | None = None,
) -> list[BatchRun]:
    """Run the tasks, at most `parallel` at once; results in task order (see the module docstring)."""
    from dreamcli.agent.tools.credentials import run_redactor

    if client is None:  # CredentialsError (exit 4) here, before any session exists
        from dreamcli.modelclient import make_client

        client = make_client(max_retries=config.limits.model_retries, timeout=config.limits.request_timeout_s)
    client = shared(client, max(config.limits.concurrency, parallel))  # one limit for every model call below
    redactor = run_redactor(config)  # the one redactor of every task's log, the credentials' values too
    sup = Supervisor(parallel, parent_cancel=cancel, grace_s=LEAD_GRACE_S, name="dreamcli-task")

    from dreamcli.store.sink import session_sink

    def job_fn(job: Job) -> BatchRun:
        task = tasks[job.index]
        inner = callbacks_for(task) if callbacks_for is not None else None
        writer = SupervisedWriter(ws, redactor=redactor, sink=session_sink(ws, config))  # index, bucket
        writer.supervisor = sup
        job.writer, job.monitor = writer, Monitor(inner)
        run = _run_one(ws, config, task, options, writer, job.monitor, for_session(client, sup.cancel), sup)
        if _sealed(job) or run.status == "not_started":  # sealed after Ctrl-C (its command killed): that stands
            return _run_of(job, task, redactor.redact_text, ws, sup) if _sealed(job) else run
        if on_done is not None and job.once("done"):
            on_done(run)
        return run

    jobs = [Job(i, job_fn) for i in range(len(tasks))]
    try:
        sup.run(jobs)
    except KeyboardInterrupt as e:
        runs = [_run_of(job, tasks[job.index], redactor.redact_text, ws, sup) for job in jobs]
        line, code = stop_line(e)  # `interrupted`, or `interrupted by SIGTERM` (exit 143)
        closed = sum(r.status == "interrupted" and r.session_id is not None for r in runs)  # not a task copying
        err = Interrupted(f"{line}; {closed} session(s) closed with status interrupted", exit_code=code)
        err.runs = runs  # type: ignore[attr-defined]
        raise err from None
    return [_run_of(job, tasks[job.index], redactor.redact_text, ws, sup) for job in jobs]


def _run_one(ws: Any, config: Any, task: BatchTask, options: RunOptions, writer: SupervisedWriter,
             monitor: Monitor, client: Any, sup: Supervisor) -> BatchRun:
    t0 = time.perf_counter()
    loop = task.loop
    hooks = {"on_end_turn": loop.on_end_turn, "before_end": loop.before_end} if loop is not None else {}
    base = BatchRun(task.index, task.label, str(task.spec.file) if task.spec.file else None, "error",
                    subagents=monitor.subagents)
    spec, copy = task.spec, None
    try:
        if sup.cancel.is_set():  # stopped as it was taken from the queue: no copy, no session
            writer.discard_if_empty()
            return _not_started(task, sup.stop[1] if sup.stop is not None else EXIT_INTERRUPTED)
        if options.workdir is None and task.spec.copy_workdir:
            from dreamcli.agent.scratch import with_fresh_workdir

            spec = with_fresh_workdir(ws, spec)  # the copy is made as the task starts
            copy = spec.workdir
        result = run_agent(ws, config, spec, options, callbacks=monitor, writer=writer, client=client,
                           cancel=sup.cancel, **hooks)
    except Interrupted as e:
        stopped: RunResult | None = getattr(e, "result", None)
        if stopped is None:
            raise
        result = stopped
    except DreamError as e:  # refused before the session started (a playbook, the workdir): may quote a file
        writer.discard_if_empty()
        base.error, base.exit_code = writer.redactor.redact_text(str(e)), e.exit_code
        base.duration_s = time.perf_counter() - t0
        return base
    except Exception as e:  # a full or read-only disk (exit 74, as a single `run` says it), else a bug
        writer.discard_if_empty()
        error, base.exit_code = _failure(e, ws)
        base.error = writer.redactor.redact_text(error)
        base.session_id = writer.session_id if writer.lines else None
        base.duration_s = time.perf_counter() - t0
        return base
    finally:
        if copy is not None and writer.lines == 0:  # a copy no session refers to (refused, or stopped first)
            shutil.rmtree(copy, ignore_errors=True)
    base.status, base.session_id, base.result = result.status, result.session_id, result
    from dreamcli.outcomes.revision import grader_error_line

    # may quote the model; a run whose outcome's grader failed says so, as a single `run --json` does
    why = result.error or grader_error_line(loop)
    base.error = writer.redactor.redact_text(why) if why else None
    outcome = result.end_fields.get("outcome")
    base.outcome = outcome if isinstance(outcome, dict) else None
    base.exit_code = result.exit_code or (loop.exit_code if loop is not None else 0)
    if base.exit_code == 0 and not base.ok:
        base.exit_code = EXIT_FAILED
    if result.status == "interrupted" and sup.stop is not None:  # the loop saw the cancel: say what set it
        base.exit_code = sup.stop[1]
        if result.error == INTERRUPTED_ERROR:
            base.error = sup.stop[0]
    base.duration_s = time.perf_counter() - t0
    return base


def _sealed(job: Job) -> bool:
    return job.sealed or (job.writer is not None and job.writer.sealed_as == "interrupted")


def _failure(e: BaseException, ws: Any) -> tuple[str, int]:
    """The error and exit code of a run that raised `e`: the one line of the machine's storage (a full or
    read-only disk, ...: exit 74) as a single `run` prints it, else an internal error (a bug: exit 1)."""
    stored = storage_error(e, workspace=ws.root) if isinstance(e, OSError) else None
    if stored is not None:
        return str(stored), stored.exit_code
    return f"internal error: {type(e).__name__}: {e}", EXIT_FAILED


def _not_started(task: BatchTask, exit_code: int = EXIT_INTERRUPTED) -> BatchRun:
    return BatchRun(task.index, task.label, str(task.spec.file) if task.spec.file else None, "not_started",
                    error="interrupted before it started", exit_code=exit_code)


def _run_of(job: Job, task: BatchTask, redact: Callable[[str], str], ws: Any, sup: Supervisor) -> BatchRun:
    """The task's BatchRun: the one its job returned, or one made from how the job ended (an error in it
    redacted with `redact`, the run redactor, as the error of a run that returned; `ws`: the workspace;
    `sup.stop`: what stopped the batch, if anything did)."""
    if isinstance(job.result, BatchRun) and not _sealed(job):
        return job.result
    file = str(task.spec.file) if task.spec.file else None
    sid = job.writer.session_id if job.writer is not None and job.writer.lines else None
    subs = job.monitor.subagents if job.monitor is not None else SubagentTally()
    reason, code = sup.stop or (INTERRUPTED_ERROR, EXIT_INTERRUPTED)
    if _sealed(job):
        return BatchRun(task.index, task.label, file, "interrupted", session_id=sid, error=sealed_error(reason),
                        exit_code=code, subagents=subs)
    if job.error is not None:
        error, failed = _failure(job.error, ws)
        return BatchRun(task.index, task.label, file, "error", session_id=sid, exit_code=failed,
                        error=redact(error), subagents=subs)
    if job.state != "running":
        return _not_started(task, code)
    return BatchRun(task.index, task.label, file, "interrupted", session_id=sid, exit_code=code,
                    error=sealed_error(reason), subagents=subs)
