"""run_dream across dreams: the watermark, support accumulating, no duplicate proposals, counts for
approved entries, deferred running sessions, explicit selections, parallel == sequential."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dreamcli.config import Config
from dreamcli.dream import scan
from dreamcli.dream.engine import DreamOptions, run_dream
from dreamcli.dream.watermark import load_watermark
from dreamcli.playbooks.proposal_model import Operation
from dreamcli.sessions.writer import SessionWriter
from dreamcli.testing.synthetic import GenConfig, generate, iso_ms
from dreamcli.workspace.home import Workspace

pytestmark = pytest.mark.usefixtures("no_model")  # dreams run offline


def _ws(tmp_path: Path) -> Workspace:
    return Workspace(root=tmp_path / "ws", source="option").ensure_layout()


def _gen(ws: Workspace, n: int, seed: int, start: datetime) -> None:
    generate(ws, GenConfig(sessions=n, seed=seed, size_kb=2, start=start, days=10))


def _by_kind(ops: list[Operation], op: str) -> dict[str | None, Operation]:
    return {o.signature: o for o in ops if o.op == op and o.target == "playbook"}


def test_second_dream_reads_only_new_sessions_and_never_proposes_twice(tmp_path: Path) -> None:
    ws = _ws(tmp_path)
    _gen(ws, 40, 5, datetime(2026, 10, 1, tzinfo=UTC))
    first = run_dream(ws, Config(), DreamOptions())
    assert first.dream["inputs"]["sessions"] == 40
    added = _by_kind(first.operations, "add")
    assert len(added) >= 5
    mark = load_watermark(ws, "default")
    assert mark.dream_id == first.dream_id and mark.last_session_id and mark.grades_offset > 0
    _gen(ws, 30, 6, datetime(2026, 10, 20, tzinfo=UTC))
    second = run_dream(ws, Config(), DreamOptions())
    assert second.dream["inputs"]["sessions"] == 30
    assert not set(_by_kind(second.operations, "add")) & set(added)  # still pending review: not again
    assert "awaiting review" in second.report
    # once approved, new evidence becomes counts on the live entries
    from dreamcli.playbooks.approval import approve

    approve(ws, first.dream_id, entry_ids=[o.entry_id for o in added.values()], actor="test")
    _gen(ws, 30, 7, datetime(2026, 11, 5, tzinfo=UTC))
    third = run_dream(ws, Config(), DreamOptions())
    counts = {o.entry_id: o for o in third.operations if o.op == "counts"}
    live_ids = {o.entry_id for o in added.values()}
    assert counts and set(counts) <= live_ids
    assert not set(_by_kind(third.operations, "add")) & set(added)
    some = next(iter(counts.values()))
    assert some.metadata.last_seen >= "2026-11-05"
    assert run_dream(ws, Config(), DreamOptions()).status == "nothing_new"


def test_support_accumulates_across_dreams(tmp_path: Path) -> None:
    """A pattern seen once per dream still reaches min_support over several dreams."""
    ws = _ws(tmp_path)
    for day in (1, 2, 3):
        w = SessionWriter(ws, session_id=f"01M3{day}000000000000000000000"[:26])
        t0 = datetime(2026, 10, day, 9, tzinfo=UTC)
        w.start(task={"name": "t", "prompt": "p"}, model=None, workdir=None, ts=t0.isoformat())
        w.message("user", [{"type": "text", "text": "go"}])
        call = {"type": "tool_use", "id": "tu1", "name": "read", "input": {"file_path": f"r{day}.xlsx"}}
        w.message("assistant", [call])
        w.message("user", [{"type": "tool_result", "tool_use_id": "tu1", "is_error": True,
                            "content": f"r{day}.xlsx: unsupported spreadsheet format"}])
        w.end("completed")
        result = run_dream(ws, Config(), DreamOptions(min_support=3))
        texts = [o.text for o in result.operations]
        assert result.dream["inputs"]["sessions"] == 1
        assert any(".xlsx" in t for t in texts) == (day == 3), texts


def test_running_session_is_deferred_then_read(tmp_path: Path) -> None:
    ws = _ws(tmp_path)
    _gen(ws, 10, 1, datetime(2026, 10, 1, tzinfo=UTC))
    now = datetime(2026, 11, 1, 12, tzinfo=UTC)
    w = SessionWriter(ws)
    now_ms = int(now.timestamp() * 1000)
    w.start(task={"name": "t", "prompt": "p"}, model=None, workdir=None, ts=iso_ms(now_ms - 60_000))
    w.message("user", [{"type": "text", "text": "still going"}], ts=iso_ms(int(now.timestamp() * 1000) - 30_000))
    first = run_dream(ws, Config(), DreamOptions(now=now))
    assert first.dream["inputs"]["deferred"] == 1 and first.dream["inputs"]["sessions"] == 10
    assert load_watermark(ws, "default").deferred == [w.session_id]
    w.end("completed")
    second = run_dream(ws, Config(), DreamOptions(now=now + timedelta(minutes=5)))
    assert second.dream["inputs"]["sessions"] == 1 and second.dream["inputs"]["deferred"] == 0
    assert load_watermark(ws, "default").deferred == []
    # a session abandoned long ago (no end) is read, not deferred forever
    w2 = SessionWriter(ws)
    w2.start(task={"name": "t", "prompt": "p"}, model=None, workdir=None, ts="2026-10-01T00:00:00.000Z")
    third = run_dream(ws, Config(), DreamOptions(now=now + timedelta(days=1)))
    assert third.dream["inputs"]["sessions"] == 1 and third.dream["inputs"]["deferred"] == 0


def test_explicit_selections_do_not_move_the_watermark(tmp_path: Path) -> None:
    ws = _ws(tmp_path)
    _gen(ws, 30, 2, datetime(2026, 10, 1, tzinfo=UTC))
    ids = sorted(p.stem for p in ws.sessions_dir.rglob("*.jsonl"))
    one = run_dream(ws, Config(), DreamOptions(session_ids=[ids[0][:12]], dry_run=True))
    assert one.dream["inputs"]["sessions"] == 1 and one.dream["inputs"]["selection"] == "1 named sessions"
    task = run_dream(ws, Config(), DreamOptions(task="contract-review"))
    assert 0 < task.dream["inputs"]["sessions"] < 30 and task.dream["inputs"]["out_of_scope"] > 0
    assert all("medical" not in (o.text or "") for o in task.operations if o.target == "playbook")
    since = run_dream(ws, Config(), DreamOptions(since=datetime(2026, 10, 6, tzinfo=UTC), dry_run=True))
    assert 0 < since.dream["inputs"]["sessions"] < 30
    assert load_watermark(ws, "default").last_session_id is None
    full = run_dream(ws, Config(), DreamOptions())
    assert full.dream["inputs"]["sessions"] == 30
    # what the --task dream proposed is pending: the full dream does not propose it again
    task_sigs = {o.signature for o in task.operations if o.op == "add"}
    assert not task_sigs & {o.signature for o in full.operations if o.op == "add"}
    everything = run_dream(ws, Config(), DreamOptions(all=True, dry_run=True))
    assert everything.dream["inputs"]["sessions"] == 30


def test_parallel_scan_equals_sequential(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = _ws(tmp_path)
    _gen(ws, 80, 11, datetime(2026, 10, 1, tzinfo=UTC))

    def summary(result: Any) -> list[tuple[Any, ...]]:
        return sorted((o.op, o.text or o.path, json.dumps(o.support.model_dump()),
                       json.dumps(o.metadata.sources if o.target == "playbook" else None),
                       json.dumps([e.model_dump() for e in o.evidence])) for o in result.operations)

    sequential = run_dream(ws, Config(), DreamOptions(dry_run=True))
    monkeypatch.setattr(scan, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(scan, "CHUNK_BYTES", 40_000)  # many chunks: leads and sub-agents get split
    monkeypatch.setenv("DREAMCLI_DREAM_WORKERS", "2")
    parallel = run_dream(ws, Config(), DreamOptions(dry_run=True))
    assert parallel.dream["inputs"] == sequential.dream["inputs"]
    assert summary(parallel)[:3] and [s[:3] for s in summary(parallel)] == [s[:3] for s in summary(sequential)]


def test_quick_check_agrees_with_the_engine(tmp_path: Path) -> None:
    from dreamcli.dream.quick import nothing_new
    from dreamcli.outcomes.store import append_grade

    ws = _ws(tmp_path)
    assert not nothing_new(ws, "default")  # never dreamed
    _gen(ws, 12, 3, datetime(2026, 10, 1, tzinfo=UTC))
    run_dream(ws, Config(), DreamOptions())
    assert nothing_new(ws, "default") and not nothing_new(ws, "other") and not nothing_new(ws, "../default")
    append_grade(ws, {"session_id": "01M3ZZZZZZZZZZZZZZZZZZZZZZ", "outcome": "o", "result": "satisfied"})
    assert not nothing_new(ws, "default")
    run_dream(ws, Config(), DreamOptions())
    assert nothing_new(ws, "default")
    _gen(ws, 1, 4, datetime(2026, 12, 1, tzinfo=UTC))  # a later session, in a new month directory
    assert not nothing_new(ws, "default")
    assert run_dream(ws, Config(), DreamOptions()).dream["inputs"]["sessions"] == 1
    assert nothing_new(ws, "default")


def test_other_playbooks_sessions_write_no_dream_and_config_patterns_redact(tmp_path: Path) -> None:
    from dreamcli.config import RedactionConfig
    from dreamcli.playbooks import new_playbook, render_playbook
    from dreamcli.workspace.fsutil import atomic_write_text

    ws = _ws(tmp_path)
    pb = new_playbook("medical", scope={"tasks": ["medical-summary"]})
    atomic_write_text(ws.playbooks_dir / "medical.md", render_playbook(pb))
    w = SessionWriter(ws)
    w.start(task={"name": "contract-review", "prompt": "p"}, model=None, workdir=None)
    w.end("completed")
    result = run_dream(ws, Config(), DreamOptions(playbook="medical"))
    assert result.status == "nothing_new" and result.dream_id is None
    assert not list(ws.dreams_dir.iterdir())
    assert load_watermark(ws, "medical").last_session_id == w.session_id
    # patterns added to config after the logs were written still redact what a dream writes
    _gen(ws, 40, 5, datetime(2026, 10, 1, tzinfo=UTC))
    config = Config(redaction=RedactionConfig(patterns=["(?i)zip archive"]))
    dreamed = run_dream(ws, config, DreamOptions())
    result_dir = ws.dreams_dir / str(dreamed.dream_id)
    written = (result_dir / "proposal.json").read_text()
    assert "zip archive" not in written and "[REDACTED:custom]" in written
    assert "zip archive" not in (result_dir / "report.md").read_text()
