"""The tool interface every agent tool implements, and the per-session environment tools get.

A tool is an object with `name`, `description`, `input_schema` and `execute(input) -> ToolResult`.
It is created per session by a factory registered in `dreamcli.agent.tools.registry`, so state (a
bash process, a memory store handle) never leaks between sessions, and tools may run in worker
threads. `execute` must not raise for expected failures: it returns a ToolResult with `is_error`
and an `error_kind` from ERROR_KINDS (the loop turns unexpected exceptions into kind `exception`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dreamcli.agent.tools.paths import Fence, fences_in
from dreamcli.agent.tools.result import (
    ERROR_KINDS,
    TRUNCATION_MARKER,
    Redact,
    ToolContent,
    ToolResult,
    cap_output,
    capped_text,
)

if TYPE_CHECKING:
    from dreamcli.agent.approvals import Approvals
    from dreamcli.agent.run_context import RunContext
    from dreamcli.config import Config
    from dreamcli.sessions.writer import SessionWriter
    from dreamcli.workspace.home import Workspace

__all__ = [
    "ERROR_KINDS",
    "TRUNCATION_MARKER",
    "Redact",
    "Tool",
    "ToolContent",
    "ToolEnv",
    "ToolFactory",
    "ToolResult",
    "cap_output",
    "capped_text",
]


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
    run: RunContext | None = None  # the run this session belongs to (None outside `run_agent`)

    @property
    def output_cap(self) -> int:
        return self.config.limits.tool_output_bytes

    @property
    def redact(self) -> Redact:
        """What redacts a tool's output before it is capped: the session log's own redaction (the run's
        redactor: its config's patterns and its credentials; and the secret values the session redacted
        before, which it learns from this output too), or the same redactor built for this config when
        there is no log yet."""
        if self.writer is not None:
            return self.writer.redact_text
        from dreamcli.agent.tools.credentials import run_redactor

        return run_redactor(self.config).redact_text

    @property
    def private_workdir(self) -> bool:
        """The workdir is a copy under the workspace (`copy_workdir: true`, `workdirs/<slug>-<id>/`): what
        the tools create there is 0600 (folders 0700), as everywhere in the workspace. The user's own
        working directory is not: files made there follow the umask."""
        from dreamcli.agent.scratch import workdirs_root

        return Path(os.path.realpath(self.workdir)).is_relative_to(os.path.realpath(workdirs_root(self.ws)))

    @property
    def fences(self) -> tuple[Fence, ...]:
        """dreamcli's own files inside the workdir, which no tool may read or change: the workspace (a
        project's `.dreamcli/`: its approvals, playbooks, sessions), the user's config and the trust
        records, whose lists let commands run unasked; those elsewhere too when they exist (by device and
        inode: they may be mounted inside the workdir). Pass them to `paths.confine`."""
        from dreamcli.agent.config_trust import trust_file
        from dreamcli.config import user_config_path

        return fences_in(self.workdir, (("workspace", self.ws.root), ("configuration", user_config_path()),
                                        ("trust records", trust_file())))


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
