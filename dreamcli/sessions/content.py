"""A message's `content` as readers of a log see it: untrusted past the reader's type checks (a block's
`text` may be a number, a tool result's `content` a number or a list of anything)."""

from __future__ import annotations

from typing import Any


def content_blocks(content: Any) -> list[dict[str, Any]]:
    """The content's blocks: a string is one text block; anything else that is not a list has none."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def result_text(content: Any, *, fallback: bool = True) -> str:
    """A tool result's text: the string, or its text blocks joined; without any, the content as JSON
    (`fallback`) or ""."""
    if isinstance(content, str):
        return content
    parts = [str(b.get("text", "")) for b in content_blocks(content) if b.get("type") == "text"]
    if parts or not fallback:
        return "\n".join(parts)
    import json  # the rare fallback: a listing that imports this module never loads it

    return json.dumps(content, ensure_ascii=False, default=str)
