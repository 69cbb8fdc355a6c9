"""A finished contract-review session in which the user corrects the agent once (tests of corrections)."""

from __future__ import annotations

from dreamcli.sessions.writer import SessionWriter
from dreamcli.workspace.home import Workspace


def correction_session(ws: Workspace, correction: str) -> None:
    w = SessionWriter(ws)
    w.start(task={"name": "contract-review", "prompt": "List the clauses."}, model=None, workdir=None)
    w.message("user", [{"type": "text", "text": "List the clauses."}])
    w.message("assistant", [{"type": "text", "text": "Clause 1 (p. 3) ..."}])
    w.message("user", [{"type": "text", "text": correction}])
    w.message("assistant", [{"type": "text", "text": "Done."}])
    w.end("completed", totals={"cost_usd": 0.01})
