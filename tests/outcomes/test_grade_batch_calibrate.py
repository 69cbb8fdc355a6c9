"""`grade --batch` (Message Batches API, resumable) and `grade --calibrate` (agreement with labels)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dreamcli.config import Config
from dreamcli.errors import Interrupted
from dreamcli.outcomes.batch import pending_batches, run_batch
from dreamcli.outcomes.calibrate import calibrate, cohens_kappa
from dreamcli.outcomes.evidence import load_run
from dreamcli.outcomes.grading import GradeOptions, Grader, grade_sessions
from dreamcli.outcomes.spec import load_spec
from dreamcli.sessions.paths import find_session
from dreamcli.testing import FakeAnthropic, error_reply, text_reply, tool_reply, tool_use
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


CUSTOM = "ACME-12345678"  # only the workspace config's `redaction.patterns` knows this one


def test_calibrate_redacts_with_the_workspace_patterns(fake_anthropic: FakeAnthropic, tmp_path: Path) -> None:
    """`grade --calibrate` scores as `grade` does, with the workspace's redactor: neither the grader's request
    nor the report (text or --json) shows a secret only the config's patterns know."""
    from typer.testing import CliRunner

    from dreamcli.cli.app import app

    ws = workspace(tmp_path)
    ws.config_path.write_text('redaction:\n  patterns: ["ACME-[0-9]{8}"]\n')
    spec = write_spec(tmp_path / "spec.yaml", CALIBRATE_SPEC.replace("I recommend you sue.",
                                                                     f"I recommend you sue, {CUSTOM}."))
    unknown = tool_reply(tool_use("record_verdicts", {"verdicts": [  # the grader's error echoes the secret
        {"criterion_id": f"sue-{CUSTOM}", "passed": True, "reason": CUSTOM, "evidence": CUSTOM}]}))
    for flags in (["--json"], []):
        fake_anthropic.expect(*[verdict_reply(cites_sections=True, no_advice=True) if i % 2 == 0 else unknown
                                for i in range(4)])
        r = CliRunner().invoke(app, ["--home", str(ws.root), "grade", "--outcome", str(spec), "--calibrate",
                                     "--no-cache", *flags])
        assert r.exit_code == 3, r.output
        assert "grader judged an unknown criterion 'sue-[REDACTED:" in r.stdout
        assert CUSTOM not in r.stdout + r.stderr
    assert all(CUSTOM not in json.dumps(q.body) for q in fake_anthropic.requests)


def test_calibration_scores_an_example_as_grade_scores_a_run(fake_anthropic: FakeAnthropic, tmp_path: Path) -> None:
    """The same criteria results, score and result for an example as for a run whose answer it is."""
    ws = workspace(tmp_path)
    spec = load_spec(write_spec(tmp_path / "spec.yaml", CALIBRATE_SPEC.replace(
        "  - id: summary-written\n    check: {type: file_exists, in: summary.md}\n",
        "  - id: cites\n    check: {type: regex, value: 'Section [0-9.]+'}\n")))
    replies = [verdict_reply(cites_sections=True, no_advice=False), verdict_reply(cites_sections=False, no_advice=True)]
    fake_anthropic.expect(*replies, *replies, *replies)  # four examples, then two runs
    grader = Grader(ws, Config(), GradeOptions(use_cache=False))
    report = calibrate(grader, spec)
    graded = []
    for example in spec.examples[:2]:
        sid = make_session(ws, answer=example.output, workdir=tmp_path / "wd")
        graded.append(grader.grade_run(load_run(find_session(ws, sid)), spec))
    assert [r.score for r in report.rows[:2]] == [g.score for g in graded] == [0.75, 0.25]
    assert [r.failing for r in report.rows[:2]] == [g.failing for g in graded] == [["no-advice"],
                                                                                    ["cites-sections", "cites"]]
    assert [r.predicted for r in report.rows[:2]] == ["good", "bad"]
    assert [g.result for g in graded] == ["satisfied", "needs_revision"]
