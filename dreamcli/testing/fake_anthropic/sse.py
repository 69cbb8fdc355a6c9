"""Rendering a message as the Messages API's server-sent event stream.

Event order, as the real API sends it: message_start (empty content, stop_reason null), ping, then per
content block content_block_start / content_block_delta... / content_block_stop, then message_delta
(stop_reason, stop_sequence, cumulative usage) and message_stop.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

Event = tuple[str, dict[str, Any]]


def split_text(text: str, parts: int = 4) -> list[str]:
    """Split text into up to `parts` non-empty pieces (at least one piece, possibly empty)."""
    if len(text) <= 1:
        return [text]
    parts = min(parts, len(text))
    size = -(-len(text) // parts)
    return [text[i : i + size] for i in range(0, len(text), size)]


def split_json(raw: str, parts: int = 3) -> list[str]:
    """Split serialized JSON into pieces, never right after a backslash (so no escape is cut in two)."""
    pieces = split_text(raw, parts)
    out: list[str] = []
    carry = ""
    for piece in pieces:
        piece = carry + piece
        carry = ""
        while piece.endswith("\\"):
            carry = piece[-1] + carry
            piece = piece[:-1]
        if piece:
            out.append(piece)
    if carry:
        if out:
            out[-1] += carry
        else:
            out.append(carry)
    return out or [""]


def _block_events(index: int, block: dict[str, Any]) -> Iterator[Event]:
    btype = block.get("type")
    if btype == "text":
        start: dict[str, Any] = {"type": "text", "text": ""}
        if block.get("citations") is not None:
            start["citations"] = []
        yield "content_block_start", {"type": "content_block_start", "index": index, "content_block": start}
        for piece in split_text(str(block.get("text", ""))):
            if piece:
                delta = {"type": "text_delta", "text": piece}
                yield "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
        for citation in block.get("citations") or []:
            delta = {"type": "citations_delta", "citation": citation}
            yield "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
    elif btype in ("tool_use", "server_tool_use"):
        start = {k: v for k, v in block.items() if k != "input"}
        start["input"] = {}
        yield "content_block_start", {"type": "content_block_start", "index": index, "content_block": start}
        raw = json.dumps(block.get("input", {}), ensure_ascii=False)
        for piece in split_json(raw):
            delta = {"type": "input_json_delta", "partial_json": piece}
            yield "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
    elif btype == "thinking":
        start = {"type": "thinking", "thinking": "", "signature": ""}
        yield "content_block_start", {"type": "content_block_start", "index": index, "content_block": start}
        for piece in split_text(str(block.get("thinking", ""))):
            if piece:
                delta = {"type": "thinking_delta", "thinking": piece}
                yield "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
        delta = {"type": "signature_delta", "signature": str(block.get("signature", ""))}
        yield "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
    else:
        # redacted_thinking, server tool results, ...: sent whole in the start event, no deltas.
        start = dict(block)
        yield "content_block_start", {"type": "content_block_start", "index": index, "content_block": start}
    yield "content_block_stop", {"type": "content_block_stop", "index": index}


def message_events(message: dict[str, Any]) -> Iterator[Event]:
    """The SSE events that rebuild `message` (a full non-streaming Message dict) on the client."""
    usage = dict(message["usage"])
    start_usage = dict(usage, output_tokens=min(1, usage.get("output_tokens", 1)))
    start_msg = dict(message, content=[], stop_reason=None, stop_sequence=None, usage=start_usage)
    yield "message_start", {"type": "message_start", "message": start_msg}
    yield "ping", {"type": "ping"}
    for index, block in enumerate(message["content"]):
        yield from _block_events(index, block)
    delta = {"stop_reason": message["stop_reason"], "stop_sequence": message.get("stop_sequence")}
    yield "message_delta", {"type": "message_delta", "delta": delta, "usage": usage}
    yield "message_stop", {"type": "message_stop"}


def encode_event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()
