"""`grade --batch` (Message Batches API, resumable) and `grade --calibrate` (agreement with labels)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dreamcli.config import Config
from dreamcli.errors import Interrupted
from dreamcli.outcomes.batch import pending_batches, run_batch
from dreamcli.outcomes.calibrate import calibrate, cohens_kappa
from dreamcli.outcomes.grading import GradeOptions, Grader, grade_sessions
from dreamcli.outcomes.spec import load_spec
from dreamcli.sessions.paths import find_session
from dreamcli.testing import FakeAnthropic, error_reply, text_reply
from tests.support.outcomes import GRADER_SPEC, make_session, verdict_reply, workspace, write_spec
from tests.support.paths import REPO


def batch_posts(fake: FakeAnthropic) -> list[object]:
    return [r for r in fake.all_requests if r.method == "POST" and r.path.rstrip("/") == "/v1/messages/batches"]


@pytest.fixture
def sessions(tmp_path: Path):  # type: ignore[no-untyped-def]
    ws = workspace(tmp_path)
    spec = load_spec(write_spec(tmp_path / "spec.yaml", GRADER_SPEC))
    ids = [make_session(ws, workdir=tmp_path / f"wd{i}", files={"summary.md": f"clause {i}"}) for i in range(3)]
    return ws, spec, [(find_session(ws, s), spec) for s in ids]


def test_batch_grades_without_direct_calls(fake_anthropic: FakeAnthropic, sessions) -> None:  # type: ignore[no-untyped-def]
    ws, _spec, jobs = sessions
    fake_anthropic.batch_polls_before_end = 2
    fake_anthropic.expect(verdict_reply(cites_sections=True, no_advice=True),
                          verdict_reply(cites_sections=False, no_advice=True),
                          text_reply("no verdicts here"))
    grader = Grader(ws, Config(), GradeOptions())
    statuses: list[str] = []
    summary = run_batch(grader, jobs, poll_interval=0.0, on_status=lambda bid, st, counts: statuses.append(st))
    assert statuses == ["in_progress", "in_progress", "ended"]
    assert summary.answered == 2 and summary.errored == 1 and len(summary.submitted) == 1
    assert all(r.batch_id for r in fake_anthropic.requests)  # every grader call went through the batch
    assert pending_batches(grader) == []  # finished batches leave no state behind
    grader.options.allow_model_calls = False
    results = list(grade_sessions(grader, jobs, concurrency=2))
    assert [r.result for r in results] == ["satisfied", "needs_revision", "error"]
    assert "no record_verdicts call" in (results[2].error or "")
    assert len(fake_anthropic.requests) == 3
    assert results[0].cost_usd > 0
    # the next run only resubmits what failed
    fake_anthropic.expect(verdict_reply(cites_sections=True, no_advice=False))
    again = run_batch(Grader(ws, Config(), GradeOptions()), jobs, poll_interval=0.0)
    assert again.answered == 1 and len(batch_posts(fake_anthropic)) == 2
    assert len(fake_anthropic.batches.batches[again.submitted[0]].requests) == 1


def test_batch_resumes_after_interruption(fake_anthropic: FakeAnthropic, sessions) -> None:  # type: ignore[no-untyped-def]
    ws, _spec, jobs = sessions
    fake_anthropic.batch_polls_before_end = 3
    fake_anthropic.expect(*[verdict_reply(cites_sections=True, no_advice=True) for _ in jobs])

    def ctrl_c(batch_id: str, status: str, counts: dict[str, int]) -> None:
        raise KeyboardInterrupt

    with pytest.raises(Interrupted, match="run the same command again to resume"):
        run_batch(Grader(ws, Config(), GradeOptions()), jobs, poll_interval=0.0, on_status=ctrl_c)
    grader = Grader(ws, Config(), GradeOptions())
    (state,) = pending_batches(grader)
    assert len(state["items"]) == 3
    summary = run_batch(grader, jobs, poll_interval=0.0)  # a new process: the same batch is resumed
    assert summary.resumed == [state["batch_id"]] and summary.submitted == [] and summary.answered == 3
    assert len(batch_posts(fake_anthropic)) == 1
    assert pending_batches(grader) == []
    grader.options.allow_model_calls = False
    assert [r.result for r in grade_sessions(grader, jobs)] == ["satisfied"] * 3


def test_batch_errored_requests_are_grader_errors(fake_anthropic: FakeAnthropic, sessions) -> None:  # type: ignore[no-untyped-def]
    ws, _spec, jobs = sessions
    fake_anthropic.batch_polls_before_end = 0
    fake_anthropic.expect(error_reply(529, message="Overloaded"), verdict_reply(cites_sections=True, no_advice=True),
                          verdict_reply(cites_sections=True, no_advice=True))
    grader = Grader(ws, Config(), GradeOptions())
    run_batch(grader, jobs, poll_interval=0.0)
    grader.options.allow_model_calls = False
    results = list(grade_sessions(grader, jobs))
    assert results[0].result == "error" and "overloaded_error" in (results[0].error or "")
    assert [r.result for r in results[1:]] == ["satisfied", "satisfied"]


def test_batch_cli(fake_anthropic: FakeAnthropic, sessions, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from dreamcli.cli.app import app

    ws, _spec, jobs = sessions
    fake_anthropic.batch_polls_before_end = 1
    fake_anthropic.expect(*[verdict_reply(cites_sections=True, no_advice=True) for _ in jobs])
    r = CliRunner().invoke(app, ["--home", str(ws.root), "grade", "--last", "3", "--outcome",
                                 str(tmp_path / "spec.yaml"), "--batch", "--poll-interval", "0", "--json"])
    assert r.exit_code == 0, r.output
    assert "ended, 3/3 answered" in r.stderr
    assert [x["result"] for x in json.loads(r.stdout)["results"]] == ["satisfied"] * 3


# --- calibrate ------------------------------------------------------------------------------------


def test_kappa() -> None:
    assert cohens_kappa(5, 0, 5, 0) == 1.0
    assert cohens_kappa(0, 5, 0, 5) == -1.0
    assert cohens_kappa(3, 2, 2, 3) == pytest.approx(0.0)
    assert cohens_kappa(20, 5, 15, 10) == pytest.approx(0.4)
    assert cohens_kappa(0, 0, 0, 0) is None


CALIBRATE_SPEC = GRADER_SPEC.replace("pass_threshold:", """\
  - label: good
    output: "Section 7.2: either party, 30 days. Section 3.4: Consultant."
  - label: bad
    output: "I recommend you sue."
pass_threshold:""")


def test_calibrate_agreement(fake_anthropic: FakeAnthropic, tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    spec = load_spec(write_spec(tmp_path / "spec.yaml", CALIBRATE_SPEC))
    # examples in order: good, bad, good, bad; the grader gets all four right
    fake_anthropic.expect(verdict_reply(cites_sections=True, no_advice=True),
                          verdict_reply(cites_sections=False, no_advice=False),
                          verdict_reply(cites_sections=True, no_advice=True),
                          verdict_reply(cites_sections=True, no_advice=False))
    report = calibrate(Grader(ws, Config(), GradeOptions()), spec)
    assert (report.tp, report.fn, report.tn, report.fp) == (2, 0, 2, 0)
    assert report.kappa == 1.0 and report.ok and report.exit_code == 0
    assert report.criteria_used == ["cites-sections", "no-advice"]  # the file check cannot judge an example
    assert "You should terminate." in fake_anthropic.requests[1].last_user_text
    again = calibrate(Grader(ws, Config(), GradeOptions()), spec)  # cached: no new requests
    assert again.kappa == 1.0 and len(fake_anthropic.requests) == 4


def test_calibrate_cli_below_threshold_exits_1(fake_anthropic: FakeAnthropic, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from dreamcli.cli.app import app

    ws = workspace(tmp_path)
    spec = write_spec(tmp_path / "spec.yaml", CALIBRATE_SPEC)
    fake_anthropic.expect(*[verdict_reply(cites_sections=True, no_advice=True) for _ in range(4)])  # passes all
    r = CliRunner().invoke(app, ["--home", str(ws.root), "grade", "--outcome", str(spec), "--calibrate", "--json"])
    assert r.exit_code == 1, r.output
    data = json.loads(r.stdout)
    assert data["tpr"] == 1.0 and data["tnr"] == 0.0 and data["ok"] is False
    assert data["thresholds"] == {"tpr": 0.8, "tnr": 0.8, "kappa": 0.6}


def test_calibrate_needs_both_labels_and_reports_errors(fake_anthropic: FakeAnthropic, tmp_path: Path) -> None:
    from dreamcli.errors import UsageError

    ws = workspace(tmp_path)
    only_good = load_spec(write_spec(tmp_path / "g.yaml", GRADER_SPEC.split("  - label: bad")[0]))
    with pytest.raises(UsageError, match="one good and one bad"):
        calibrate(Grader(ws, Config(), GradeOptions()), only_good)
    spec = load_spec(write_spec(tmp_path / "spec.yaml", GRADER_SPEC))
    fake_anthropic.expect(verdict_reply(cites_sections=True, no_advice=True), text_reply("hmm"))
    report = calibrate(Grader(ws, Config(), GradeOptions()), spec)
    assert report.errors == 1 and report.exit_code == 3 and report.rows[1].error


def test_calibrate_samples_with_answer_checks_only(tmp_path: Path) -> None:
    """--checks-only calibration of a sample spec uses the checks that read the answer, with no model."""
    root = REPO
    spec = load_spec(root / "sample_outcomes" / "contract-review.yaml")
    report = calibrate(Grader(workspace(tmp_path), Config(), GradeOptions(checks_only=True)), spec)
    assert report.criteria_used == ["no-legal-advice"]
    assert [r.predicted for r in report.rows] == ["good", "bad", "good"]  # one bad example gives no advice
