"""The agent loop: `run_agent(ws, config, spec, options) -> RunResult`.

    from dreamcli.agent import RunOptions, run_agent, load_task_file
    result = run_agent(ws, config, load_task_file(path), RunOptions(yes=True))

One call is one session with its own history, tools (a bash shell, file tools, memory) and
SessionWriter, so it may run in a worker thread next to others (sub-agents pass
`parent_session_id`). Every turn sends the full history; the response is streamed to `callbacks`.

Stop reasons (a reply only counts once its stream ended with `message_stop` and a stop_reason,
`modelcall.stream_turn`): under `tool_use`, `end_turn`, `stop_sequence` and `pause_turn` the reply's
tool calls are run and answered and the loop continues; without tool calls, `pause_turn` resends to
continue, `tool_use` is a malformed reply (exit 3), and `end_turn`/`stop_sequence` call
`on_end_turn(ctx)` -- a returned string is sent as a new user message and the loop continues, None
finishes with status `completed`. `max_tokens` asks the model to continue (cut-off tool calls are
answered with an error), at most 3 times in a row. `refusal` and `model_context_window_exceeded` (or
a context-window 400) end with status `error` (exit 1), an unknown stop_reason with `error` (exit 3);
tool calls in such a reply are answered as not run, so no tool_use is left unanswered in the log. A
reply with a tool_use block without an id or a name ends with `error` (exit 3) naming the block. The
turn limit ends with `max_turns` (exit 1); a model call that fails after retries ends with `error`
(exit 3, or 4 for refused credentials). Ctrl-C (KeyboardInterrupt, or `cancel` being set) writes
session.end `interrupted` and raises `dreamcli.errors.Interrupted` (exit 130) carrying `.result`;
SIGTERM and SIGHUP do the same inside `dreamcli.agent.signals.signals_as_interrupt` (exit 128 + signal).
One that cuts short the upload at the end (object storage: the log is whole by then) raises the same,
the result keeping its status, its `upload` "pending" (`RunResult.upload`: left for `doctor --fix`).

Hooks: `on_end_turn(TurnContext) -> str | None`; `before_end(TurnContext)` runs right before
session.end (ctx.status is set) and may add fields to `ctx.end_fields` (e.g. `outcome`). A
DreamError raised by a hook ends the session with status `error` and propagates.

A `writer` passed in is used for this session (its id is the session id) and is ended and closed by
`run_agent`. `client` may be any object with `messages.stream(**request)` (tests, benchmarks).
The client, options, callbacks, spec and `cancel` are handed to the tools as `ToolEnv.run` (a
`RunContext`), so a `delegate` tool can start child runs with the same approval policy and stop them
when the parent is cancelled.

Redaction: one Redactor per session (`agent.tools.credentials.run_redactor`, held by the writer). What the
model is sent as user content (the prompt, tool results, follow-ups) enters the history only through
the session log: the writer redacts it once and the history keeps the logged copy, so the model
sees exactly what the log records and secrets never go back to the model.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dreamcli.agent.conversation as conv
from dreamcli.agent.approvals import Approvals, remembered_allows
from dreamcli.agent.callbacks import RunCallbacks
from dreamcli.agent.config_trust import honoured_commands
from dreamcli.agent.context import select_for_run, system_prompt
from dreamcli.agent.modelcall import stream_turn
from dreamcli.agent.options import RunOptions
from dreamcli.agent.results import EXIT_BY_STATUS, RunResult, StartInfo, TurnContext
from dreamcli.agent.run_context import RunContext
from dreamcli.agent.signals import interrupt_reason
from dreamcli.agent.spec import TaskSpec
from dreamcli.agent.tools.base import ToolEnv
from dreamcli.agent.tools.registry import DEFAULT_TOOLS, Toolset
from dreamcli.agent.tools.result import ToolResult
from dreamcli.agent.usage import Totals, turn_cost
from dreamcli.codec import without_lone_surrogates
from dreamcli.config import Config
from dreamcli.errors import EXIT_FAILED, EXIT_INFRA, EXIT_INTERRUPTED, DreamError, Interrupted, UsageError
from dreamcli.workspace.home import Workspace

if TYPE_CHECKING:
    from dreamcli.sessions.writer import SessionWriter

OnEndTurn = Callable[[TurnContext], "str | None"]
BeforeEnd = Callable[[TurnContext], None]


def resolve_model(options: RunOptions, spec: TaskSpec, config: Config) -> str:
    from dreamcli.models import DEFAULT_AGENT_MODEL

    return options.model or spec.model or config.models.agent or DEFAULT_AGENT_MODEL


def resolve_max_turns(options: RunOptions, spec: TaskSpec, config: Config) -> int:
    """The run's turn limit: --max-turns, else the task's `max_turns`, else config limits.max_turns."""
    return options.max_turns or spec.max_turns or config.limits.max_turns


def resolve_workdir(options: RunOptions, spec: TaskSpec) -> Path:
    workdir = (options.workdir or spec.workdir or Path.cwd()).expanduser().resolve()
    if not workdir.is_dir():
        raise UsageError(f"working directory {workdir} does not exist or is not a directory")
    return workdir


def run_agent(
    ws: Workspace,
    config: Config,
    spec: TaskSpec,
    options: RunOptions | None = None,
    *,
    callbacks: RunCallbacks | None = None,
    on_end_turn: OnEndTurn | None = None,
    before_end: BeforeEnd | None = None,
    parent_session_id: str | None = None,
    session_id: str | None = None,
    writer: SessionWriter | None = None,
    client: Any = None,
    cancel: threading.Event | None = None,
) -> RunResult:
    """Run one agent session to its end and return the result (see the module docstring)."""
    from dreamcli.modelclient import base_url_host, is_anthropic_endpoint, make_client

    options = options or RunOptions()
    cb = callbacks or RunCallbacks()
    model = resolve_model(options, spec, config)
    max_turns = resolve_max_turns(options, spec, config)
    workdir = resolve_workdir(options, spec)
    if client is None:  # CredentialsError (exit 4) here, before any session file exists
        client = make_client(max_retries=config.limits.model_retries, timeout=config.limits.request_timeout_s)
    anthropic_endpoint = is_anthropic_endpoint()
    primary = options.playbook or spec.playbook or config.playbooks.default
    selection, trial_fields = select_for_run(
        ws, task_name=spec.name, tags=spec.tags, primary=primary, explicit=options.playbook,
        enabled=options.use_playbooks, loader=options.playbook_loader, with_proposal=options.with_proposal,
        workspace_default=None if options.playbook else config.playbooks.default, inherited=options.trial)
    # `tools: []` grants no tools (None: not given, every built-in one)
    chosen = options.tools if options.tools is not None else spec.tools
    tool_names = list(DEFAULT_TOOLS if chosen is None else chosen)
    if writer is None:
        from dreamcli.ids import new_ulid

        session_id = session_id or new_ulid()
    else:
        session_id = writer.session_id
    allow_commands, untrusted = honoured_commands(ws, config)  # a clone's config.yaml: only once trusted
    if untrusted is not None:
        selection.warnings.append(untrusted)
    approvals = Approvals(allow=options.allow, allow_commands=allow_commands,
                          allow_writes=config.approvals.allow_writes, yes=options.yes, ask=options.ask,
                          remembered=remembered_allows(ws))
    run = RunContext(options=replace(options, trial=selection.trial),  # the trial its sub-agents place
                     callbacks=cb, spec=spec, client=client, cancel=cancel, parent_session_id=parent_session_id)
    env = ToolEnv(ws=ws, config=config, workdir=workdir, session_id=session_id, approvals=approvals,
                  anthropic_endpoint=anthropic_endpoint, memory_store=options.memory_store, model=model, run=run)
    try:
        toolset = Toolset(tool_names, env)
    except ValueError as e:
        raise UsageError(str(e)) from None
    if writer is None:
        from dreamcli.agent.tools.credentials import run_redactor
        from dreamcli.sessions.writer import SessionWriter
        from dreamcli.store.sink import session_sink

        # the configured redactor plus the literal credentials this run was started with
        writer = SessionWriter(ws, session_id=session_id, redactor=run_redactor(config),
                               sink=session_sink(ws, config, on_wait=cb.on_store_wait))
    env.writer = writer
    placed = [p.record() for p in selection.placed]
    start_extra: dict[str, Any] = {"max_turns": max_turns, "tools": tool_names}
    if options.yes:
        start_extra["auto_approved"] = True
    start_extra.update(trial_fields)
    start_extra.update(options.start_fields)
    writer.start(
        task={"name": spec.name, "prompt": spec.prompt, "file": str(spec.file) if spec.file else None,
              "outcome": str(spec.outcome) if spec.outcome else None},
        model=model, workdir=str(workdir), playbooks=placed, parent_session_id=parent_session_id,
        base_url_host=base_url_host(), tags=list(spec.tags), source="dreamcli", **start_extra,
    )
    cb.on_start(StartInfo(session_id=writer.session_id, path=writer.path, model=model, workdir=workdir,
                          task_name=spec.name, playbooks=placed, tools=tool_names, max_turns=max_turns,
                          warnings=selection.warnings, missing_playbook=selection.missing,
                          with_proposal=trial_fields.get("with_proposal")))
    session = _Session(
        client=client, writer=writer, toolset=toolset, cb=cb, spec=spec, model=model, workdir=workdir,
        max_turns=max_turns, max_tokens=config.limits.max_tokens, retries=config.limits.model_retries,
        system=without_lone_surrogates(system_prompt(workdir, tool_names, selection.placed)),  # a non-UTF-8 workdir
        cache=anthropic_endpoint,
        cancel=cancel, token_budget=options.token_budget,
        prompt_origin="delegation" if parent_session_id else None,  # a sub-agent's prompt is the lead's brief
    )
    return session.run(on_end_turn=on_end_turn, before_end=before_end, placed=placed)


class _Session:
    """The state of one running session (history, totals) and the turn loop."""

    def __init__(self, *, client: Any, writer: SessionWriter, toolset: Toolset, cb: RunCallbacks, spec: TaskSpec,
                 model: str, workdir: Path, max_turns: int, max_tokens: int, retries: int, system: str,
                 cache: bool, cancel: threading.Event | None, token_budget: int | None = None,
                 prompt_origin: str | None = None) -> None:
        self.client, self.writer, self.toolset, self.cb = client, writer, toolset, cb
        self.spec, self.model, self.workdir = spec, model, workdir
        self.max_turns, self.max_tokens, self.retries = max_turns, max_tokens, retries
        self.system, self.cache, self.cancel = system, cache, cancel
        self.tool_params = toolset.params(cache=cache)
        self.messages: list[dict[str, Any]] = []
        self.totals = Totals()
        self.final_text = ""
        self.end_fields: dict[str, Any] = {}
        self.token_budget = token_budget
        self.prompt_origin = prompt_origin

    def context(self, status: str | None = None) -> TurnContext:
        return TurnContext(session_id=self.writer.session_id, turn=self.totals.turns, final_text=self.final_text,
                           messages=self.messages, totals=self.totals, spec=self.spec, workdir=self.workdir,
                           model=self.model, writer=self.writer, end_fields=self.end_fields, status=status,
                           client=self.client)

    def add_user(self, content: list[dict[str, Any]], origin: str | None = None) -> None:
        """Log a user message, then add the logged (redacted) copy to the history: the model sees
        exactly what the log records, and a secret in a tool result never goes back to the model.
        `origin` marks a message dreamcli wrote itself (docs/session-log.md): never the user's words."""
        event = self.writer.message("user", content, **({"origin": origin} if origin else {}))
        self.messages.append({"role": "user", "content": event["content"]})

    def _check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise KeyboardInterrupt

    # --- the loop ------------------------------------------------------------------------------
    def run(self, *, on_end_turn: OnEndTurn | None, before_end: BeforeEnd | None,
            placed: list[dict[str, Any]]) -> RunResult:
        t0 = time.perf_counter()
        status, error, exit_code = "error", None, EXIT_FAILED
        unexpected: BaseException | None = None
        try:
            self.add_user([{"type": "text", "text": self.spec.prompt}], origin=self.prompt_origin)
            status, error, exit_code = self._turns(on_end_turn)
        except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM/SIGHUP under dreamcli.agent.signals
            status = "interrupted"
            error, exit_code = interrupt_reason(e)
        except DreamError as e:  # e.g. raised by a hook (a grader that failed): end the log, re-raise
            status, error, unexpected = "error", str(e), e
        except Exception as e:  # a bug: still end the log cleanly, then re-raise
            status, error, unexpected = "error", f"internal error: {type(e).__name__}: {e}", e
        finally:
            self.toolset.close()
        self.totals.duration_ms = (time.perf_counter() - t0) * 1000
        if status != "interrupted":
            exit_code = EXIT_BY_STATUS.get(status, exit_code)
        if before_end is not None:
            before_end(self.context(status))
        cut: str | None = None  # why the upload at the end was cut short
        try:
            self.writer.end(status, error=error, totals=self.totals.to_json(), **self.end_fields)
        except KeyboardInterrupt as e:
            if not self.writer.ended:  # before the end line was written: the run ends interrupted, and says so
                status = "interrupted"
                error, exit_code = interrupt_reason(e)
                self.writer.end(status, error=error, totals=self.totals.to_json(), **self.end_fields)
            elif status != "interrupted":  # Ctrl-C or SIGTERM while the end's upload hangs: the log is whole
                cut, exit_code = interrupt_reason(e)
        from dreamcli.store.sink import upload_state

        result = RunResult(
            session_id=self.writer.session_id, path=self.writer.path, status=status, error=error,
            final_text=self.final_text, totals=self.totals, exit_code=exit_code, model=self.model,
            workdir=self.workdir, task_name=self.spec.name, playbooks=placed, messages=self.messages,
            end_fields=self.end_fields, upload=upload_state(self.writer.sink, self.writer.session_id),
        )
        self.cb.on_end(result)
        if unexpected is not None:
            raise unexpected
        if status == "interrupted" or cut is not None:
            raise _interrupted(result, cut)
        return result

    def _turns(self, on_end_turn: OnEndTurn | None) -> tuple[str, str | None, int]:
        from dreamcli.modelclient import api_error

        cut_offs = 0
        while True:
            self._check_cancel()
            if self.totals.turns >= self.max_turns:
                return "max_turns", f"turn limit reached ({self.max_turns} turns)", EXIT_FAILED
            t = self.totals
            used = t.input_tokens + t.output_tokens + t.cache_read_tokens + t.cache_write_tokens
            if self.token_budget and used >= self.token_budget:
                return "error", f"token budget reached ({used} of {self.token_budget} tokens)", EXIT_FAILED
            request = conv.build_request(model=self.model, max_tokens=self.max_tokens, system=self.system,
                                         tools=self.tool_params, messages=self.messages, cache=self.cache)
            try:
                turn = stream_turn(self.client, request, self.cb, retries=self.retries, cancel=self.cancel)
            except KeyboardInterrupt:
                raise
            except conv.BadReply as e:
                return "error", f"model call (turn {self.totals.turns + 1}): {e}", EXIT_INFRA
            except Exception as e:
                if conv.is_context_window_error(e):
                    return "error", _context_error(self.totals.turns), EXIT_FAILED
                mapped: DreamError = api_error(e, what=f"model call (turn {self.totals.turns + 1})")
                return "error", str(mapped), mapped.exit_code
            cost = turn_cost(turn.model, turn.usage)
            self.totals.add_turn(turn.usage, cost)
            extra: dict[str, Any] = {"retries": turn.retries} if turn.retries else {}
            logged = self.writer.message("assistant", turn.content, model=turn.model, stop_reason=turn.stop_reason,
                                         usage=turn.usage, latency_ms=turn.latency_ms, cost_usd=cost, **extra)
            self.messages.append({"role": "assistant", "content": conv.echo_content(turn.content, logged["content"])})
            self.cb.on_message(self.totals.turns, turn.stop_reason, turn.usage, cost)
            text = conv.final_text(turn.content)
            if text:
                self.final_text = text
            reason = turn.stop_reason
            uses = conv.tool_uses(turn.content)
            if reason == conv.MAX_TOKENS:
                cut_offs += 1
                if cut_offs > conv.MAX_TOKENS_CONTINUATIONS:
                    return "error", (f"the model's reply hit the output limit (max_tokens={self.max_tokens}) "
                                     f"{cut_offs} times in a row; raise limits.max_tokens"), EXIT_FAILED
                self.cb.on_notice("reply cut off at max_tokens; asking the model to continue")
                if uses:
                    self.add_user([_result_block(u["id"], conv.CUT_TOOL_CALL, True) for u in uses])
                else:
                    self.add_user([{"type": "text", "text": conv.CONTINUE_AFTER_MAX_TOKENS}], origin="continuation")
                continue
            cut_offs = 0
            if reason in conv.CONTINUING:  # tool_use, end_turn, stop_sequence, pause_turn
                if uses:  # whole tool calls (the stream ended with message_stop): run and answer them
                    self.add_user(self._run_tools(uses))
                    continue
                if reason == conv.PAUSE_TURN:
                    continue
                if reason == conv.TOOL_USE:
                    return "error", (f"model call (turn {self.totals.turns}): the reply stopped for tool_use "
                                     "but holds no tool call"), EXIT_INFRA
                follow_up = on_end_turn(self.context()) if on_end_turn is not None else None
                if not follow_up:
                    return "completed", None, 0
                self.cb.on_notice("follow-up sent to the model")
                self.add_user([{"type": "text", "text": follow_up}], origin="revision")
                continue
            if uses:  # the run ends here: answer its tool calls, so the log leaves none unanswered
                self.add_user([_result_block(u["id"], conv.not_run(reason), True) for u in uses])
            if reason == conv.REFUSAL:
                return "error", f"the model refused: {text or 'no explanation given'}", EXIT_FAILED
            if reason == conv.CONTEXT_EXCEEDED:
                return "error", _context_error(self.totals.turns), EXIT_FAILED
            what = "no stop_reason" if reason is None else f"an unknown stop_reason {reason!r}"
            return "error", (f"model call (turn {self.totals.turns}): the reply ended with {what}"
                             f"{f'; its {len(uses)} tool call(s) were not run' if uses else ''}"), EXIT_INFRA

    # --- tools ---------------------------------------------------------------------------------
    def _run_tools(self, uses: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [self._run_tool(u) for u in uses]

    def _run_tool(self, use: dict[str, Any]) -> dict[str, Any]:
        self._check_cancel()
        name, tool_input = use.get("name", ""), use.get("input")
        tool = self.toolset.get(name)
        key = tool.key_argument(tool_input) if tool is not None and isinstance(tool_input, dict) else ""
        self.cb.on_tool_start(name, key)
        t0 = time.perf_counter()
        if tool is None:
            known = ", ".join(self.toolset.tools)
            result = ToolResult.error(f"no tool named {name!r} in this session (tools: {known})", "not_found")
        elif not isinstance(tool_input, dict):
            result = ToolResult.error(f"{name}: input must be a JSON object", "invalid_input")
        else:
            try:
                result = tool.execute(tool_input)
            except KeyboardInterrupt:
                raise
            except Exception as e:
                result = ToolResult.error(f"{name} failed: {type(e).__name__}: {e}", "exception")
        duration_ms = round((time.perf_counter() - t0) * 1000, 2)
        self.totals.add_tool(result.is_error)
        extra = {"approval": result.approval} if result.approval else {}
        self.writer.tool(tool_use_id=use.get("id", ""), name=name, duration_ms=duration_ms,
                         exit_code=result.exit_code, error_kind=result.error_kind, truncated=result.truncated,
                         **extra)
        self.cb.on_tool_end(name, key, result, duration_ms)
        return _result_block(use.get("id", ""), result.content, result.is_error)  # redacted by add_user


def _interrupted(result: RunResult, cut: str | None) -> Interrupted:
    """The Interrupted of a run stopped before its end (its log ends `interrupted`), or while its end was
    uploading (`cut`: the log is whole, the upload pending); it carries the result."""
    if cut is not None:
        where = " while the session was uploading" if result.upload is not None else ""
        message = f"{cut}{where}; its log is complete (status {result.status})"
    else:
        head = "interrupted" if result.exit_code == EXIT_INTERRUPTED else result.error  # "interrupted by SIGTERM"
        message = f"{head}; the session log ends with status interrupted"
    err = Interrupted(f"{message}: {result.path}", exit_code=result.exit_code)
    err.result = result  # type: ignore[attr-defined]
    return err


def _result_block(tool_use_id: str, content: Any, is_error: bool) -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": tool_use_id, "content": content, "is_error": is_error}


def _context_error(turns: int) -> str:
    return (f"the conversation no longer fits the model's context window (after {turns} turns); "
            "split the task or use a model with a larger window")

