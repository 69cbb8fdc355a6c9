"""Review fixes in grading: damaged or stale `--batch` state, grader reasons and summaries redacted then
cut, a session named twice graded once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dreamcli.config import Config
from dreamcli.outcomes.batch import batches_dir, pending_batches, run_batch
from dreamcli.outcomes.checks import REASON_LIMIT
from dreamcli.outcomes.grader import TrialVerdicts, Verdict
from dreamcli.outcomes.grading import GradeOptions, Grader
from dreamcli.outcomes.scoring import SUMMARY_LIMIT, explanation, majority
from dreamcli.outcomes.selection import JobSource, Selection
from dreamcli.outcomes.spec import load_spec
from dreamcli.sessions.paths import find_session
from dreamcli.testing import FakeAnthropic
from tests.support.outcomes import GRADER_SPEC, make_session, verdict_reply, workspace, write_spec

TOKEN = "ghp_" + "a1B2c3D4e5" * 3 + "a1B2c3"


@pytest.fixture
def sessions(tmp_path: Path):  # type: ignore[no-untyped-def]
    ws = workspace(tmp_path)
    spec = load_spec(write_spec(tmp_path / "spec.yaml", GRADER_SPEC))
    ids = [make_session(ws, workdir=tmp_path / f"wd{i}", files={"summary.md": f"clause {i}"}) for i in range(2)]
    return ws, spec, [(find_session(ws, s), spec) for s in ids]


@pytest.mark.parametrize("content", ["{}", "[1]", '{"batch_id": 5, "items": {}}', '{"batch_id": "b", "items": []}',
                                     "not json"])
def test_damaged_batch_state_is_set_aside_with_a_warning(fake_anthropic: FakeAnthropic, sessions, content: str) -> None:  # type: ignore[no-untyped-def]
    ws, _spec, jobs = sessions
    grader = Grader(ws, Config(), GradeOptions())
    d = batches_dir(grader)
    d.mkdir(parents=True, exist_ok=True)
    (d / "msgbatch_damaged.json").write_text(content)
    fake_anthropic.expect(*[verdict_reply(cites_sections=True, no_advice=True) for _ in jobs])
    warnings: list[str] = []
    summary = run_batch(grader, jobs, poll_interval=0.0, on_warning=warnings.append)
    assert summary.answered == 2 and summary.resumed == []
    assert len(warnings) == 1 and "msgbatch_damaged.json" in warnings[0]
    assert pending_batches(grader) == [] and not (d / "msgbatch_damaged.json").exists()
    assert run_batch(grader, jobs, poll_interval=0.0, on_warning=warnings.append).submitted == []
    assert len(warnings) == 1  # set aside once, not warned about on every run


def test_state_of_a_batch_the_server_does_not_know_is_dropped(fake_anthropic: FakeAnthropic, sessions) -> None:  # type: ignore[no-untyped-def]
    ws, _spec, jobs = sessions
    grader = Grader(ws, Config(), GradeOptions())
    d = batches_dir(grader)
    d.mkdir(parents=True, exist_ok=True)
    (d / "msgbatch_nonexistent.json").write_text(json.dumps({"batch_id": "msgbatch_nonexistent", "items": {}}))
    fake_anthropic.expect(*[verdict_reply(cites_sections=True, no_advice=True) for _ in jobs])
    warnings: list[str] = []
    summary = run_batch(grader, jobs, poll_interval=0.0, on_warning=warnings.append)
    assert summary.answered == 2 and len(summary.submitted) == 1
    assert any("msgbatch_nonexistent" in w and "does not exist" in w for w in warnings)
    assert pending_batches(grader) == []


def _trial(reason: str, evidence: str, summary: str) -> TrialVerdicts:
    return TrialVerdicts(verdicts={"c": Verdict(criterion_id="c", passed=False, reason=reason, evidence=evidence)},
                         model="m", summary=summary)


def test_grader_reason_evidence_and_summary_are_redacted_then_cut(tmp_path: Path) -> None:
    spec = load_spec(write_spec(tmp_path / "s.yaml", "name: s\ncriteria:\n  - id: c\n    description: d\n"))
    padding = "r" * (REASON_LIMIT - 20) + " "
    (res,) = majority(spec.criteria, [_trial(padding + TOKEN, "e" * 380 + " " + TOKEN, "")])
    for text in (res.reason, res.evidence):
        assert not any(TOKEN[i:i + 10] in text for i in range(len(TOKEN) - 9)), text
    assert len(res.reason) <= REASON_LIMIT
    (res,) = majority(spec.criteria, [_trial("R" * 5_000_000, "E" * 5_000_000, "")])
    assert len(res.reason) <= REASON_LIMIT and len(res.evidence) <= 400
    text = explanation([res], 0.0, 1.0, "S" * 5_000_000)
    assert len(text) <= REASON_LIMIT + SUMMARY_LIMIT + 200
    text = explanation([res], 0.0, 1.0, "s" * (SUMMARY_LIMIT - 20) + " " + TOKEN)
    assert not any(TOKEN[i:i + 10] in text for i in range(len(TOKEN) - 9))


def test_the_same_session_named_twice_is_graded_once(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    sid = make_session(ws)
    spec = load_spec(write_spec(tmp_path / "s.yaml", "name: s\ncriteria:\n  - id: c\n    description: d\n"))
    jobs = list(JobSource(ws, Selection(ids=[sid, sid, sid[:12]]), spec))
    assert len(jobs) == 1
