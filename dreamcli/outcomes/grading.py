"""Grading one run, and many on daemon worker threads: deterministic checks first, then the grader model for
the criteria it judges (cached per trial, majority vote over trials), then the score in code."""

from __future__ import annotations

import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dreamcli.config import Config
from dreamcli.daemonpool import DaemonPool, Task
from dreamcli.errors import CredentialsError, DreamError, Interrupted
from dreamcli.models import DEFAULT_GRADER_MODEL, cost_usd
from dreamcli.outcomes.cache import GradeCache, cache_key, cache_warning
from dreamcli.outcomes.check_types import BUDGETS
from dreamcli.outcomes.checks import CriterionResult, RunningCommands, not_judged, run_criterion_check
from dreamcli.outcomes.evidence import RunView, add_subagents, load_run, render_evidence
from dreamcli.outcomes.grader import GraderError, TrialVerdicts, build_params, call_grader
from dreamcli.outcomes.scoring import decide, explanation, majority, partial_explanation, weighted_score
from dreamcli.outcomes.spec import Criterion, OutcomeSpec
from dreamcli.redaction import for_config
from dreamcli.sessions.lineage import Family, is_imported
from dreamcli.workspace.home import Workspace
from dreamcli.workspace.workdirs import workdir_here

RESULTS = ("satisfied", "needs_revision", "failed", "partial", "error")


@dataclass
class GradeOptions:
    trials: int = 1
    use_cache: bool = True
    checks_only: bool = False  # judge only deterministic checks (no model; grader criteria skipped)
    model_override: str | None = None  # --grader: wins over the spec's and the config's model
    max_tokens: int = 4096
    allow_model_calls: bool = True  # False once a batch has answered: nothing is called directly
    # run --outcome grades the run's own workdir: one that is gone is the run's doing, and its checks fail;
    # `grade` leaves the checks of a workdir that is not here unjudged (another machine's, moved, removed)
    workdir_required: bool = False


@dataclass
class GradeResult:
    session_id: str
    outcome: str
    spec_hash: str
    result: str
    score: float | None
    threshold: float
    criteria: list[CriterionResult] = field(default_factory=list)
    grader_model: str | None = None
    usage: dict[str, int] = field(default_factory=dict)
    trials: int = 1
    error: str | None = None
    explanation: str = ""
    task: str | None = None
    outcome_path: str | None = None
    skipped: list[str] = field(default_factory=list)
    cached_trials: int = 0
    model_trials: int = 0
    cost_usd: float = 0.0  # what the verdicts cost when the grader gave them (cached ones too): the record's
    spent_usd: float = 0.0  # what this command's grader calls for this grade cost (unusable answers too)
    workdir_not_here: bool = False  # checks not judged because the session's workdir is not here: never a pass

    @property
    def failing(self) -> list[str]:
        return [c.id for c in self.criteria if not c.passed]

    @property
    def flaky(self) -> list[str]:
        return [c.id for c in self.criteria if c.flaky]

    def to_record(self) -> dict[str, Any]:
        """The grade record of docs/grades.md (the envelope is added by the store)."""
        return {
            "session_id": self.session_id, "outcome": self.outcome, "outcome_path": self.outcome_path,
            "task": self.task, "spec_hash": self.spec_hash, "result": self.result, "score": self.score,
            "threshold": self.threshold, "criteria": [c.to_json() for c in self.criteria],
            "grader_model": self.grader_model, "usage": self.usage, "cost_usd": round(self.cost_usd, 6),
            "trials": self.trials, "flaky": self.flaky, "skipped": self.skipped,
            "explanation": self.explanation, "error": self.error,
        }


class Grader:
    """Grades runs against specs. Thread-safe: one instance serves the whole pool."""

    def __init__(self, ws: Workspace, config: Config, options: GradeOptions | None = None, *,
                 client: Any = None, on_warning: Callable[[str], None] | None = None) -> None:
        self.ws = ws
        self.on_warning = on_warning or stderr_warning  # the CLI's `warning:` line (dreamcli.ui), when it has one
        self._cache_warned = False
        self.config = config
        self.options = options or GradeOptions()
        self.cache = GradeCache(ws, enabled=self.options.use_cache)
        self.redactor = for_config(config)
        self._client = client
        self._lock = threading.Lock()
        self.model_calls = 0
        self.batch_errors: dict[str, str] = {}  # cache key -> why the batch gave no verdict
        self.batch_error_cost: dict[str, float] = {}  # cache key -> what an unusable batch answer cost
        self.batch_verdicts: dict[str, TrialVerdicts] = {}  # cache key -> the batch's answer
        self.commands = RunningCommands()  # command checks running now (killed by cancel())
        self.family = Family(ws)  # sub-agents that leads' logs do not name, read once for all the grades

    def cancel(self) -> None:
        """Ctrl-C: kill the command checks in flight (their own session shields them from SIGINT) and
        start no more."""
        self.commands.kill_all()

    # --- configuration ----------------------------------------------------------------------
    def model_for(self, spec: OutcomeSpec) -> str:
        return (self.options.model_override or spec.grader or self.config.models.grader
                or DEFAULT_GRADER_MODEL)

    def needs_model(self, spec: OutcomeSpec) -> bool:
        return bool(spec.grader_criteria) and not self.options.checks_only

    def share_client(self, client: Any) -> None:
        """Call the grader through `client` (a run's own, which carries the command's limit on model calls in
        flight: docs/config.md), unless this Grader already has one."""
        with self._lock:
            if self._client is None:
                self._client = client

    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                from dreamcli.modelclient import make_client

                limits = self.config.limits
                self._client = make_client(max_retries=limits.model_retries, timeout=limits.request_timeout_s)
            return self._client

    # --- one run ----------------------------------------------------------------------------
    def locate(self, run: RunView) -> RunView:
        """`run` with its workdir where this workspace has it: a `copy_workdir` copy recorded by the workspace
        this one was copied or moved from is this one's own copy (dreamcli.workspace.workdirs)."""
        run.workdir = workdir_here(self.ws, run.workdir)
        return run

    def evidence(self, run: RunView, spec: OutcomeSpec) -> str:
        run = self.locate(run)
        return render_evidence(run, extra_paths=spec.named_paths(), redactor=self.redactor)

    def trial_keys(self, run: RunView, spec: OutcomeSpec, evidence: str) -> list[str]:
        model = self.model_for(spec)
        return [cache_key(content_hash=run.session_hash, evidence=evidence, spec_hash=spec.spec_hash, model=model,
                          trial=t) for t in range(1, self.options.trials + 1)]

    def request_params(self, spec: OutcomeSpec, evidence: str) -> dict[str, Any]:
        from dreamcli.modelclient import is_anthropic_endpoint

        return build_params(spec, spec.grader_criteria, evidence, model=self.model_for(spec), redactor=self.redactor,
                            max_tokens=self.options.max_tokens, cache_prompt=is_anthropic_endpoint())

    def judge(self, spec: OutcomeSpec, evidence: str, key: str, tally: GradeResult | None = None) -> TrialVerdicts:
        """One trial's verdicts: the batch's or the cache's, else a grader call. A call made is counted (in
        `model_calls` and `tally.model_trials`) whether it answers or fails: it was sent, and retried, either way.
        What this command paid goes to `tally.spent_usd`: a call's answer, usable or not (billed either way),
        and a batch answer collected now; a verdict from the cache cost nothing now."""
        ids = [c.id for c in spec.grader_criteria]
        bought = self.batch_verdicts.get(key)
        if bought is not None:
            self._spend(tally, cost_usd(bought.model, bought.usage, batch=True))
            return bought
        cached = self.cache.get(key, ids)
        if cached is not None:
            return cached
        if key in self.batch_errors:
            self._spend(tally, self.batch_error_cost.get(key, 0.0))
            raise GraderError(self.batch_errors[key])
        if not self.options.allow_model_calls:
            raise GraderError("no verdict from the batch for this session")
        params = self.request_params(spec, evidence)
        client = self.client()
        try:
            verdicts = call_grader(client, params, ids)
        except GraderError as e:  # answered, so billed, but unusable
            self._spend(tally, cost_usd(e.model or params["model"], e.usage))
            raise
        finally:
            with self._lock:
                self.model_calls += 1
            if tally is not None:
                tally.model_trials += 1
        self._spend(tally, cost_usd(verdicts.model, verdicts.usage))
        self.remember(key, verdicts)
        return verdicts

    @staticmethod
    def _spend(tally: GradeResult | None, usd: float) -> None:
        if tally is not None:
            tally.spent_usd += usd

    def remember(self, key: str, verdicts: TrialVerdicts) -> None:
        """Keep a verdict the grader returned in the grade cache, if the disk lets it: the verdict was paid
        for and stands either way. A cache that cannot be written (a full or read-only disk) is said once."""
        try:
            self.cache.put(key, verdicts)
        except OSError as e:
            with self._lock:
                first, self._cache_warned = not self._cache_warned, True
            if first:
                self.on_warning(cache_warning(e))

    def grade_run(self, run: RunView, spec: OutcomeSpec) -> GradeResult:
        """Grade one run. Never raises for a bad run or cache entry: anything unexpected is an `error`
        result (unscored, exit 3); only missing credentials and an interrupt propagate."""
        try:
            return self._grade_run(run, spec)
        except (CredentialsError, Interrupted):
            raise
        except Exception as e:
            message = f"internal error while grading: {type(e).__name__}: {e}"
            res = error_result(run.session_id, spec, message)
            res.task, res.trials = run.task_name, self.options.trials
            return res

    def _grade_run(self, run: RunView, spec: OutcomeSpec) -> GradeResult:
        run = self.locate(run)  # the checks read files and run commands in it
        budgets = any(c.check is not None and c.check.type in BUDGETS for c in spec.check_criteria)
        if budgets and (run.child_ids or is_imported(run)):  # an imported lead's log may not name them all
            add_subagents(run, self.ws, self.family)  # a budget is the lead's and its sub-agents' (docs/outcomes.md)
        return self.score_run(run, spec, spec.criteria)

    def score_run(self, run: RunView, spec: OutcomeSpec, criteria: Sequence[Criterion]) -> GradeResult:
        """The one scoring of `grade`, `run --outcome` and `grade --calibrate`: `criteria` (the spec's, or those
        an example can meet) checked, then judged by the grader, all redacted with the workspace's redactor,
        decided with the run's status. A grader error is an `error` result (its message redacted); missing
        credentials, an interrupt and unexpected errors propagate."""
        result = GradeResult(run.session_id, spec.name, spec.spec_hash, "error", None, spec.pass_threshold,
                             trials=self.options.trials, task=run.task_name, outcome_path=spec.source or None)
        # not judged, with why: checks of a workdir that is not here, grader criteria under --checks-only (None)
        unjudged: dict[str, str | None] = {} if self.options.workdir_required else {
            c.id: why for c in criteria if c.check is not None and (why := not_judged(c.check, run, self.redactor))}
        by_id: dict[str, CriterionResult] = {
            c.id: run_criterion_check(c, run, running=self.commands, redactor=self.redactor)
            for c in criteria if c.check is not None and c.id not in unjudged}
        judged = [c for c in criteria if c.check is None]
        if judged and self.options.checks_only:
            unjudged.update((c.id, None) for c in judged)
            judged = []
        result.skipped = [c.id for c in criteria if c.id in unjudged]
        summary = ""
        if judged:
            model = self.model_for(spec)
            result.grader_model = model
            try:
                evidence = self.evidence(run, spec)
                trials = [self.judge(spec, evidence, key, result) for key in self.trial_keys(run, spec, evidence)]
            except CredentialsError:
                raise
            except DreamError as e:
                result.criteria = [by_id[c.id] for c in criteria if c.id in by_id]
                result.error = self.redactor.redact_text(str(e))
                result.explanation = f"grader error: {result.error}"
                return result
            for t in trials:
                for k, v in t.usage.items():
                    result.usage[k] = result.usage.get(k, 0) + v
                result.cost_usd += cost_usd(t.model or model, t.usage, batch=t.batch)
                result.cached_trials += int(t.cached)
            by_id.update({c.id: c for c in majority(judged, trials, redactor=self.redactor)})
            summary = next((t.summary for t in trials if t.summary), "")
        result.criteria = [by_id[c.id] for c in criteria if c.id in by_id]
        if result.skipped:  # criteria not judged: scored over the judged weight, never a pass (docs/outcomes.md)
            result.result = "partial"
            result.score = weighted_score(result.criteria) if result.criteria else None
            result.explanation = partial_explanation(result.criteria, [(cid, unjudged[cid]) for cid in result.skipped])
            result.workdir_not_here = any(unjudged[cid] is not None for cid in result.skipped)
            return result
        result.score = weighted_score(result.criteria)
        result.result = decide(result.score, spec.pass_threshold, run_status=run.status)
        result.explanation = explanation(result.criteria, result.score, spec.pass_threshold, summary,
                                         redactor=self.redactor)
        return result


def stderr_warning(message: str) -> None:
    """A `warning:` line on stderr, for a Grader made without `on_warning` (the CLI gives dreamcli.ui's)."""
    sys.stderr.write(f"warning: {message}\n")
    sys.stderr.flush()


def error_result(session_id: str, spec: OutcomeSpec, message: str) -> GradeResult:
    return GradeResult(session_id, spec.name, spec.spec_hash, "error", None, spec.pass_threshold, error=message,
                       explanation=f"grader error: {message}", outcome_path=spec.source or None)


def grade_path(grader: Grader, path: Path, spec: OutcomeSpec) -> GradeResult:
    try:
        run = load_run(path)
    except OSError as e:
        return error_result(path.stem, spec, f"cannot read session {path}: {e.strerror}")
    return grader.grade_run(run, spec)


Job = tuple[Path, OutcomeSpec]


def grade_sessions(
    grader: Grader, jobs: Iterable[Job], *, concurrency: int = 4, store: bool = True,
    on_result: Callable[[GradeResult], None] | None = None,
) -> Iterator[GradeResult]:
    """Grade every job and yield results in job order, appending each to the grade store. Jobs that
    wait on something (a grader call, a command check) run on `concurrency` daemon worker threads with at
    most a few jobs per worker in flight; purely deterministic in-process jobs run inline (threads would
    only contend for the GIL). Memory stays flat however many sessions. On Ctrl-C nothing waits for the
    grader calls in flight: their daemon threads never keep the process alive (dreamcli.daemonpool)."""
    from dreamcli.outcomes.store import GradeAppender

    window: deque[Task[GradeResult]] = deque()
    ahead = max(2, concurrency * 4)
    pool = DaemonPool(concurrency, name="dreamcli-grade")
    appender = GradeAppender(grader.ws) if store else None

    def finish(task: Task[GradeResult]) -> GradeResult:
        res = task.result()
        if appender is not None:
            appender.append(res.to_record())
        if on_result is not None:
            on_result(res)
        return res

    try:
        for path, spec in jobs:
            if _waits(grader, spec):
                window.append(pool.submit(grade_path, grader, path, spec))
            else:
                window.append(Task.run(grade_path, grader, path, spec))
            while len(window) >= ahead or (window and window[0].done()):
                yield finish(window.popleft())
        while window:
            yield finish(window.popleft())
    except KeyboardInterrupt:
        grader.cancel()
        raise Interrupted("interrupted: grades finished so far are stored") from None
    except BaseException:  # the consumer gave up, or a job raised: do not wait for the calls in flight
        grader.cancel()
        raise
    finally:
        pool.shutdown()
        if appender is not None:
            appender.close()


def _waits(grader: Grader, spec: OutcomeSpec) -> bool:
    return grader.needs_model(spec) or any(c.check is not None and c.check.type == "command" for c in spec.criteria)
