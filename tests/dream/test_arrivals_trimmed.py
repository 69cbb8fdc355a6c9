"""End to end: the dream reads state/session-arrivals.jsonl from its start when an operator truncated it and
imports grew it past the watermark's offset (operator report: 101 of 400 imported sessions read, every step
exit 0, the rest never dreamed), and empties the file itself once every playbook's watermark is at its end,
so it no longer grows by a line per imported session forever."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.dream.quick import nothing_new
from dreamcli.ids import ulid_at
from dreamcli.sessions.arrivals import arrivals_path, arrivals_size, record_arrivals
from dreamcli.sessions.writer import SessionWriter
from dreamcli.workspace.home import Workspace

pytestmark = pytest.mark.usefixtures("no_model")  # dreams run offline


def _dream(ws: Workspace, playbook: str = "default") -> dict:
    r = CliRunner().invoke(app, ["--home", str(ws.root), "dream", "--offline", "--json", "--playbook", playbook])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def _imported(ws: Workspace, first: int, n: int) -> list[str]:
    """`n` sessions with ids from November 2023 (before any watermark), recorded as arrivals as an import does."""
    sids = []
    for i in range(first, first + n):
        sid = ulid_at(1_700_000_000_000 + i * 60_000, bytes([i]) * 10)
        w = SessionWriter(ws, session_id=sid)
        w.start(task={"name": "legacy", "prompt": "read the contract"}, model=None, workdir="/w", source="claude-code")
        w.message("user", [{"type": "text", "text": "read the contract"}])
        w.end("completed", totals={"turns": 1})
        sids.append(sid)
    record_arrivals(ws, sids, source="claude-code")
    return sids


def test_a_truncated_arrivals_file_regrown_is_dreamed_whole_then_trimmed(demo: Path) -> None:
    ws = Workspace(demo, "option")
    _dream(ws)
    _dream(ws, "legal")  # a second playbook, dreamed now and then: its watermark keeps the file whole
    _imported(ws, 0, 5)
    assert _dream(ws)["inputs"]["sessions"] == 5
    kept = arrivals_size(ws)
    assert kept > 0  # "legal" has not read them yet

    arrivals_path(ws).write_bytes(b"")  # the operator trims it (logrotate copytruncate, `: >`)
    later = _imported(ws, 10, 8)
    assert arrivals_size(ws) > kept
    assert not nothing_new(ws, "default")
    assert _dream(ws)["inputs"]["sessions"] == len(later)  # all of them, not those after the old offset
    assert _dream(ws)["status"] == "nothing_new" and arrivals_size(ws) > 0

    _dream(ws, "legal")  # every watermark at the end now: the dream empties the file
    assert arrivals_size(ws) == 0
    assert nothing_new(ws, "default") and nothing_new(ws, "legal")  # no extra dream for the emptied file
    again = _imported(ws, 30, 2)
    assert _dream(ws)["inputs"]["sessions"] == len(again)
