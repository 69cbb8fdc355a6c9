"""Sub-agents of a lead session: briefs in, final answers out (the engine of the `delegate` tool,
`dreamcli.orchestration.delegate`).

    briefs = parse_briefs(tool_input, available=("bash", "read", "grep"))   # BriefError: bad input
    results = run_subagents(lead, briefs)          # in parallel, at most lead.limit at once
    tool_result = format_results(results, cap_bytes, redact)  # redact: the lead's ToolEnv.redact

Each sub-agent is an ordinary `run_agent` session with an independent context: its own message
history (the brief is its first message; it never sees the lead's conversation), its own log with
`parent_session_id` = the lead's session and `agent: "subagent"` (and the lead's trial tags, `pilot`,
`with_proposal`, `trial`: `trial_tags`), the lead's model, workdir,
approval policy, memory store and playbooks (or the brief's `playbook`; a `run --with-proposal` lead's
trial as the lead placed it, whatever was decided since), the brief's subset of the
lead's tools (never `delegate`: one level deep), a turn limit (`max_turns`, default
DEFAULT_MAX_TURNS, at most the lead's own turn limit: its --max-turns, else its task's `max_turns`,
else limits.max_turns; each child is capped by it, their turns are not added to the lead's) and a
token budget (`token_budget`: input, output and cache tokens over all its turns, default
DEFAULT_TOKEN_BUDGET). The lead's log gets a `subagent` event when each child starts (status
`running`) and when it finishes (its status, turns, tokens, error). A child that fails -- a model
error, its turn limit or token budget, an exception -- becomes an error in the result; it never
ends the lead's run. Ctrl-C, or the lead's
own cancel event, stops every child (see `supervisor`) and is re-raised as KeyboardInterrupt so the
lead's log ends `interrupted` too.
Model calls: the command's one limit (`limiter`). Each child's totals: the lead's `on_subagent_totals` (`tally`).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dreamcli.agent.callbacks import RunCallbacks
from dreamcli.agent.loop import resolve_max_turns, run_agent
from dreamcli.agent.options import RunOptions
from dreamcli.agent.results import RunResult
from dreamcli.agent.spec import PLAYBOOK_NAME_RE, TaskSpec
from dreamcli.agent.tools.result import Redact, ToolResult, builtin_redact, cap_output
from dreamcli.agent.usage import Totals
from dreamcli.errors import EXIT_FAILED, EXIT_INTERRUPTED, DreamError, Interrupted
from dreamcli.orchestration.limiter import for_session, shared
from dreamcli.orchestration.supervisor import SEALED_ERROR, Job, Monitor, SupervisedWriter, Supervisor

DELEGATE = "delegate"
DEFAULT_MAX_TURNS = 20
DEFAULT_TOKEN_BUDGET = 400_000
MIN_TOKEN_BUDGET = 1_000
MAX_TOKEN_BUDGET = 5_000_000
MAX_BRIEFS = 500
MAX_BRIEF_CHARS = 50_000
CHILD_GRACE_S = 1.0  # how long stopped children get to end by themselves before their logs are sealed

SUBAGENT_PREAMBLE = """\
You are a sub-agent: a lead agent split a larger task and gave you one part of it. You do not see
the lead's conversation; the brief below is everything you know about the task. Work on exactly
this brief with your tools (you cannot start sub-agents yourself). Your final reply is returned to
the lead agent as your result: make it complete and self-contained, in the shape the brief asks for.

Brief:
"""


class BriefError(ValueError):
    """The delegate call's input is not usable (the message goes back to the lead as a tool error)."""


@dataclass(frozen=True)
class Brief:
    brief: str
    tools: tuple[str, ...] | None = None
    playbook: str | None = None
    max_turns: int | None = None
    token_budget: int | None = None


@dataclass
class SubagentResult:
    index: int
    brief: str
    session_id: str | None
    status: str  # completed, error, max_turns, interrupted, not_started
    final_text: str = ""
    error: str | None = None
    exit_code: int = 0
    turns: int = 0
    tokens: int = 0
    cost_usd: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "completed"

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "brief": self.brief, "session_id": self.session_id, "status": self.status,
                "final_text": self.final_text, "error": self.error, "exit_code": self.exit_code,
                "turns": self.turns, "tokens": self.tokens, "cost_usd": round(self.cost_usd, 6)}


@dataclass
class Lead:
    """What the sub-agents inherit from their lead session."""

    ws: Any
    config: Any
    session_id: str
    writer: Any  # the lead's SessionWriter (subagent events; its redactor is shared)
    workdir: Path
    model: str | None
    tools: tuple[str, ...]  # the lead's tools; children get a subset of these minus `delegate`
    options: RunOptions = field(default_factory=RunOptions)
    spec: TaskSpec | None = None
    client: Any = None
    cancel: threading.Event | None = None
    callbacks: RunCallbacks = field(default_factory=RunCallbacks)
    limit: int = 4

    @property
    def child_tools(self) -> tuple[str, ...]:
        return tuple(t for t in self.tools if t != DELEGATE)

    @property
    def max_turns(self) -> int:
        """The lead's own turn limit (its --max-turns, task file, then config): each child's cap."""
        return resolve_max_turns(self.options, self.spec or TaskSpec(prompt=""), self.config)


# --- input ---------------------------------------------------------------------------------------
def parse_briefs(data: Mapping[str, Any], *, available: Sequence[str]) -> list[Brief]:
    """`{"tasks": [{brief, tools?, playbook?, max_turns?, token_budget?}, ...]}` or one task's fields
    at the top level. BriefError names the first problem."""
    if "tasks" in data:
        if "brief" in data:
            raise BriefError("give either `tasks` (a list of briefs) or one `brief`, not both")
        tasks = data["tasks"]
        if not isinstance(tasks, list) or not tasks:
            raise BriefError("`tasks` must be a non-empty list of {brief, tools?, playbook?, max_turns?}")
        if len(tasks) > MAX_BRIEFS:
            raise BriefError(f"at most {MAX_BRIEFS} sub-agents per call (got {len(tasks)})")
        return [_one(t, f"tasks[{i}]", available) for i, t in enumerate(tasks)]
    return [_one(data, "input", available)]


def _one(item: Any, where: str, available: Sequence[str]) -> Brief:
    if not isinstance(item, Mapping):
        raise BriefError(f"{where}: each task is an object with at least `brief`")
    unknown = sorted(set(item) - {"brief", "tools", "playbook", "max_turns", "token_budget"})
    if unknown:
        raise BriefError(f"{where}: unknown field(s) {', '.join(unknown)}")
    text = item.get("brief")
    if not isinstance(text, str) or not text.strip():
        raise BriefError(f"{where}.brief: a non-empty string saying what the sub-agent must do and return")
    if len(text) > MAX_BRIEF_CHARS:
        raise BriefError(f"{where}.brief: longer than {MAX_BRIEF_CHARS} characters")
    tools = item.get("tools")
    if tools is not None:
        if not isinstance(tools, list) or not all(isinstance(t, str) for t in tools):
            raise BriefError(f"{where}.tools: a list of tool names")
        if DELEGATE in tools:
            raise BriefError(f"{where}.tools: sub-agents cannot delegate (one level deep); remove 'delegate'")
        missing = [t for t in tools if t not in available]
        if missing:
            raise BriefError(f"{where}.tools: {', '.join(missing)} not available to sub-agents "
                             f"(available: {', '.join(available) or 'none'})")
        tools = list(dict.fromkeys(tools))
    playbook = item.get("playbook")
    if playbook is not None and (not isinstance(playbook, str) or not PLAYBOOK_NAME_RE.match(playbook)):
        raise BriefError(f"{where}.playbook: a playbook name (ASCII letters, digits, '.', '_' or '-')")
    max_turns = _int_field(item, "max_turns", where, 1, 1000)
    budget = _int_field(item, "token_budget", where, MIN_TOKEN_BUDGET, MAX_TOKEN_BUDGET)
    return Brief(brief=text.strip(), tools=tuple(tools) if tools is not None else None, playbook=playbook,
                 max_turns=max_turns, token_budget=budget)


def _int_field(item: Mapping[str, Any], key: str, where: str, lo: int, hi: int) -> int | None:
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise BriefError(f"{where}.{key}: an integer from {lo} to {hi}")
    return value


# --- running -------------------------------------------------------------------------------------
def child_spec_and_options(lead: Lead, b: Brief) -> tuple[TaskSpec, RunOptions]:
    """The TaskSpec and RunOptions of one sub-agent (see the module docstring for what it inherits)."""
    turns = min(b.max_turns or DEFAULT_MAX_TURNS, lead.max_turns)
    tools = b.tools if b.tools is not None else lead.child_tools
    parent = lead.spec
    spec = TaskSpec(prompt=SUBAGENT_PREAMBLE + b.brief, name=parent.name if parent else None, workdir=lead.workdir,
                    playbook=parent.playbook if parent else None, tools=tools, model=lead.model,
                    max_turns=turns, tags=parent.tags if parent else ())
    o = lead.options
    options = RunOptions(
        model=lead.model, max_turns=turns, workdir=lead.workdir, playbook=b.playbook or o.playbook,
        use_playbooks=o.use_playbooks, allow=o.allow, yes=o.yes, ask=o.ask, memory_store=o.memory_store,
        tools=tools, playbook_loader=o.playbook_loader,
        with_proposal=o.with_proposal if keeps_trial(o, b) else None,
        trial=o.trial if keeps_trial(o, b) else None,  # the lead's, as it placed it: never rebuilt, never refused
        token_budget=b.token_budget or DEFAULT_TOKEN_BUDGET,
        start_fields={**trial_tags(lead, b), "agent": "subagent", "brief": b.brief,
                      "token_budget": b.token_budget or DEFAULT_TOKEN_BUDGET},
    )
    return spec, options


def keeps_trial(o: RunOptions, b: Brief) -> bool:
    """Whether the child of a lead's trial places that trial: unless its brief names another playbook (naming
    the trial's own keeps it)."""
    return not b.playbook or (o.trial is not None and b.playbook == o.trial.name)


TRIAL_TAGS = ("pilot", "with_proposal", "trial")  # a trial's session.start fields (docs/session-log.md)


def trial_tags(lead: Lead, b: Brief) -> dict[str, Any]:
    """The lead's trial tags, so that a trial's child is one on its own: a pilot's (its `start_fields`) as they are;
    a `run --with-proposal` child records its own, or the dream's id alone when its brief names another playbook."""
    o = lead.options
    tags = {k: o.start_fields[k] for k in TRIAL_TAGS if o.start_fields.get(k) is not None}
    if o.with_proposal and not keeps_trial(o, b) and "with_proposal" not in tags:
        from dreamcli.playbooks.proposals import resolve_dream_id

        try:
            tags["with_proposal"] = resolve_dream_id(lead.ws, o.with_proposal)
        except DreamError:  # gone since the lead placed it: still a trial's child
            tags["with_proposal"] = o.with_proposal
    return tags


def run_subagents(lead: Lead, briefs: list[Brief]) -> list[SubagentResult]:
    """Run the briefs as sub-agents, at most `lead.limit` at once (their model calls under the command's
    shared limit, `limiter`); results in brief order."""
    client = lead.client
    if client is None:  # a lead run without a shared client (tests, library use)
        from dreamcli.modelclient import make_client

        limits = lead.config.limits
        client = make_client(max_retries=limits.model_retries, timeout=limits.request_timeout_s)
    client = shared(client, lead.limit)  # a lead alone gets a limiter here; else it is the command's
    sup = Supervisor(lead.limit, parent_cancel=lead.cancel, grace_s=CHILD_GRACE_S, name="dreamcli-subagent")
    n = len(briefs)

    def job_fn(job: Job) -> SubagentResult:
        return _run_child(lead, briefs[job.index], job, n, for_session(client, sup.cancel), sup)

    jobs = [Job(i, job_fn) for i in range(n)]
    try:
        sup.run(jobs)
    except KeyboardInterrupt:
        for job in jobs:  # children stopped while blocked: their logs were sealed; tell the lead's log
            if job.sealed and job.writer is not None:
                _finished(lead, job, briefs[job.index], _sealed_result(job, briefs[job.index]), n)
        raise
    return [_result_of(job, briefs[job.index]) for job in jobs]


def _run_child(lead: Lead, b: Brief, job: Job, n: int, client: Any, sup: Supervisor) -> SubagentResult:
    from dreamcli.ids import new_ulid
    from dreamcli.store.sink import session_sink

    spec, options = child_spec_and_options(lead, b)
    writer = SupervisedWriter(lead.ws, session_id=new_ulid(), redactor=lead.writer.redactor,
                              sink=session_sink(lead.ws, lead.config))  # the index, and the bucket if any
    job.writer, job.monitor = writer, Monitor(_Started(lead, job.index, n, b.brief))
    sid = writer.session_id
    try:
        run = run_agent(lead.ws, lead.config, spec, options, callbacks=job.monitor, parent_session_id=lead.session_id,
                        writer=writer, client=client, cancel=sup.cancel)
    except Interrupted as e:
        stopped: RunResult | None = getattr(e, "result", None)
        if stopped is None:
            raise
        run = stopped
    except DreamError as e:  # refused before it started (a playbook, a tool): nothing ran
        writer.discard_if_empty()
        result = SubagentResult(job.index, b.brief, None if writer.lines == 0 else sid, "error", error=str(e),
                                exit_code=e.exit_code)
        return _finished(lead, job, b, result, n)
    except Exception as e:  # a bug in the child's session, or its log was sealed while it was blocked
        writer.discard_if_empty()
        result = SubagentResult(job.index, b.brief, sid if writer.lines else None, "error",
                                error=f"{type(e).__name__}: {e}",
                                exit_code=EXIT_FAILED, turns=job.monitor.totals.turns)
        return _finished(lead, job, b, result, n)
    t = run.totals
    result = SubagentResult(
        job.index, b.brief, run.session_id, run.status, final_text=run.final_text, error=run.error,
        exit_code=run.exit_code, turns=t.turns, cost_usd=t.cost_usd,
        tokens=t.input_tokens + t.output_tokens + t.cache_read_tokens + t.cache_write_tokens)
    return _finished(lead, job, b, result, n)


class _Started(RunCallbacks):
    """Logs `subagent started` in the lead's log once the child's session.start is written."""

    def __init__(self, lead: Lead, index: int, n: int, brief: str) -> None:
        self.lead, self.index, self.n, self.brief = lead, index, n, brief

    def on_start(self, info: Any) -> None:
        sid = info.session_id
        _lead_event(self.lead, "started", sid, self.brief, "running", index=self.index)
        _notify(self.lead, "started", sid, self.brief, "running",
                f"sub-agent {self.index + 1}/{self.n} started (session {sid}): {_shown(self.lead, self.brief, 80)}")


def _result_of(job: Job, b: Brief) -> SubagentResult:
    if _was_sealed(job):
        return _sealed_result(job, b)
    if isinstance(job.result, SubagentResult):
        return job.result
    sid = job.writer.session_id if job.writer is not None and job.writer.lines else None
    if job.error is not None:
        return SubagentResult(job.index, b.brief, sid, "error", error=f"{type(job.error).__name__}: {job.error}",
                              exit_code=EXIT_FAILED)
    return SubagentResult(job.index, b.brief, sid, "not_started", error="not started", exit_code=EXIT_INTERRUPTED)


def _sealed_result(job: Job, b: Brief) -> SubagentResult:
    totals = job.monitor.totals if job.monitor is not None else None
    return SubagentResult(job.index, b.brief, job.writer.session_id if job.writer else None, "interrupted",
                          error=SEALED_ERROR, exit_code=EXIT_INTERRUPTED, turns=totals.turns if totals else 0)


def _was_sealed(job: Job) -> bool:
    return job.writer is not None and job.writer.sealed_as == "interrupted"


def _finished(lead: Lead, job: Job, b: Brief, r: SubagentResult, n: int) -> SubagentResult:
    """Log `subagent finished` once, from whichever thread comes first, and return the result. A log the
    supervisor sealed as interrupted decides the outcome: a child that wakes up afterwards (its write
    fails, or its command was killed) cannot report anything else."""
    if _was_sealed(job):
        r = _sealed_result(job, b)
    if r.session_id is None or not job.once("finished"):
        return r
    hook = getattr(lead.callbacks, "on_subagent_totals", None)  # what the child spent: the run's summary
    if hook is not None:
        hook(job.monitor.totals if job.monitor is not None else Totals(turns=r.turns, cost_usd=r.cost_usd))
    brief = b.brief
    _lead_event(lead, "finished", r.session_id, brief, r.status, index=r.index, turns=r.turns, tokens=r.tokens,
                cost_usd=round(r.cost_usd, 6), error=r.error, exit_code=r.exit_code)
    what = r.status + (f": {_shown(lead, r.error, 100)}" if r.error and not r.ok else "")
    turns = f"{r.turns} turn{'s' if r.turns != 1 else ''}"
    _notify(lead, "finished", r.session_id, brief, r.status,
            f"sub-agent {r.index + 1}/{n} {what} · {turns} (session {r.session_id})")
    return r


def _lead_event(lead: Lead, event: str, child: str, brief: str, status: str, **extra: Any) -> None:
    with contextlib.suppress(RuntimeError):  # the lead's log was already ended (the lead is being stopped)
        lead.writer.subagent(event=event, child_session_id=child, brief=brief, status=status, **extra)


def _notify(lead: Lead, event: str, child: str, brief: str, status: str, line: str) -> None:
    lead.callbacks.on_notice(line)
    hook = getattr(lead.callbacks, "on_subagent", None)
    if hook is not None:
        hook(event, child, brief, status)


def _shown(lead: Lead, text: str, width: int) -> str:
    """A brief or an error for the live output: redacted before it is cut (a cut secret matches no rule)."""
    return _short(lead.writer.redactor.redact_text(text), width)


def _short(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


# --- output --------------------------------------------------------------------------------------
def format_results(results: list[SubagentResult], cap_bytes: int, redact: Redact | None = None) -> ToolResult:
    """One tool result for the lead: a summary line, then each sub-agent's final answer (or error), redacted
    with `redact` (the lead's `ToolEnv.redact`, with its config's patterns; else the built-in rules) before it is
    cut."""
    n = len(results)
    failed = [r for r in results if not r.ok]
    per_child = max(1_000, cap_bytes // max(1, n))
    truncated = False
    parts = [f"{n} sub-agent{'s' if n != 1 else ''} finished: {n - len(failed)} completed, {len(failed)} failed."]
    for r in results:
        turns = f"{r.turns} turn{'s' if r.turns != 1 else ''}"
        head = f"## Sub-agent {r.index + 1} of {n}: {r.status} ({turns}, session {r.session_id or '-'})"
        body = r.final_text.strip()
        if not r.ok:
            why = f"FAILED ({r.status}): {r.error or 'no error text'}"
            body = f"{why}\nIts last text: {body}" if body else why
        body, cut = cap_output(body or "(no final answer)", per_child, redact)
        truncated = truncated or cut
        parts.append(f"{head}\nBrief: {_short((redact or builtin_redact)(r.brief), 200)}\n\n{body}")
    text = "\n\n".join(parts)
    if failed:
        return ToolResult(text, is_error=True, exit_code=failed[0].exit_code or EXIT_FAILED,
                          error_kind="exit_nonzero", truncated=truncated)
    return ToolResult(text, exit_code=0, truncated=truncated)
