"""The tool interface every agent tool implements, and the per-session environment tools get.

A tool is an object with `name`, `description`, `input_schema` and `execute(input) -> ToolResult`.
It is created per session by a factory registered in `dreamcli.agent.tools.registry`, so state (a
bash process, a memory store handle) never leaks between sessions, and tools may run in worker
threads. `execute` must not raise for expected failures: it returns a ToolResult with `is_error`
and an `error_kind` from ERROR_KINDS (the loop turns unexpected exceptions into kind `exception`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import threading

    from dreamcli.agent.approvals import Approvals
    from dreamcli.agent.callbacks import RunCallbacks
    from dreamcli.agent.loop import RunOptions
    from dreamcli.config import Config
    from dreamcli.sessions.writer import SessionWriter
    from dreamcli.workspace.home import Workspace

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


@dataclass
class ToolEnv:
    """Everything a tool factory may need about the session it serves (one per session)."""

    ws: Workspace
    config: Config
    workdir: Path
    session_id: str
    approvals: Approvals
    anthropic_endpoint: bool = False
    memory_store: str = "default"
    writer: SessionWriter | None = None
    model: str | None = None
    # the run this session belongs to: a `delegate` tool derives its children's runs from these
    options: RunOptions | None = None
    callbacks: RunCallbacks | None = None
    cancel: threading.Event | None = None
    extras: dict[str, Any] = field(default_factory=dict)  # for tools added by other modules

    @property
    def output_cap(self) -> int:
        return self.config.limits.tool_output_bytes


class Tool:
    """Base class. Subclasses set name/description/input_schema and implement `execute`."""

    name: str = ""
    description: str = ""
    input_schema: dict[str, Any] = {"type": "object", "properties": {}}  # noqa: RUF012

    def to_param(self) -> dict[str, Any]:
        """The entry for the request's `tools` list (explicit schema: works on every endpoint)."""
        return {"name": self.name, "description": self.description, "input_schema": self.input_schema}

    def execute(self, input: dict[str, Any]) -> ToolResult:  # pragma: no cover - abstract
        raise NotImplementedError

    def key_argument(self, input: dict[str, Any]) -> str:
        """The one argument worth showing on a compact tool line (a path, a command)."""
        for key in ("command", "file_path", "path", "pattern", "old_path", "brief"):
            value = input.get(key)
            if isinstance(value, str) and value:
                return value
        return ""

    def close(self) -> None:
        """Release per-session resources (a shell process)."""


ToolFactory = Callable[[ToolEnv], Tool]


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
