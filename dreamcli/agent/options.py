"""`RunOptions`: the per-run choices of one agent run (CLI flags, a sub-agent's brief).

A leaf: it imports nothing at run time from the rest of dreamcli.agent, so the loop, the tools and
the run context can all share it without an import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dreamcli.agent.approvals import Ask
    from dreamcli.agent.context import PlaybookLoader
    from dreamcli.playbooks.trial import Trial


@dataclass
class RunOptions:
    """Per-run choices (CLI flags). None means: the task's value, then config, then the default."""

    model: str | None = None
    max_turns: int | None = None
    workdir: Path | None = None
    playbook: str | None = None  # --playbook NAME
    use_playbooks: bool = True  # --no-playbooks
    allow: tuple[str, ...] = ()
    yes: bool = False
    ask: Ask | None = None  # the UI's approval prompt (only on a TTY)
    memory_store: str = "default"
    tools: tuple[str, ...] | None = None  # overrides the task's list
    start_fields: dict[str, Any] = field(default_factory=dict)  # extra session.start fields
    playbook_loader: PlaybookLoader | None = None  # where playbooks are read from (default: live ones)
    with_proposal: str | None = None  # a dream id: try its pending entries (never approved)
    trial: Trial | None = None  # with `with_proposal`: the trial placed as it is (a sub-agent's: its lead's)
    token_budget: int | None = None  # no further model call once the session used this many tokens (status error)
