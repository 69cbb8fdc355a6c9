"""What the dream reads besides session logs, grade reasons and memory notes, is redacted before it is
cut into an excerpt or a title: a secret cut at the excerpt's end no longer matches its rule, so the
final redaction of the proposal would let part of it through."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from dreamcli.dream.aggregates import Aggregates
from dreamcli.dream.memory import memory_operations
from dreamcli.outcomes.store import grades_path
from dreamcli.sessions.writer import SessionWriter
from dreamcli.workspace.home import Workspace
from tests.dream.raw_log import dream, written

KEY = "ACME-20261187"
PATTERNS = ("ACME-[0-9]{8}",)
NOW = datetime(2026, 11, 24, tzinfo=UTC)


def _reason(head: str, cut: int) -> str:
    """A reason whose key starts a few characters before `cut`, where an excerpt would end."""
    filler = "the summary gives the potassium value without its unit or range, see the lab system record "
    return (head + filler * 3)[: cut - 6 - len(head)] + f" {KEY} for the run"


def test_a_grade_reason_cut_in_an_excerpt_leaves_no_part_of_a_secret(tmp_path: Path) -> None:
    ws = Workspace(root=tmp_path / "ws", source="option").ensure_layout()
    records = []
    for i in range(4):
        w = SessionWriter(ws)
        sid = w.start(task={"name": "medical-summary", "prompt": "p"}, model=None, workdir=None)["session_id"]
        w.message("user", [{"type": "text", "text": "Summarise the labs."}])
        w.end("completed", totals={"cost_usd": 0.01})
        # the evidence excerpt is `units: <reason>` cut at 160 characters, the example the reason at 200
        reason = _reason("units: ", 160) if i % 2 else _reason("", 200)
        records.append({"v": 1, "ts": f"2026-10-0{i + 1}T00:00:00.000Z", "grade_id": f"g{i}", "session_id": sid,
                        "outcome": "medical-summary", "result": "needs_revision", "score": 0.5,
                        "criteria": [{"id": "units", "passed": False, "reason": reason}]})
    grades = grades_path(ws)
    grades.parent.mkdir(parents=True, exist_ok=True)
    grades.write_text("".join(json.dumps(r) + "\n" for r in records))
    ws.config_path.write_text(f'redaction:\n  patterns: ["{PATTERNS[0]}"]\n')

    result = dream(ws)

    assert any(op["kind"] == "criterion" for op in result["operations"])
    out = written(ws)
    assert "ACME-2" not in out and "[REDACTED:custom]" in out


def test_a_memory_note_cut_in_an_excerpt_or_a_title_leaves_no_part_of_a_secret(tmp_path: Path) -> None:
    ws = Workspace(root=tmp_path / "ws", source="option")
    text = _reason("", 150) + "\n"
    for path in ("meds.md", "old/meds-copy.md", "ci.md", "tools.md"):  # a near-duplicate pair, and an index
        target = ws.memory_store("default") / "memories" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text if "meds" in path else f"{path}: another note entirely about {path}\n")
        os.utime(target, (NOW.timestamp(), NOW.timestamp()))
    agg = Aggregates()
    agg.redaction = PATTERNS
    ops, _notes = memory_operations(ws, "default", agg, reference=NOW)
    merge = next(o for o in ops if o.op == "merge")
    shown = json.dumps([o.model_dump(mode="json") for o in ops])
    assert merge.evidence and "ACME-2" not in shown and "[REDACTED:custom]" in shown
