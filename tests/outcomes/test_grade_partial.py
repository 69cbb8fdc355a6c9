"""Review fixes: `--checks-only` over grader criteria is `partial` (never a pass, ignored by the dream);
a damaged cache entry is a miss; JSON in text takes the block with verdicts; `run --parallel` exits 3
on a grader error."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.dream.grades import _records
from dreamcli.orchestration.batch import BatchRun
from dreamcli.outcomes.grader import _json_from_text
from dreamcli.outcomes.store import append_grade, iter_grades
from dreamcli.testing import FakeAnthropic
from tests.support.outcomes import GRADER_SPEC, make_session, verdict_reply, verdicts, workspace, write_spec

GRADER_ONLY = "name: g\ncriteria:\n  - id: a\n    description: something\n"


def _grade(ws, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["--home", str(ws.root), "grade", *args])


def test_checks_only_over_grader_criteria_is_partial_not_satisfied(ws, no_model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # the grader criteria carry 3/4 of the weight: the passing check alone must not be a pass
    spec = write_spec(tmp_path / "spec.yaml", GRADER_SPEC)
    sid = make_session(ws, workdir=tmp_path / "a", files={"summary.md": "x"})
    junit = tmp_path / "j.xml"
    r = _grade(ws, sid, "--outcome", str(spec), "--checks-only", "--json", "--junit", str(junit))
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    (res,) = doc["results"]
    assert res["result"] == "partial" and res["score"] == 1.0
    assert res["skipped"] == ["cites-sections", "no-advice"]
    assert doc["totals"]["satisfied"] == 0 and doc["totals"]["partial"] == 1
    assert [g["result"] for g in iter_grades(ws)] == ["partial"]
    case = ET.parse(junit).getroot().find(".//testcase")
    assert case is not None and case.find("skipped") is not None and case.find("failure") is None


def test_checks_only_partial_with_a_failed_check_exits_1(ws, no_model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    spec = write_spec(tmp_path / "spec.yaml", GRADER_SPEC)
    sid = make_session(ws, workdir=tmp_path / "a")  # no summary.md
    r = _grade(ws, sid, "--outcome", str(spec), "--checks-only", "--json")
    assert r.exit_code == 1
    (res,) = json.loads(r.stdout)["results"]
    assert res["result"] == "partial" and res["failing"] == ["summary-written"] and res["score"] == 0.0


def test_checks_only_on_a_grader_only_spec_is_partial_and_unscored(ws, no_model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    spec = write_spec(tmp_path / "g.yaml", GRADER_ONLY)
    sid = make_session(ws, workdir=tmp_path / "a")
    r = _grade(ws, sid, "--outcome", str(spec), "--checks-only", "--json")
    assert r.exit_code == 0, r.stderr
    (res,) = json.loads(r.stdout)["results"]
    assert res["result"] == "partial" and res["score"] is None and res["skipped"] == ["a"]
    r = _grade(ws, sid, "--outcome", str(spec), "--checks-only")
    assert r.exit_code == 0 and "partial" in r.stdout


def test_the_dream_ignores_partial_grades(ws, no_model) -> None:  # type: ignore[no-untyped-def]
    base = {"outcome": "review", "spec_hash": "h", "score": 0.5, "threshold": 1.0, "criteria": []}
    append_grade(ws, {**base, "session_id": "S1", "result": "needs_revision"})
    append_grade(ws, {**base, "session_id": "S1", "result": "partial", "skipped": ["a"]})
    append_grade(ws, {**base, "session_id": "S2", "result": "partial", "skipped": ["a"]})
    append_grade(ws, {**base, "session_id": "S3", "result": "satisfied", "skipped": ["a"]})  # older writers
    records, _ = _records(ws, 0)
    assert {k: v["result"] for k, v in records.items()} == {("S1", "review"): "needs_revision"}


def test_damaged_cache_entry_is_a_miss_not_a_crash(tmp_path: Path, fake_anthropic: FakeAnthropic) -> None:
    ws = workspace(tmp_path)
    spec = write_spec(tmp_path / "spec.yaml", GRADER_SPEC)
    sid = make_session(ws, workdir=tmp_path / "wd", files={"summary.md": "x"})
    fake_anthropic.expect(verdict_reply(cites_sections=True, no_advice=True),
                          verdict_reply(cites_sections=True, no_advice=True))
    assert _grade(ws, sid, "--outcome", str(spec)).exit_code == 0
    (entry,) = list((ws.state_dir / "grade-cache").rglob("*.json"))
    data = json.loads(entry.read_text())
    data["verdicts"] = data["verdicts"][:1]
    entry.write_text(json.dumps(data))
    r = _grade(ws, sid, "--outcome", str(spec), "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["results"][0]["result"] == "satisfied"
    assert len(fake_anthropic.requests) == 2  # asked again instead of trusting the damaged entry
    assert [g["result"] for g in iter_grades(ws)] == ["satisfied", "satisfied"]


def test_json_in_text_takes_the_block_with_verdicts() -> None:
    want = verdicts(a=True)
    text = '```json\n{"note": 1}\n```\nThen:\n```json\n' + json.dumps(want) + "\n```"
    assert _json_from_text(text) == want
    assert _json_from_text('```json\n{"note": 1}\n```') == {"note": 1}  # still reported as malformed


def _run(ok: bool, code: int) -> BatchRun:
    return BatchRun(0, "t", None, "completed" if ok else "error", exit_code=code)


def test_parallel_exit_code_grader_error_wins() -> None:
    from dreamcli.cli.run_batch import exit_code_for

    assert exit_code_for([_run(True, 0), _run(True, 0)]) == 0
    assert exit_code_for([_run(True, 0), _run(False, 1)]) == 1
    assert exit_code_for([_run(False, 3)]) == 3
    assert exit_code_for([_run(False, 1), _run(False, 3)]) == 3
