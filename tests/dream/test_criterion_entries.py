"""A failing outcome criterion's entry says what a passing run does, in the outcome spec's words, when
the grade names its spec (grades.jsonl `outcome_path`, or the run's task `outcome` for the evaluations
a run recorded in its log), and its evidence points at the `outcome.evaluation` line of the session
log when the verdict came from there (review-dream defect 9)."""

from __future__ import annotations

import json
from pathlib import Path

from dreamcli.config import Config
from dreamcli.dream.engine import DreamOptions, run_dream
from dreamcli.outcomes.store import grades_path
from dreamcli.playbooks.proposal_model import Operation
from dreamcli.sessions.writer import SessionWriter
from dreamcli.workspace.home import Workspace

SPEC = """name: medical-summary
criteria:
  - id: units-and-ranges
    description: Every abnormal lab value is given with its unit and its reference range.
"""


def _ws(tmp_path: Path) -> tuple[Workspace, Path]:
    spec = tmp_path / "medical-summary.yaml"
    spec.write_text(SPEC)
    return Workspace(root=tmp_path / "ws", source="option").ensure_layout(), spec


def _session(ws: Workspace, task: dict[str, str], passed: bool | None, i: int) -> tuple[str, int | None]:
    """A run; with `passed`, an outcome.evaluation in its log. Returns its id and that line's seq."""
    w = SessionWriter(ws)
    start = w.start(task=task, model=None, workdir=None)
    w.message("user", [{"type": "text", "text": "Summarise the labs."}])
    w.message("assistant", [{"type": "text", "text": "Potassium 5.9."}])
    seq = None
    if passed is not None:
        seq = w.evaluation(outcome="medical-summary", iteration=1,
                           result="satisfied" if passed else "needs_revision", score=1.0 if passed else 0.5,
                           criteria=[{"id": "units-and-ranges", "passed": passed,
                                      "reason": "" if passed else f"potassium 5.9 has no unit (run {i})"}])["seq"]
    w.end("completed", totals={"cost_usd": 0.01})
    return str(start["session_id"]), seq


def _criterion(ws: Workspace) -> Operation:
    ops = run_dream(ws, Config(), DreamOptions(offline=True)).operations
    (op,) = [op for op in ops if op.op == "add" and op.kind == "criterion"]
    return op


def test_a_runs_own_evaluations_name_the_spec_description_and_the_line(tmp_path: Path) -> None:
    ws, spec = _ws(tmp_path)
    task = {"name": "medical-summary", "prompt": "p", "outcome": str(spec)}
    lines = {}
    for i in range(4):
        sid, seq = _session(ws, task, passed=i == 3, i=i)
        lines[sid] = seq
    op = _criterion(ws)
    text = op.text or ""
    assert text.startswith("Before finishing a `medical-summary` run, make sure: Every abnormal lab value is given "
                           "with its unit and its reference range. (Criterion `units-and-ranges`; it failed in 3 "
                           "of 4 graded runs")
    assert op.evidence and all(e.seq is not None and e.seq == lines[e.session_id] for e in op.evidence)


def test_a_grade_record_names_the_spec(tmp_path: Path) -> None:
    ws, spec = _ws(tmp_path)
    records = []
    for i in range(4):
        sid, _ = _session(ws, {"name": "medical-summary", "prompt": "p"}, passed=None, i=i)
        records.append({"v": 1, "ts": f"2026-10-0{i + 1}T00:00:00.000Z", "grade_id": f"g{i}", "session_id": sid,
                        "outcome": "medical-summary", "outcome_path": str(spec),
                        "result": "satisfied" if i == 3 else "needs_revision", "score": 0.5,
                        "criteria": [{"id": "units-and-ranges", "passed": i == 3, "reason": f"no unit (run {i})"}]})
    path = grades_path(ws)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    text = _criterion(ws).text or ""
    assert "make sure: Every abnormal lab value is given with its unit and its reference range." in text


def test_without_a_spec_the_entry_keeps_the_id_and_an_example(tmp_path: Path) -> None:
    ws, _spec = _ws(tmp_path)
    for i in range(4):
        _session(ws, {"name": "medical-summary", "prompt": "p"}, passed=i == 3, i=i)
    op = _criterion(ws)
    assert (op.text or "").startswith("Before finishing a `medical-summary` run, check the `units-and-ranges` "
                                      "criterion: it failed in 3 of 4 graded runs (e.g. \"potassium 5.9 has no unit")
    assert all(e.seq is not None for e in op.evidence)
