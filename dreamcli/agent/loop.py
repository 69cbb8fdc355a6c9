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
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dreamcli.agent.approvals import Approvals, remembered_allows
from dreamcli.agent.callbacks import RunCallbacks
from dreamcli.agent.config_trust import honoured_commands
from dreamcli.agent.context import select_for_run, system_prompt
from dreamcli.agent.options import RunOptions
from dreamcli.agent.results import RunResult, StartInfo
from dreamcli.agent.run_context import RunContext
from dreamcli.agent.session_loop import BeforeEnd, OnEndTurn, SessionLoop
from dreamcli.agent.spec import TaskSpec
from dreamcli.agent.tools.base import ToolEnv
from dreamcli.agent.tools.registry import DEFAULT_TOOLS, Toolset
from dreamcli.codec import without_lone_surrogates
from dreamcli.config import Config
from dreamcli.errors import UsageError
from dreamcli.workspace.home import Workspace

if TYPE_CHECKING:
    from dreamcli.sessions.writer import SessionWriter


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
                          redact=writer.redact_text,
                          task_name=spec.name, playbooks=placed, tools=tool_names, max_turns=max_turns,
                          warnings=selection.warnings, missing_playbook=selection.missing,
                          with_proposal=trial_fields.get("with_proposal")))
    session = SessionLoop(
        client=client, writer=writer, toolset=toolset, cb=cb, spec=spec, model=model, workdir=workdir,
        max_turns=max_turns, max_tokens=config.limits.max_tokens, retries=config.limits.model_retries,
        system=without_lone_surrogates(system_prompt(workdir, tool_names, selection.placed)),  # a non-UTF-8 workdir
        cache=anthropic_endpoint,
        cancel=cancel, token_budget=options.token_budget,
        prompt_origin="delegation" if parent_session_id else None,  # a sub-agent's prompt is the lead's brief
        workspace=ws.root,
    )
    return session.run(on_end_turn=on_end_turn, before_end=before_end, placed=placed)

