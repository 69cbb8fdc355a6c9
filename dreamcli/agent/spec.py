"""`TaskSpec`: what one agent run does, from a task file (`dreamcli.agent.taskfile`) or an ad-hoc prompt.

    spec = prompt_spec("List every termination clause", name="contract-review")
    spec.with_overrides(outcome=Path("outcome.yaml"))

A leaf: it imports nothing from the rest of dreamcli.agent (the run context and hooks name it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from dreamcli.errors import UsageError

PLAYBOOK_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class TaskSpec:
    """What to run. Paths are absolute; None means "not given" (the caller picks a default)."""

    prompt: str
    name: str | None = None
    file: Path | None = None
    workdir: Path | None = None
    outcome: Path | None = None
    playbook: str | None = None
    tools: tuple[str, ...] | None = None
    model: str | None = None
    max_turns: int | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)
    copy_workdir: bool = False  # run in a fresh copy of `workdir` (bundled samples stay as shipped)

    def with_overrides(self, **changes: object) -> TaskSpec:
        """A copy with the given fields replaced (None values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})  # type: ignore[arg-type]


def prompt_spec(prompt: str, *, name: str | None = None) -> TaskSpec:
    """An ad-hoc task from `-p PROMPT`."""
    if not prompt.strip():
        raise UsageError("the prompt is empty")
    return TaskSpec(prompt=prompt, name=name)


def check_playbook_name(name: str) -> str:
    if not PLAYBOOK_NAME_RE.match(name):
        raise UsageError(f"invalid playbook name {name!r} (ASCII letters, digits, '.', '_' or '-')")
    return name
