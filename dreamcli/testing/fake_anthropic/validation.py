"""The request checks the real Messages API makes that client code most often gets wrong.

Each returns an error message (worded like the API's 400 invalid_request_error) or None.
"""

from __future__ import annotations

from typing import Any


def _blocks(content: Any) -> list[dict[str, Any]]:
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def check_messages_body(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "request body must be a JSON object"
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "model: Field required"
    if not isinstance(body.get("max_tokens"), int) or body["max_tokens"] < 1:
        return "max_tokens: Field required (a positive integer)"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: at least one message is required"
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            return f"messages.{i}.role: Input should be 'user' or 'assistant'"
        content = message.get("content")
        if not isinstance(content, (str, list)):
            return f"messages.{i}.content: Field required"
        if isinstance(content, list) and not content and i != len(messages) - 1:
            return f"messages.{i}: all messages must have non-empty content"
    return check_tool_pairing(messages)


def check_tool_pairing(messages: list[dict[str, Any]]) -> str | None:
    """tool_use blocks must be answered by tool_result blocks in the very next (user) message."""
    for i, message in enumerate(messages):
        blocks = _blocks(message.get("content"))
        if message.get("role") == "assistant":
            ids = [b.get("id") for b in blocks if b.get("type") == "tool_use"]
            if not ids:
                continue
            nxt = messages[i + 1] if i + 1 < len(messages) else None
            answered = set()
            if nxt is not None and nxt.get("role") == "user":
                answered = {b.get("tool_use_id") for b in _blocks(nxt.get("content")) if b.get("type") == "tool_result"}
            missing = [x for x in ids if x not in answered]
            if missing:
                return (
                    f"messages.{i + 1}: `tool_use` ids were found without `tool_result` blocks immediately "
                    f"after: {', '.join(map(str, missing))}. Each `tool_use` block must have a corresponding "
                    "`tool_result` block in the next message."
                )
        else:
            prev_ids: set[Any] = set()
            if i > 0 and messages[i - 1].get("role") == "assistant":
                prev_ids = {b.get("id") for b in _blocks(messages[i - 1].get("content")) if b.get("type") == "tool_use"}
            seen_other = False
            for j, block in enumerate(blocks):
                if block.get("type") != "tool_result":
                    seen_other = True
                    continue
                if block.get("tool_use_id") not in prev_ids:
                    return (
                        f"messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` blocks: "
                        f"{block.get('tool_use_id')}. Each `tool_result` block must have a corresponding "
                        "`tool_use` block in the previous message."
                    )
                if seen_other:
                    return (
                        f"messages.{i}.content.{j}: `tool_result` blocks must come first in the content "
                        "array, before any other content."
                    )
    return None
