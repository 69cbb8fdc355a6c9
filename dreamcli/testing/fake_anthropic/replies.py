"""Scripted replies for the fake Anthropic server, and the builders tests use to make them.

A `Reply` is one answer to one POST /v1/messages request: a successful message (content blocks,
stop_reason, usage), an HTTP error (`error_reply`) or a dropped connection (`drop`). The server turns
a successful reply into a JSON Message or into an SSE stream, depending on the request.
"""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dreamcli.testing.fake_anthropic.recorded import RecordedRequest

Block = dict[str, Any]
Match = Callable[[RecordedRequest], bool]

STOP_REASONS = frozenset(
    {
        "end_turn",
        "tool_use",
        "max_tokens",
        "pause_turn",
        "refusal",
        "stop_sequence",
        "model_context_window_exceeded",
    }
)

# HTTP status -> Anthropic error type, as the real API answers them.
ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    409: "conflict_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str) -> str:
    """An id shaped like the API's ("msg_01...", "toolu_01...", "msgbatch_01...")."""
    return prefix + "01" + "".join(secrets.choice(_ALPHABET) for _ in range(22))


@dataclass
class Reply:
    """One scripted answer.

    content/stop_reason/usage/model describe a successful message. `status` != 200 makes it an error
    reply (see `error_reply`); `drop=True` closes the connection without answering (see `drop`).
    `match`, if given, must accept the request, otherwise the request is reported as unexpected.
    `latency` overrides server.latency for this reply; `stream_delay` sleeps between SSE events.
    `stream_error` ({"type", "message"}) ends a stream mid-way with an SSE error event (see
    `stream_error_reply`).
    """

    content: list[Block] = field(default_factory=list)
    stop_reason: str | None = "end_turn"
    usage: dict[str, int] | None = None
    model: str | None = None
    match: Match | None = None
    stop_sequence: str | None = None
    status: int = 200
    error_type: str | None = None
    error_message: str = ""
    retry_after: float | None = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    latency: float | None = None
    stream_delay: float = 0.0
    stream_error: dict[str, str] | None = None

    def __post_init__(self) -> None:
        if self.status == 200 and not self.drop and self.stop_reason not in STOP_REASONS:
            raise ValueError(f"unknown stop_reason {self.stop_reason!r}; expected one of {sorted(STOP_REASONS)}")
        for block in self.content:
            if not isinstance(block, dict) or "type" not in block:
                raise ValueError(f"content blocks must be API-shaped dicts with a 'type': {block!r}")

    @property
    def is_error(self) -> bool:
        return self.status != 200

    def describe(self) -> str:
        """A short human label for failure messages."""
        if self.drop:
            return "drop()"
        if self.is_error:
            return f"error_reply({self.status}, {self.error_message!r})"
        if self.stream_error is not None:
            return f"stream_error_reply({self.stream_error.get('type')})"
        kinds = ",".join(_describe_block(b) for b in self.content)
        return f"Reply([{kinds}], stop_reason={self.stop_reason})"

    def error_body(self) -> dict[str, Any]:
        etype = self.error_type or ERROR_TYPES.get(self.status, "api_error")
        return {"type": "error", "error": {"type": etype, "message": self.error_message}}

    def response_headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        if self.retry_after is not None:
            seconds = self.retry_after
            headers.setdefault("retry-after", str(int(seconds)) if seconds == int(seconds) else str(seconds))
            # The client treats a retry-after of 0 as "not given" and backs off ~0.5 s; the more precise
            # retry-after-ms (which it reads first) keeps test retries fast. Minimum 1 ms for that reason.
            headers.setdefault("retry-after-ms", str(max(1, round(seconds * 1000))))
        return headers


def _describe_block(block: Block) -> str:
    btype = block.get("type")
    if btype == "text":
        text = str(block.get("text", ""))
        return f"text:{text[:30]!r}"
    if btype == "tool_use":
        return f"tool_use:{block.get('name')}"
    return str(btype)


def tool_use(name: str, input: dict[str, Any], id: str | None = None) -> Block:
    """A tool_use content block; the id is generated ("toolu_...") when not given."""
    return {"type": "tool_use", "id": id or new_id("toolu_"), "name": name, "input": dict(input)}


def thinking(text: str, signature: str | None = None) -> Block:
    """A thinking content block (extended thinking), with an opaque signature."""
    return {"type": "thinking", "thinking": text, "signature": signature or ("sig_" + secrets.token_hex(16))}


def text_reply(
    text: str,
    *,
    stop_reason: str = "end_turn",
    usage: dict[str, int] | None = None,
    model: str | None = None,
    match: Match | None = None,
    thinking_text: str | None = None,
) -> Reply:
    """A reply with one text block (optionally preceded by a thinking block)."""
    content: list[Block] = []
    if thinking_text is not None:
        content.append(thinking(thinking_text))
    content.append({"type": "text", "text": text})
    return Reply(content=content, stop_reason=stop_reason, usage=usage, model=model, match=match)


def tool_reply(
    *tool_uses: Block,
    text: str | None = None,
    stop_reason: str = "tool_use",
    usage: dict[str, int] | None = None,
    model: str | None = None,
    match: Match | None = None,
) -> Reply:
    """A reply asking for one or more tool calls, optionally preceded by a text block."""
    if not tool_uses:
        raise ValueError("tool_reply needs at least one tool_use(...) block")
    content: list[Block] = []
    if text is not None:
        content.append({"type": "text", "text": text})
    content.extend(tool_uses)
    return Reply(content=content, stop_reason=stop_reason, usage=usage, model=model, match=match)


def error_reply(
    status: int,
    *,
    message: str = "fake server: scripted error",
    error_type: str | None = None,
    retry_after: float | None = None,
    headers: dict[str, str] | None = None,
    match: Match | None = None,
) -> Reply:
    """An HTTP error answer with the API's error body {"type":"error","error":{"type","message"}}."""
    if status < 400:
        raise ValueError("error_reply needs an HTTP error status (>= 400)")
    return Reply(
        status=status,
        error_type=error_type,
        error_message=message,
        retry_after=retry_after,
        headers=dict(headers or {}),
        match=match,
        stop_reason=None,
    )


def stream_error_reply(
    partial_text: str = "",
    *,
    error_type: str = "overloaded_error",
    message: str = "Overloaded",
    match: Match | None = None,
) -> Reply:
    """A stream that starts fine (HTTP 200, some text) and then fails with an SSE `error` event, as
    the API does when it overloads mid-response. The client raises it while iterating, so its retries
    do not apply. A non-streaming request gets the same error as an HTTP 529 (overloaded) or 500."""
    content = [{"type": "text", "text": partial_text}] if partial_text else []
    return Reply(content=content, match=match, stream_error={"type": error_type, "message": message})


def drop(match: Match | None = None) -> Reply:
    """Close the connection without any response (the client sees a connection error)."""
    return Reply(drop=True, match=match, stop_reason=None)


# ---------------------------------------------------------------------------------------------
# Rendering a successful reply as an API Message.


def estimate_tokens(obj: Any) -> int:
    """Roughly 4 characters per token, like the real tokenizer on English text."""
    text = obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False)
    return max(1, len(text) // 4)


def full_usage(reply: Reply, request_body: Any) -> dict[str, int]:
    """The reply's usage with every missing field filled in from the sizes of request and reply."""
    usage = {
        "input_tokens": estimate_tokens(request_body if request_body is not None else ""),
        "output_tokens": estimate_tokens(reply.content) if reply.content else 1,
        "cache_read_input_tokens": 0,
        "cache_creation_input_tokens": 0,
    }
    usage.update(reply.usage or {})
    return usage


def message_json(reply: Reply, request_body: Any, *, message_id: str | None = None) -> dict[str, Any]:
    """The non-streaming Message object for a successful reply."""
    model = reply.model or (request_body.get("model") if isinstance(request_body, dict) else None)
    return {
        "id": message_id or new_id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": model or "claude-fake",
        "content": [dict(b) for b in reply.content],
        "stop_reason": reply.stop_reason,
        "stop_sequence": reply.stop_sequence,
        "usage": full_usage(reply, request_body),
    }
