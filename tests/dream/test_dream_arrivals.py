"""Imported sessions keep their transcript's time in their ids, so they sort before a dream's
watermark; the arrivals log makes the next dream read them anyway (and the cron fast path notice)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.dream.quick import nothing_new
from dreamcli.ids import ulid_at
from dreamcli.sessions.arrivals import read_arrivals, record_arrivals
from dreamcli.sessions.writer import SessionWriter
from dreamcli.workspace.home import Workspace
from tests.support.paths import CLAUDE_CODE_SAMPLES

runner = CliRunner()


def dream(ws: Workspace) -> dict:
    r = runner.invoke(app, ["--home", str(ws.root), "dream", "--offline", "--json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def old_session(ws: Workspace, i: int) -> str:
    sid = ulid_at(1_700_000_000_000 + i * 60_000, bytes([i]) * 10)  # November 2023: long before "now"
    w = SessionWriter(ws, session_id=sid)
    w.start(task={"name": "legacy", "prompt": "read the contract"}, model=None, workdir="/w", source="claude-code")
    w.message("user", [{"type": "text", "text": "read the contract"}])
    w.end("completed", totals={"turns": 1})
    return sid


def test_imported_old_sessions_are_dreamed_after_the_watermark(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "h", "option").ensure()
    runner.invoke(app, ["init", "--with-samples"], env={"DREAMCLI_HOME": str(ws.root)})
    first = dream(ws)
    assert first["inputs"]["sessions"] > 0
    assert nothing_new(ws, "default")

    ids = [old_session(ws, i) for i in range(3)]
    # without an arrival record the old ids sort before the watermark: invisible (the bug this fixes)
    assert nothing_new(ws, "default") and dream(ws)["status"] == "nothing_new"

    assert record_arrivals(ws, ids, source="claude-code") == 3
    assert not nothing_new(ws, "default")
    second = dream(ws)
    assert second["inputs"]["sessions"] == 3
    assert nothing_new(ws, "default") and dream(ws)["status"] == "nothing_new"


def test_read_arrivals_skips_partial_lines(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "h", "option").ensure()
    record_arrivals(ws, ["01ABC"], source="codex")
    with open(ws.state_dir / "session-arrivals.jsonl", "ab") as f:
        f.write(b'{"session_id": "01DEF"')  # being written
    ids, offset = read_arrivals(ws, 0)
    assert ids == ["01ABC"]
    again, offset2 = read_arrivals(ws, offset)
    assert again == [] and offset2 == offset


def test_transcript_import_after_a_dream_is_dreamed(tmp_path: Path) -> None:
    """End to end: dream, then import Claude Code transcripts (old timestamps), then dream again."""
    samples = CLAUDE_CODE_SAMPLES
    if not samples.is_dir():
        import pytest

        pytest.skip("shared samples not present")
    ws = Workspace(tmp_path / "h", "option").ensure()
    runner.invoke(app, ["--home", str(ws.root), "init", "--with-samples"])
    dream(ws)
    r = runner.invoke(app, ["--home", str(ws.root), "sessions", "import", "claude-code", str(samples), "--json"])
    assert r.exit_code == 0, r.output
    assert not nothing_new(ws, "default")
    assert dream(ws)["inputs"]["sessions"] >= 1
