"""What a dream is asked to do (the CLI's flags, as one value)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from dreamcli.errors import UsageError

MAX_INSTRUCTIONS = 4096  # characters of --instructions


def check_instructions(text: str | None, source: str | None = None) -> str | None:
    """`text`, or UsageError (exit 2) when it holds more than MAX_INSTRUCTIONS characters (`source`: the
    file it was read from). `dream` checks it before it looks for anything new, so a bad value fails
    every night alike, not only on a night with new sessions."""
    if text is not None and len(text) > MAX_INSTRUCTIONS:
        held = f"{source} holds {len(text)} characters" if source else f"{len(text)} characters"
        raise UsageError(f"--instructions: {held}; at most {MAX_INSTRUCTIONS}")
    return text


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

    def __post_init__(self) -> None:
        # a whole dream over a selection's sessions would save that part as the whole state
        if self.all and (self.since is not None or self.session_ids or self.task is not None):
            raise ValueError("--all cannot be combined with --since, --session or --task")

    @property
    def mode(self) -> str:
        if self.all:
            return "all"
        # `is not None`: an empty --task read nothing and, as "new", moved the watermark past every session
        if self.since is not None or self.session_ids or self.task is not None:
            return "explicit"
        return "new"
