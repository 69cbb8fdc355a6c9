"""`RunContext`: the run a session belongs to, as its tools see it (`ToolEnv.run`).

A tool that starts runs of its own (the `delegate` tool of dreamcli.orchestration) derives them from
these fields: its children share the model client, the cancel event (stopping the lead stops them),
the approval policy and other options, and the live output; `spec` is the lead's task and
`parent_session_id` is set when this session is itself a child.

A leaf: it only names types of other leaf modules (options, callbacks, spec), for type checking.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dreamcli.agent.callbacks import RunCallbacks
    from dreamcli.agent.options import RunOptions
    from dreamcli.agent.spec import TaskSpec


@dataclass(frozen=True)
class RunContext:
    """The run of one session (set by `run_agent`; tools built outside a run get None)."""

    options: RunOptions
    callbacks: RunCallbacks
    spec: TaskSpec
    client: Any = None  # any object with `messages.stream(**request)` (the SDK client, a test double)
    cancel: threading.Event | None = None
    parent_session_id: str | None = None  # set for a sub-agent's session
