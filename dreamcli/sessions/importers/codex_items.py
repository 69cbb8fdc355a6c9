"""Codex rollout items and events as session-log content: response items become content blocks, and
the events that say how a tool ran (`exec_command_end`, `patch_apply_end`, `mcp_tool_call_end`) become
facts on its `tool` event. The shapes read and ignored are listed in docs/importers.md."""

from __future__ import annotations

import json
from typing import Any

from dreamcli import codec
from dreamcli.sessions.importers.builder import SessionBuilder
from dreamcli.sessions.importers.common import text_of
from dreamcli.sessions.importers.lines import LineCounts
from dreamcli.sessions.importers.toolfacts import (
    TIMEOUT_EXIT,
    ToolFacts,
    duration_ms,
    facts_from_json_output,
    parse_json_output,
)

ITEM_TYPES = frozenset({"message", "reasoning", "function_call", "function_call_output", "custom_tool_call",
                        "custom_tool_call_output", "local_shell_call", "web_search_call", "tool_search_call",
                        "tool_search_output", "image_generation_call", "compaction", "compaction_summary",
                        "context_compaction", "ghost_snapshot", "agent_message", "additional_tools"})
CALL_ITEMS = frozenset({"function_call", "custom_tool_call", "local_shell_call", "web_search_call"})
OUTPUT_ITEMS = frozenset({"function_call_output", "custom_tool_call_output"})
# event_msg types that only repeat a response item for the UI, or carry nothing for the log
IGNORED_EVENTS = frozenset({
    "user_message", "agent_message", "agent_reasoning", "agent_reasoning_raw_content", "agent_reasoning_delta",
    "agent_message_delta", "context_compacted", "entered_review_mode", "exited_review_mode", "undo_started",
    "undo_completed", "thread_rolled_back", "thread_name_updated", "thread_goal_updated", "web_search_begin",
    "web_search_end", "exec_command_begin", "exec_command_output_delta", "terminal_interaction",
    "patch_apply_begin", "patch_apply_updated", "mcp_tool_call_begin", "image_generation_begin",
    "image_generation_end", "view_image_tool_call", "turn_diff", "plan_update", "item_started", "item_completed",
    "sub_agent_activity", "collab_tool_call", "collab_agent_spawn_begin", "collab_agent_spawn_end",
    "collab_agent_interaction_begin", "collab_agent_interaction_end", "collab_waiting_begin",
    "collab_waiting_end", "collab_close_begin", "collab_close_end", "collab_resume_begin", "collab_resume_end",
    "dynamic_tool_call_request", "dynamic_tool_call_response", "guardian_assessment", "warning",
    "stream_error", "background_event", "deprecation_notice", "session_configured", "mcp_startup_update",
    "mcp_startup_complete", "shutdown_complete", "request_user_input", "exec_approval_request",
    "apply_patch_approval_request", "elicitation_request", "model_reroute", "thread_settings_applied"})
FACT_EVENTS = frozenset({"exec_command_end", "patch_apply_end", "mcp_tool_call_end"})
# what a code-mode `exec` script (0.15x) ran, recorded only as an `item_completed` event without a call id
NESTED_ITEMS = frozenset({"CommandExecution", "FileChange"})
TURN_START = frozenset({"task_started", "turn_started"})
TURN_END = frozenset({"task_complete", "turn_complete"})
# Text Codex puts in user messages itself (environment, instructions, skills, shell commands the user
# ran with `!`): not the person's words.
_CONTEXT_PREFIXES = ("<environment_context>", "<user_instructions>", "# AGENTS.md", "<permissions",
                     "<INSTRUCTIONS>", "<user_shell_command>", "<skill>", "<skill ", "<collaboration_mode>",
                     "<personality", "<subagent_notification>", "<recommended_plugins>")
_ABORT_PREFIX = "<turn_aborted>"


def user_origin(text: str | None, item: dict[str, Any] | None = None) -> str | None:
    if text is None:
        return None
    meta = item.get("internal_chat_message_metadata_passthrough") if item else None
    kinds = meta.get("content_item_kinds") if isinstance(meta, dict) else None
    if isinstance(kinds, list) and kinds and not any(str(k).startswith("user.") for k in kinds):
        return "context"  # 0.15x names each part's origin: none of them the person's text
    start = text.lstrip()
    if start.startswith(_ABORT_PREFIX):
        return "interrupt"
    return "context" if start.startswith(_CONTEXT_PREFIXES) else None


def content_blocks(content: Any) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    for part in content if isinstance(content, list) else []:
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind in ("input_text", "output_text", "text") and isinstance(part.get("text"), str):
            blocks.append({"type": "text", "text": part["text"]})
        elif kind == "input_image":
            blocks.append({"type": "text", "text": "[image]"})
    return blocks


def tool_use(item: dict[str, Any], n: int) -> dict[str, Any] | None:
    kind = item.get("type")
    call_id = item.get("call_id") or item.get("id")
    if kind == "web_search_call" and not isinstance(call_id, str):
        call_id = f"web_search-{n}"  # server-side: the rollout keeps no id
    if not isinstance(call_id, str):
        return None
    if kind == "function_call":
        args = item.get("arguments")
        try:
            parsed = codec.loads(args) if isinstance(args, str) else args
        except (ValueError, RecursionError):
            parsed = None
        inp = parsed if isinstance(parsed, dict) else {"arguments": args}
        name = str(item.get("name") or "function")
        if isinstance(item.get("namespace"), str):  # MCP tools named by server in recent releases
            name = f"{item['namespace']}.{name}"
        return {"type": "tool_use", "id": call_id, "name": name, "input": inp}
    if kind == "custom_tool_call":
        return {"type": "tool_use", "id": call_id, "name": str(item.get("name") or "custom"),
                "input": {"input": item.get("input")}}
    if kind == "local_shell_call":
        action = item.get("action")
        return {"type": "tool_use", "id": call_id, "name": "local_shell",
                "input": action if isinstance(action, dict) else {"action": action}}
    if kind == "web_search_call":
        action = item.get("action")
        return {"type": "tool_use", "id": call_id, "name": "web_search",
                "input": action if isinstance(action, dict) else {}}
    return None


def tool_result(item: dict[str, Any]) -> tuple[dict[str, Any], ToolFacts] | None:
    """A tool_result block from a function_call_output / custom_tool_call_output, with what its output
    says about the run (an explicit `success: false`, a JSON exit code; the text header is read by the
    builder)."""
    call_id = item.get("call_id")
    if not isinstance(call_id, str):
        return None
    out = item.get("output")
    facts = ToolFacts()
    if isinstance(out, dict):  # {content, success}
        if out.get("success") is False:
            facts.failed = True
        out = out.get("content")
    if isinstance(out, list):
        out = text_of(out, 1 << 30) or ""
    text = out if isinstance(out, str) else json.dumps(out, ensure_ascii=False)
    data = parse_json_output(text)
    if data is not None:
        jf, inner = facts_from_json_output(data)
        if jf.exit_code is not None or jf.duration_ms is not None:
            facts = jf.merge(facts)
            if inner is not None:
                text = inner if jf.exit_code is None else f"Exit code: {jf.exit_code}\n{inner}"
    elif text.startswith("err: ") and facts.failed is None:  # an MCP call that failed (older releases)
        facts.failed = True
    return {"type": "tool_result", "tool_use_id": call_id, "content": text, "is_error": facts.failed is True}, facts


def reasoning(item: dict[str, Any]) -> dict[str, Any] | None:
    parts = []
    for key in ("summary", "content"):
        value = item.get(key)
        for p in value if isinstance(value, list) else []:
            if isinstance(p, dict) and isinstance(p.get("text"), str):
                parts.append(p["text"])
    if not parts:
        return None
    return {"type": "thinking", "thinking": "\n\n".join(parts)}


def event_facts(payload: dict[str, Any]) -> tuple[str, ToolFacts] | None:
    """(call id, facts) of an `exec_command_end`, `patch_apply_end` or `mcp_tool_call_end` event."""
    call_id = payload.get("call_id")
    if not isinstance(call_id, str):
        return None
    kind, status = payload.get("type"), payload.get("status")
    f = ToolFacts(duration_ms=duration_ms(payload.get("duration")))
    if kind == "exec_command_end":
        code = payload.get("exit_code")
        if isinstance(code, int) and not isinstance(code, bool):
            f.exit_code = code
            f.failed = code != 0
            if code == TIMEOUT_EXIT and "timed out" in str(payload.get("aggregated_output") or "")[:2000]:
                f.error_kind = "timeout"
    elif kind == "patch_apply_end":
        if isinstance(payload.get("success"), bool):
            f.failed = not payload["success"]
    elif kind == "mcp_tool_call_end":
        result = payload.get("result")
        if isinstance(result, dict):
            ok = result.get("Ok")
            f.failed = "Err" in result or (isinstance(ok, dict) and ok.get("isError") is True)
    if status == "failed":
        f.failed = True
    elif status == "declined":
        f.failed, f.error_kind = True, "refused"
    elif status in ("completed", "success") and f.failed is None:
        f.failed = False
    return call_id, f


def nested_facts(item: dict[str, Any]) -> ToolFacts:
    """Facts of a command or file change a code-mode script ran (`item_completed`): its exit code and
    status (the script's own output says `Script completed` even when the command failed)."""
    f = ToolFacts()
    code = item.get("exit_code")
    if isinstance(code, int) and not isinstance(code, bool):
        f.exit_code, f.failed = code, code != 0
    status = item.get("status")
    if status == "failed":
        f.failed = True
    elif status == "declined":
        f.failed, f.error_kind = True, "refused"
    elif status == "completed" and f.failed is None:
        f.failed = False
    return f


def usage_step(info: Any, previous: dict[str, Any] | None) -> tuple[dict[str, int] | None, dict[str, Any] | None]:
    """(usage in the Anthropic shape, the new running total) from a token_count `info`; None usage when
    the event repeats the previous total (Codex reports the same count more than once)."""
    if not isinstance(info, dict):
        return None, previous
    total = info.get("total_token_usage") if isinstance(info.get("total_token_usage"), dict) else None
    if total is not None and previous is not None and total == previous:
        return None, previous
    last = info.get("last_token_usage") if isinstance(info.get("last_token_usage"), dict) else None
    if last is None and total is not None:  # derive the step from the running totals
        prev = previous or {}
        last = {k: max(0, _int(total.get(k)) - _int(prev.get(k))) for k in total}
    if last is None:
        return None, total or previous
    inp, cached = _int(last.get("input_tokens")), _int(last.get("cached_input_tokens"))
    usage = {"input_tokens": max(0, inp - cached), "output_tokens": _int(last.get("output_tokens")),
             "cache_read_input_tokens": cached, "cache_creation_input_tokens": 0}
    return usage, total or previous


def _int(v: Any) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) and v > 0 else 0


TOKEN_COUNTERS = ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_output_tokens", "total_tokens")


def odd_token_count(info: Any) -> bool:
    """Whether a token_count `info` holds what Codex never writes: not an object, or a usage (`last_token_usage`,
    `total_token_usage`) that is not an object or has a counter that is neither null nor a whole number >= 0
    (a string, an object, a boolean). Its odd counters count 0 and the line is counted as malformed."""
    if info is None:
        return False
    if not isinstance(info, dict):
        return True
    for key in ("last_token_usage", "total_token_usage"):
        usage = info.get(key)
        if usage is None:
            continue
        if not isinstance(usage, dict):
            return True
        if any(usage.get(k) is not None and not (type(usage[k]) is int and usage[k] >= 0) for k in TOKEN_COUNTERS):
            return True
    return False


class Rollout:
    """The state of one rollout being converted: the current model response, facts waiting for their
    call's output, the running token total and how the last turn ended."""

    def __init__(self, b: SessionBuilder, model: str | None) -> None:
        self.b = b
        self.model = model
        self.response = 0  # one id per model response: assistant items in a row share it
        self.total: dict[str, Any] | None = None
        self.facts: dict[str, ToolFacts] = {}  # call id -> facts from an *_end event before its output
        self.turn_events = False  # this release writes task_started / task_complete
        self.turn_open = False
        self.calls = 0
        self.open: dict[str, str] = {}  # call id -> tool name of the calls waiting for their output

    def item(self, ts: str, item: dict[str, Any], counts: LineCounts) -> bool:
        kind = item.get("type")
        b = self.b
        if not isinstance(kind, str):
            counts.unknown["response_item:(no type)"] += 1
            return False
        if kind == "message":
            role = item.get("role")
            blocks = content_blocks(item.get("content"))
            if role == "assistant":
                b.assistant(ts, f"response-{self.response}", blocks, model=self.model)
            elif role == "user":
                self.response += 1
                origin = user_origin(text_of(blocks, 200), item)
                b.user(ts, blocks, origin=origin)
                if origin is None:
                    self.turn_open = True
            else:
                counts.ignored[f"message:{role}"] += 1
                return False
            return True
        if kind == "reasoning" or kind in CALL_ITEMS:
            self.calls += 1
            block = reasoning(item) if kind == "reasoning" else tool_use(item, self.calls)
            if block is None:
                counts.ignored[f"{kind}:empty" if kind == "reasoning" else str(kind)] += 1
                return False
            b.assistant(ts, f"response-{self.response}", [block], model=self.model)
            if kind in ("function_call", "custom_tool_call", "local_shell_call"):
                self.open[block["id"]] = block["name"]
            if kind == "web_search_call":  # run by the server: no output item follows
                status = item.get("status")
                b.answered_elsewhere(ts, block["id"], ToolFacts(failed=status == "failed"), status == "failed")
            return True
        if kind in OUTPUT_ITEMS:
            got = tool_result(item)
            if got is None:
                counts.malformed += 1
                return False
            block, facts = got
            known = self.facts.pop(block["tool_use_id"], None)
            self.open.pop(block["tool_use_id"], None)
            self.response += 1
            b.user(ts, [block], facts={block["tool_use_id"]: facts.merge(known)})
            return True
        if kind in ITEM_TYPES:
            counts.ignored[str(kind)] += 1
        else:
            counts.unknown[f"response_item:{kind}"] += 1
        return False

    def event(self, payload: dict[str, Any], counts: LineCounts) -> None:
        sub = payload.get("type")
        b = self.b
        if not isinstance(sub, str):
            counts.unknown["event_msg:(no type)"] += 1
            return
        if sub == "token_count":
            usage, self.total = usage_step(payload.get("info"), self.total)
            if usage is not None:
                if not b.attach_usage(usage):
                    b.add_usage_only(usage)
                self.response += 1
            if odd_token_count(payload.get("info")):  # read as today (odd counters count 0), counted malformed
                counts.malformed += 1
            else:
                counts.imported += 1
        elif sub in FACT_EVENTS:
            got = event_facts(payload)
            if got is None:
                counts.malformed += 1
            elif got[0] in b.answered:  # its output came first (a background process ended later)
                counts.ignored[f"event_msg:{sub}:after_output"] += 1
            else:
                self.facts[got[0]] = got[1].merge(self.facts.get(got[0]))
                counts.imported += 1
        elif sub in TURN_START or sub in TURN_END or sub in ("turn_aborted", "error"):
            self.turn(str(sub), payload)
            counts.imported += 1
        elif sub == "item_completed" and self.nested(payload.get("item")):
            counts.imported += 1
        elif sub in IGNORED_EVENTS:
            counts.ignored[f"event_msg:{sub}"] += 1
        else:
            counts.unknown[f"event_msg:{sub}"] += 1

    def nested(self, item: Any) -> bool:
        """A command or file change run inside a code-mode `exec` script: the event names no call, so it
        is the call's only when exactly one call is open and that call is `exec`. A failure is kept
        over a later success of the same script."""
        if not isinstance(item, dict) or item.get("type") not in NESTED_ITEMS or len(self.open) != 1:
            return False
        call_id, name = next(iter(self.open.items()))
        if name != "exec":
            return False
        known = self.facts.get(call_id)
        if known is None or known.failed is not True:
            self.facts[call_id] = nested_facts(item).merge(known)
        return True

    def turn(self, sub: str, payload: dict[str, Any]) -> None:
        b = self.b
        self.turn_events = True
        if sub in TURN_START:
            self.turn_open, b.interrupted, b.error = True, False, None
            self.open.clear()  # calls left unanswered by an earlier turn are not this turn's
        elif sub in TURN_END:
            self.turn_open, b.awaiting_reply, b.interrupted = False, False, False
        elif sub == "turn_aborted":
            if payload.get("reason") in (None, "interrupted"):
                b.interrupted = True
            self.turn_open = False
        elif sub == "error" and isinstance(payload.get("message"), str):
            b.error = payload["message"][:500]

    def status(self) -> str:
        """How the rollout ends. A release that writes turn events ends a turn with `task_complete`:
        a turn still open at the end of the file is incomplete even if its last item is a message."""
        status = self.b.status()
        if status == "completed" and self.turn_events and self.turn_open:
            return "incomplete"
        return status
