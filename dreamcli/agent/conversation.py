"""Conversation helpers: SDK content blocks as request params, final text, stop reasons, and the
request body (full history every turn; prompt-cache breakpoints only on Anthropic endpoints)."""

from __future__ import annotations

from typing import Any

END_TURN = "end_turn"
STOP_SEQUENCE = "stop_sequence"
TOOL_USE = "tool_use"
MAX_TOKENS = "max_tokens"
PAUSE_TURN = "pause_turn"
REFUSAL = "refusal"
CONTEXT_EXCEEDED = "model_context_window_exceeded"

CONTINUE_AFTER_MAX_TOKENS = "Your last reply was cut off at the output token limit. Continue exactly where you stopped."
CUT_TOOL_CALL = (
    "This tool call was cut off at the output token limit, so it was not run. Send it again with "
    "smaller input (for example, write a large file in parts)."
)
MAX_TOKENS_CONTINUATIONS = 3
CONTINUING = frozenset({TOOL_USE, END_TURN, STOP_SEQUENCE, PAUSE_TURN})  # the reply's tool calls are run


def not_run(reason: str | None) -> str:
    """The tool_result for a call in a reply that ends the run (refusal, unknown stop_reason)."""
    return f"This tool call was not run: the reply ended with stop_reason {reason!r}, which ends the run."

_CONTEXT_HINTS = ("prompt is too long", "context window", "context_window", "context length",
                  "maximum context", "too many tokens")


class BadReply(ValueError):
    """A reply the API should never send (a tool_use block without an id or a name); the message says
    what was wrong, in one line. Nothing of such a reply is run or logged."""


def block_param(block: Any, index: int = 1) -> dict[str, Any]:
    """One content block of a response, as it must be sent back (no SDK-only null fields). `index`
    (1-based, in the reply's content) names the block in a BadReply."""
    data = block if isinstance(block, dict) else block.model_dump(mode="json", exclude_none=True)
    btype = data.get("type")
    if btype == "text":
        out: dict[str, Any] = {"type": "text", "text": data.get("text", "")}
        if data.get("citations"):
            out["citations"] = data["citations"]
        return out
    if btype == "tool_use":
        for key in ("id", "name"):
            value = data.get(key)
            if not isinstance(value, str) or not value:
                found = "" if value is None else f" (found {type(value).__name__} {str(value)[:40]!r})"
                raise BadReply(f"the reply's tool_use block {index} has no {key}{found}; nothing in it was run")
        return {"type": "tool_use", "id": data["id"], "name": data["name"], "input": data.get("input") or {}}
    if btype == "thinking":
        return {"type": "thinking", "thinking": data.get("thinking", ""), "signature": data.get("signature", "")}
    if btype == "redacted_thinking":
        return {"type": "redacted_thinking", "data": data.get("data", "")}
    return data


def content_params(content: Any) -> list[dict[str, Any]]:
    return [block_param(b, i) for i, b in enumerate(content or [], 1)]


def final_text(content: list[dict[str, Any]]) -> str:
    """The visible text of an assistant message (text blocks joined)."""
    return "\n".join(b.get("text", "") for b in content if b.get("type") == "text").strip()


def tool_uses(content: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b for b in content if b.get("type") == "tool_use"]


def is_context_window_error(e: BaseException) -> bool:
    """A 400 that says the conversation no longer fits the model's context window."""
    try:
        import anthropic
    except ImportError:  # pragma: no cover
        return False
    if not isinstance(e, anthropic.BadRequestError | anthropic.APIStatusError):
        return False
    if getattr(e, "status_code", None) not in (400, 413):
        return False
    text = str(getattr(e, "body", "") or "") + " " + str(e)
    return any(h in text.lower() for h in _CONTEXT_HINTS)


def build_request(
    *,
    model: str,
    max_tokens: int,
    system: str,
    tools: list[dict[str, Any]],
    messages: list[dict[str, Any]],
    cache: bool,
) -> dict[str, Any]:
    """The Messages API request. With `cache`, breakpoints on the system prompt (covering tools and
    playbooks) and on the last message (the growing history) -- added to copies, never to history."""
    system_block: dict[str, Any] = {"type": "text", "text": system}
    if cache:
        system_block["cache_control"] = {"type": "ephemeral"}
        messages = _with_tail_breakpoint(messages)
    request: dict[str, Any] = {
        "model": model,
        "max_tokens": max_tokens,
        "system": [system_block],
        "messages": messages,
    }
    if tools:
        request["tools"] = tools
    return request


def _with_tail_breakpoint(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not messages:
        return messages
    last = messages[-1]
    content = last.get("content")
    if isinstance(content, str):
        content = [{"type": "text", "text": content}]
    if not content:
        return messages
    tail = {**content[-1], "cache_control": {"type": "ephemeral"}}
    if tail.get("type") in ("thinking", "redacted_thinking"):
        return messages
    return [*messages[:-1], {**last, "content": [*content[:-1], tail]}]


REDACTED_TOOL_NAME = "redacted_tool_name"


def echo_content(sent: list[dict[str, Any]], logged: Any) -> list[dict[str, Any]]:
    """The assistant turn as it goes back to the model next turn: text, tool names and tool inputs from the
    logged (redacted) copy, so a secret the model wrote never travels again (a name is any text the model
    sent: an unknown tool's may hold one); thinking blocks unchanged (their signature covers their text)."""
    if not isinstance(logged, list) or len(logged) != len(sent):
        return sent
    out = []
    for orig, red in zip(sent, logged, strict=True):
        kind = orig.get("type") if isinstance(orig, dict) else None
        if kind == "tool_use" and isinstance(red, dict) and "input" in red:
            named = isinstance(red.get("name"), str) and red["name"] != orig.get("name")
            # the API takes tool names of [A-Za-z0-9_-] only: a marker in one would be refused, so a name the
            # redaction changed goes back as a plain placeholder (the tool_result follows it by id)
            out.append({**orig, "input": red["input"], **({"name": REDACTED_TOOL_NAME} if named else {})})
        elif kind == "text" and isinstance(red, dict) and isinstance(red.get("text"), str):
            out.append({**orig, "text": red["text"]})
        else:
            out.append(orig)
    return out
