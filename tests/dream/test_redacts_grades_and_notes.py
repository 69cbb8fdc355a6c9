"""What the dream reads besides session logs, grade reasons and memory notes, is redacted before it is
cut into an excerpt or a title: a secret cut at the excerpt's end no longer matches its rule, so the
final redaction of the proposal would let part of it through."""

from __future__ import annotations

import json
from pathlib import Path

from dreamcli.dream.aggregates import Aggregates
from dreamcli.dream.memory import notes_digest, read_notes
from dreamcli.outcomes.store import grades_path
from dreamcli.sessions.writer import SessionWriter
from dreamcli.workspace.home import Workspace
from tests.dream.raw_log import RawSession, dream, written

KEY = "ACME-2026 1187"  # a pattern with a space: a cut at the word between keeps half of it
PATTERNS = ("ACME-[0-9]{4} [0-9]{4}",)


def _text(start: int) -> str:
    """Text whose key starts at character `start`: an excerpt cut at `start + 12` ends between its words."""
    filler = "the summary gives the potassium value without its unit or range, see the lab system record "
    return (filler * 4)[: start - 1].rstrip().ljust(start - 1, "x") + f" {KEY} for the run"


def test_a_grade_reason_cut_in_an_excerpt_leaves_no_part_of_a_secret(tmp_path: Path) -> None:
    ws = Workspace(root=tmp_path / "ws", source="option").ensure_layout()
    records = []
    for i in range(4):
        w = SessionWriter(ws)
        sid = w.start(task={"name": "medical-summary", "prompt": "p"}, model=None, workdir=None)["session_id"]
        w.message("user", [{"type": "text", "text": "Summarise the labs."}])
        w.end("completed", totals={"cost_usd": 0.01})
        # the evidence excerpt is `units: <reason>` cut at 160 characters, the example the reason at 200
        reason = _text(160 - 12 - len("units: ")) if i % 2 else _text(200 - 12)
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
    assert "ACME-2026" not in out and "[REDACTED:custom]" in out


def test_a_memory_note_cut_in_an_excerpt_or_a_title_leaves_no_part_of_a_secret(tmp_path: Path) -> None:
    ws = Workspace(root=tmp_path / "ws", source="option").ensure_layout()
    text = _text(100 - 12) + "\n"  # the key where the index's title is cut
    others = {"ci.md": "CI logs are gzipped after a day: use zgrep.\n",
              "vpn.md": "The VPN needs a restart every Monday.\n",
              "tools.md": "pdftotext -layout keeps the tables readable.\n"}
    for path, body in {"meds.md": text, "old/meds-copy.md": text, **others}.items():  # a pair; an index
        target = ws.memory_store("default") / "memories" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body)
    RawSession(ws, 0).end()  # a dream that read no session proposes nothing for the store
    ws.config_path.write_text(f'redaction:\n  patterns: ["{PATTERNS[0]}"]\n')

    result = dream(ws)

    kinds = {op["kind"] for op in result["operations"]}
    assert {"memory_duplicate", "memory_index"} <= kinds, kinds
    out = written(ws)
    assert "ACME-2026" not in out and "[REDACTED:custom]" in out


def test_the_notes_shown_to_the_model_are_redacted_before_their_titles_are_cut(tmp_path: Path) -> None:
    ws = Workspace(root=tmp_path / "ws", source="option")
    target = ws.memory_store("default") / "memories" / "meds.md"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(_text(100 - 12) + "\n")
    agg = Aggregates()
    agg.redaction = PATTERNS
    (shown,) = notes_digest(read_notes(ws, "default"), agg.redact)
    assert "ACME" not in shown["title"]
