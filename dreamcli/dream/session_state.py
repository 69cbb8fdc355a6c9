"""What the dream's scan keeps while it reads one session (`SessionState`), and what it keeps about the
session after (`SessionInfo`, to join grades and count entries)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dreamcli.dream.calls import Call, OpenError


@dataclass(slots=True)
class SessionInfo:
    """What the engine keeps about a scanned session (to join grades and count entries)."""

    session_id: str
    episode: str
    task: str | None
    entry_ids: list[str]
    last_ts: str | None
    evaluations: dict[str, tuple[int, str | None, list[dict[str, Any]], str | None]] = field(default_factory=dict)
    deferred: bool = False
    skipped: bool = False  # out of scope, or a trial
    trial: bool = False  # a pilot trial or --with-proposal run (or its sub-agent): never learnt from
    away: bool = False  # a sub-agent a parallel worker hands back: its lead is not in the worker's chunk
    hidden: int = 0  # zero-width and bidi control characters stripped before mining
    # of one read to its first line only and left waiting (`Aggregates.outside`): what that read added to the scan's
    # ReadStats (lines, events, corrupt, truncated, bytes), taken back when it is read again whole (scan._adopt)
    counted: tuple[int, int, int, int, int] | None = None


@dataclass
class SessionState:
    sid: str = ""
    episode: str = ""
    task: str | None = None
    ts: str | None = None
    calls: dict[str, Call] = field(default_factory=dict)
    open_errors: list[OpenError] = field(default_factory=list)
    tool_errors: dict[str, str] = field(default_factory=dict)
    n_calls: int = 0
    inputs: dict[str, list[Any]] = field(default_factory=dict)
    user_texts: int = 0
    cost: float = 0.0
    truncated: int = 0
    truncated_example: str | None = None
    ended: bool = False
    untrusted: bool = False  # an imported transcript
    hidden: int = 0

    def taint(self, *extra: str) -> tuple[str, ...]:
        base = ("imported-transcript",) if self.untrusted else ()
        return base + tuple(e for e in extra if e)
