"""What a dream is asked to do (the CLI's flags, as one value)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class DreamOptions:
    playbook: str | None = None
    since: datetime | None = None
    session_ids: list[str] = field(default_factory=list)
    task: str | None = None
    all: bool = False
    offline: bool = False
    instructions: str | None = None
    dry_run: bool = False
    min_support: int | None = None
    max_candidates: int | None = None
    memory_store: str = "default"
    model: str | None = None
    now: datetime | None = None  # for tests: what "now" is when deciding a session may still run

    @property
    def mode(self) -> str:
        if self.all:
            return "all"
        if self.since is not None or self.session_ids or self.task:
            return "explicit"
        return "new"
