"""A memory note only another playbook's sessions use is not proposed stale by this playbook's dream:
the scan stops at such a session's first line, so its memory use is unknown here (docs/dream.md, Memory)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dreamcli.config import Config
from dreamcli.dream.engine import DreamOptions, run_dream
from dreamcli.sessions.writer import SessionWriter
from dreamcli.workspace.home import Workspace

NOTE = "/memories/legal/filetypes.md"


def _session(ws: Workspace, day: int, *, playbooks: list[dict[str, Any]], touch: bool = False) -> None:
    w = SessionWriter(ws, fsync=False)
    w.start(task={"name": "review", "prompt": "p"}, model=None, workdir=None, playbooks=playbooks,
            ts=f"2026-11-{day:02d}T09:00:00.000Z")
    w.message("user", [{"type": "text", "text": "Review the contract."}], ts=f"2026-11-{day:02d}T09:00:01.000Z")
    if touch:  # the agent reads the note through the memory tool
        w.message("assistant", [{"type": "tool_use", "id": "toolu_1", "name": "memory",
                                 "input": {"command": "view", "path": NOTE}}], ts=f"2026-11-{day:02d}T09:00:02.000Z")
        w.tool(tool_use_id="toolu_1", name="memory", ts=f"2026-11-{day:02d}T09:00:03.000Z")
    w.end("completed", totals={"cost_usd": 0.01}, ts=f"2026-11-{day:02d}T09:01:00.000Z")


def _workspace(tmp_path: Path) -> Workspace:
    ws = Workspace(root=tmp_path / "ws", source="option").ensure_layout()
    note = ws.memory_store("default") / "memories" / "legal" / "filetypes.md"
    note.parent.mkdir(parents=True, exist_ok=True)
    note.write_text("Convert .doc files with soffice before reading them.\n")
    old = datetime(2026, 8, 1, tzinfo=UTC).timestamp()
    os.utime(note, (old, old))
    return ws


def _stale(ws: Workspace, playbook: str | None = None) -> list[str]:
    ops = run_dream(ws, Config(), DreamOptions(offline=True, all=True, playbook=playbook)).operations
    return [op.path or "" for op in ops if op.kind == "memory_stale"]


def test_a_note_another_playbooks_sessions_use_is_not_called_stale(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    _session(ws, 20, playbooks=[{"playbook": "legal", "version": 1}], touch=True)  # legal's, uses the note
    _session(ws, 21, playbooks=[])  # the default playbook's
    assert _stale(ws) == []
    assert _stale(ws, "legal") == []  # legal's own dream saw it used


def test_with_every_session_in_scope_an_unused_note_is_still_proposed_stale(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    _session(ws, 20, playbooks=[])
    _session(ws, 21, playbooks=[])
    assert _stale(ws) == [NOTE]


def test_what_a_dream_met_is_remembered_by_the_next_incremental_dream(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    _session(ws, 20, playbooks=[{"playbook": "legal", "version": 1}], touch=True)
    _session(ws, 21, playbooks=[])
    first = run_dream(ws, Config(), DreamOptions(offline=True))  # incremental: stores other_scopes
    assert not [op for op in first.operations if op.kind == "memory_stale"]
    _session(ws, 22, playbooks=[])  # only the default playbook's session is new
    again = run_dream(ws, Config(), DreamOptions(offline=True))
    assert again.dream["inputs"]["sessions"] == 1
    assert not [op for op in again.operations if op.kind == "memory_stale"]
