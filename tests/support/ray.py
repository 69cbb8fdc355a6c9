"""A stand-in `ray` module, and sessions for a dream to scan, for the Ray executor's tests (no cluster)."""

from __future__ import annotations

import time
import types
from typing import Any

from dreamcli.ids import ulid_at
from dreamcli.sessions.writer import SessionWriter
from dreamcli.workspace.home import Workspace


class FakeRay(types.ModuleType):
    """Stands in for `ray`: records init calls; runs remote functions in this process."""

    def __init__(self) -> None:
        super().__init__("ray")
        self.inits: list[dict[str, Any]] = []

    def is_initialized(self) -> bool:
        return False

    def init(self, **kwargs: Any) -> None:
        self.inits.append(kwargs)

    def cluster_resources(self) -> dict[str, float]:
        return {"CPU": 1}

    def remote(self, fn: Any) -> Any:
        return types.SimpleNamespace(remote=lambda *args: fn(*args))

    def get(self, ref: Any) -> Any:
        return ref


def recent_session(ws: Workspace, n: int) -> str:
    """The `n`th of a few sessions that ended a minute ago (new to a dream); its id."""
    sid = ulid_at(int(time.time() * 1000) - 60_000 + n, bytes([n]) * 10)
    w = SessionWriter(ws, session_id=sid)
    w.start(task={"name": "contract", "prompt": "read the contract"}, model=None, workdir="/w")
    w.message("user", [{"type": "text", "text": "read the contract"}])
    w.end("completed", totals={"turns": 1})
    return sid
