"""The values the loop hands out: StartInfo, TurnContext (for hooks) and RunResult."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dreamcli.agent.usage import Totals
from dreamcli.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK

if TYPE_CHECKING:
    from dreamcli.agent.spec import TaskSpec
    from dreamcli.sessions.writer import SessionWriter

EXIT_BY_STATUS = {"completed": EXIT_OK, "max_turns": EXIT_FAILED, "interrupted": EXIT_INTERRUPTED}


@dataclass
class StartInfo:
    session_id: str
    path: Path
    model: str
    workdir: Path
    task_name: str | None
    playbooks: list[dict[str, Any]]
    tools: list[str]
    max_turns: int
    warnings: list[str] = field(default_factory=list)
    missing_playbook: str | None = None
    with_proposal: str | None = None  # the dream id whose pending entries are on trial
    # the session's redaction (`SessionWriter.redact_text`: the rules, and the secret values the session
    # redacted before): what a view shows of the model's words and the tools' inputs goes through it
    redact: Callable[[str], str] | None = None


@dataclass
class TurnContext:
    """Given to `on_end_turn` (and `before_end`) hooks.

    `final_text` is the text of the assistant message that ended the turn. `messages` is the live
    history (read it, do not change it). `writer` may be used to add events (e.g.
    `outcome.evaluation`). Put extra `session.end` fields (e.g. `outcome`) into `end_fields`.
    """

    session_id: str
    turn: int
    final_text: str
    messages: list[dict[str, Any]]
    totals: Totals
    spec: TaskSpec
    workdir: Path
    model: str
    writer: SessionWriter
    end_fields: dict[str, Any]
    status: str | None = None  # set for before_end: the status about to be written
    client: Any = None  # the session's model client (the command's limiter with it): a hook's model calls use it


@dataclass
class RunResult:
    session_id: str
    path: Path
    status: str  # completed, error, interrupted, max_turns
    error: str | None
    final_text: str
    totals: Totals
    exit_code: int
    model: str
    workdir: Path
    task_name: str | None
    playbooks: list[dict[str, Any]]
    messages: list[dict[str, Any]] = field(default_factory=list, repr=False)
    end_fields: dict[str, Any] = field(default_factory=dict)
    upload: str | None = None  # object storage: "sealed", or "pending" (left for `doctor --fix`); else None

    @property
    def ok(self) -> bool:
        return self.status == "completed"

    def to_json(self) -> dict[str, Any]:
        data = {
            "session_id": self.session_id,
            "status": self.status,
            "error": self.error,
            "final_text": self.final_text,
            "totals": self.totals.to_json(),
            "path": str(self.path),
            "exit_code": self.exit_code,
            "model": self.model,
            "workdir": str(self.workdir),
            "task": self.task_name,
            "playbooks": self.playbooks,
            "upload": self.upload,
        }
        data.update({k: v for k, v in self.end_fields.items() if k not in data})
        return data
