"""One running session of `run_agent` (dreamcli/agent/loop.py): `SessionLoop` holds its history and totals,
runs the turn loop (a model call per turn, the reply's stop reason deciding what comes next) and the tool
calls of each reply. `run_agent` sets the session up and hands it over; the stop reasons, hooks and
redaction it follows are in loop.py's docstring."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dreamcli.agent.conversation as conv
from dreamcli.agent.callbacks import RunCallbacks
from dreamcli.agent.modelcall import stream_turn
from dreamcli.agent.results import EXIT_BY_STATUS, RunResult, TurnContext
from dreamcli.agent.signals import interrupt_reason
from dreamcli.agent.spec import TaskSpec
from dreamcli.agent.tools.registry import Toolset
from dreamcli.agent.tools.result import ToolResult
from dreamcli.agent.usage import Totals, turn_cost
from dreamcli.errors import EXIT_FAILED, EXIT_INFRA, EXIT_INTERRUPTED, DreamError, Interrupted, storage_error

if TYPE_CHECKING:
    from dreamcli.sessions.writer import SessionWriter

OnEndTurn = Callable[[TurnContext], "str | None"]
BeforeEnd = Callable[[TurnContext], None]


class SessionLoop:
    """The state of one running session (history, totals) and the turn loop."""

    def __init__(self, *, client: Any, writer: SessionWriter, toolset: Toolset, cb: RunCallbacks, spec: TaskSpec,
                 model: str, workdir: Path, max_turns: int, max_tokens: int, retries: int, system: str,
                 cache: bool, cancel: threading.Event | None, token_budget: int | None = None,
                 prompt_origin: str | None = None, workspace: Path | None = None) -> None:
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
        self.workspace = workspace  # its root: a file refused in there is dreamcli's own (storage, not a bug)

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
        except Exception as e:  # a bug, or the machine's storage: still end the log cleanly, then re-raise
            status, unexpected = "error", e
            error, exit_code = _failure(e, self.workspace)
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
            text = conv.final_text(logged["content"])  # as logged: a secret the session redacted stays so
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
                follow_up = self._review(on_end_turn) if on_end_turn is not None else None
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

    def _review(self, on_end_turn: OnEndTurn) -> str | None:
        """The end-of-turn hook's follow-up; the live view is told while it runs (a grader may take a while)."""
        self.cb.on_turn_review(True)
        try:
            return on_end_turn(self.context())
        finally:
            self.cb.on_turn_review(False)

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


def _failure(e: Exception, workspace: Path | None) -> tuple[str, int]:
    """The session.end error of a run that raised `e`, and its exit code: the machine's storage (a full or
    read-only disk, a workspace file out of this user's reach) as the CLI prints it (exit 74, the file named),
    else an internal error (a bug, exit 1). `workspace` is its root, as the CLI's own `storage_error` call has
    it, so that both classify a permission error the same way."""
    stored = storage_error(e, workspace=workspace) if isinstance(e, OSError) else None
    if stored is not None:
        return str(stored), stored.exit_code
    return f"internal error: {type(e).__name__}: {e}", EXIT_FAILED


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
