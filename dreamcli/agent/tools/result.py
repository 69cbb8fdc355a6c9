"""What a tool call returns (`ToolResult`) and how long output is capped.

A leaf: it imports nothing from the rest of dreamcli.agent, so the loop, the callbacks, the tools and
dreamcli.orchestration can all use it without an import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ERROR_KINDS = ("refused", "timeout", "exit_nonzero", "not_found", "invalid_input", "outside_root", "exception")
TRUNCATION_MARKER = "\n[... output truncated: {omitted} of {total} bytes omitted ...]\n"

ToolContent = str | list[dict[str, Any]]


@dataclass
class ToolResult:
    """What a tool call produced. `content` goes back to the model as the tool_result content."""

    content: ToolContent
    is_error: bool = False
    exit_code: int | None = None
    error_kind: str | None = None
    truncated: bool = False
    approval: str | None = None  # allowed, asked, refused, yes (set by the approval gate)

    @classmethod
    def error(cls, message: str, kind: str, **kw: Any) -> ToolResult:
        return cls(content=message, is_error=True, error_kind=kind, **kw)


def cap_output(text: str, limit: int) -> tuple[str, bool]:
    """Keep at most `limit` bytes (UTF-8) of `text`: head and tail with a marker in between."""
    data = text.encode("utf-8", errors="replace")
    if len(data) <= limit:
        return text, False
    return capped_text(data, data, len(data), limit), True


def capped_text(head: bytes, tail: bytes, total: int, limit: int) -> str:
    """At most `limit` bytes: the start of `head`, a marker, the end of `tail` (of `total` bytes)."""
    marker_room = 100
    keep = max(0, limit - marker_room)
    start = head[: keep // 2].decode("utf-8", errors="ignore")
    end = tail[max(0, len(tail) - (keep - keep // 2)):].decode("utf-8", errors="ignore")
    omitted = total - len(start.encode()) - len(end.encode())
    return start + TRUNCATION_MARKER.format(omitted=omitted, total=total) + end
