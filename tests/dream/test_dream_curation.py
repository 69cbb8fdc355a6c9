"""Curation against the live playbook: helpful/harmful from graded sessions with an entry in context,
retirement of entries that keep hurting, no duplicate of an existing entry, merges, token budget."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dreamcli.config import Config, DreamConfig
from dreamcli.dream.engine import DreamOptions, run_dream
from dreamcli.outcomes.store import append_grade
from dreamcli.playbooks import Entry, new_playbook, render_playbook
from dreamcli.sessions.samples import install_samples
from dreamcli.sessions.writer import SessionWriter
from dreamcli.workspace.fsutil import atomic_write_text
from dreamcli.workspace.home import Workspace

pytestmark = pytest.mark.usefixtures("no_model")  # dreams run offline


def _playbook(ws: Workspace, name: str, entries: list[tuple[str, str, str]], **meta: Any) -> None:
    pb = new_playbook(name, scope=meta.get("scope"))
    pb.version = 1
    for eid, section, text in entries:
        pb.add_entry(Entry(id=eid, text=text, sources=["01JD0Q8Z3V6M4T2N8K5R7W9XAB"], first_seen="2026-09-01",
                           last_seen="2026-09-02"), section)
    atomic_write_text(ws.playbooks_dir / f"{name}.md", render_playbook(pb))


def _graded_session(ws: Workspace, entry_ids: list[str], result: str, parent: str | None = None) -> str:
    w = SessionWriter(ws)
    w.start(task={"name": "contract-review", "prompt": "p"}, model=None, workdir=None, parent_session_id=parent,
            playbooks=[{"playbook": "legal", "version": 1, "entry_ids": entry_ids}])
    w.message("user", [{"type": "text", "text": "review"}])
    w.end("completed")
    append_grade(ws, {"session_id": w.session_id, "outcome": "contract-review", "result": result,
                      "score": 1.0 if result == "satisfied" else 0.4, "threshold": 1.0, "criteria": []})
    return w.session_id


def test_helpful_harmful_counts_and_retirement(tmp_path: Path) -> None:
    ws = Workspace(root=tmp_path / "ws", source="option").ensure_layout()
    _playbook(ws, "legal", [("pb-good0001", "Tools", "Convert docx before reading."),
                            ("pb-bad00001", "Tools", "Always summarise each page separately.")],
              scope={"tasks": ["contract-review"]})
    for _ in range(2):
        _graded_session(ws, ["pb-good0001", "pb-bad00001"], "satisfied")
    for _ in range(4):
        lead = _graded_session(ws, ["pb-bad00001"], "needs_revision")
    _graded_session(ws, ["pb-bad00001"], "needs_revision", parent=lead)  # same episode as its lead: once
    append_grade(ws, {"session_id": lead, "outcome": "x", "result": "error", "criteria": []})  # unscored
    result = run_dream(ws, Config(), DreamOptions(playbook="legal"))
    ops = {o.entry_id: o for o in result.operations}
    assert ops["pb-good0001"].op == "counts"
    assert (ops["pb-good0001"].metadata.helpful, ops["pb-good0001"].metadata.harmful) == (2, 0)
    retire = ops["pb-bad00001"]
    assert retire.op == "retire" and retire.text is None and retire.old_text.startswith("Always")
    assert "4 graded runs that failed vs 2" in retire.reason
    # counted once: a new graded session adds only itself
    _graded_session(ws, ["pb-good0001"], "satisfied")
    again = run_dream(ws, Config(), DreamOptions(playbook="legal"))
    (op,) = [o for o in again.operations if o.entry_id == "pb-good0001"]
    assert op.metadata.helpful == 1 and "1 newly graded" in op.reason


def test_existing_entry_is_not_proposed_again_and_duplicates_merge(tmp_path: Path) -> None:
    ws = Workspace(root=tmp_path / "ws", source="option").ensure_layout()
    install_samples(ws)
    _playbook(ws, "default", [
        ("pb-docx0001", "Tools", "When `read` fails on a `.docx` file with \"binary file (zip archive)\", convert it "
                                 "first with `unzip -p FILE.docx word/document.xml`."),
        ("pb-dup00001", "Style", "Keep answers short and list clauses by section."),
        ("pb-dup00002", "Style", "Keep the answers short and list the clauses by section."),
    ])
    result = run_dream(ws, Config(), DreamOptions())
    ops = result.operations
    assert not any(o.op == "add" and ".docx" in o.text for o in ops)
    counts = next(o for o in ops if o.entry_id == "pb-docx0001")
    assert counts.op == "counts" and counts.support.sessions >= 3
    assert counts.metadata.last_seen > "2026-09-02" and len(counts.metadata.sources) > 1
    merge = next(o for o in ops if o.op == "merge")
    assert (merge.entry_id, merge.merged_ids) == ("pb-dup00001", ["pb-dup00002"])
    assert result.dream["inputs"]["sessions"] == 40


def test_token_budget_drops_the_weakest_additions(tmp_path: Path) -> None:
    ws = Workspace(root=tmp_path / "ws", source="option").ensure_layout()
    install_samples(ws)
    roomy = run_dream(ws, Config(), DreamOptions(dry_run=True))
    tight = run_dream(ws, Config(dream=DreamConfig(token_budget=300)), DreamOptions(dry_run=True))
    adds = [o for o in roomy.operations if o.op == "add"]
    kept = [o for o in tight.operations if o.op == "add"]
    assert 0 < len(kept) < len(adds)
    assert "over the token budget" in tight.report
    # what is left out is never stronger than what is kept
    def score(o: dict[str, Any]) -> float:
        return o.support.sessions * (0.5 + o.impact)

    kept_texts = {o.text for o in kept}
    dropped = [o for o in adds if o.text not in kept_texts]
    assert dropped and max(map(score, dropped)) <= min(map(score, kept))
