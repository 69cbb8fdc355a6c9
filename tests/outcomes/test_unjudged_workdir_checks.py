"""A check that cannot run because the session's workdir is not here (moved, removed, another machine's) is
not judged: it goes into the grade's `skipped`, the score is over the judged weight, the result is `partial`
and `grade` exits 1 only when a judged criterion failed. It was a failed criterion: the tour's grade of the
bundled samples read as eleven `needs_revision` runs (exit 1), which the next dream mined as failures.
A file missing from a workdir that is here still fails, and so does a run's own workdir under `run --outcome`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.config import Config
from dreamcli.outcomes.evidence import load_run
from dreamcli.outcomes.revision import RevisionLoop
from dreamcli.outcomes.spec import load_spec
from dreamcli.sessions.paths import session_path
from dreamcli.testing import FakeAnthropic
from dreamcli.workspace.home import Workspace
from tests.support.outcomes import GRADER_SPEC, make_session, verdict_reply, write_spec

NOT_HERE = "is not here (moved, removed, or another machine's): cannot check"

MIXED_SPEC = """
name: mixed
criteria:
  - id: says-done
    check: {type: contains, value: "Done"}
    weight: 3
  - id: summary-written
    check: {type: file_exists, in: summary.md}
  - id: summary-heading
    check: {type: contains, in: summary.md, value: "# Termination"}
pass_threshold: 0.75
"""


def _grade(ws: Workspace, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["--home", str(ws.root), "grade", *args], env={"NO_COLOR": "1"})


def test_checks_of_a_workdir_not_here_are_not_judged(fake_anthropic: FakeAnthropic, ws: Workspace,
                                                      tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "review.yaml", GRADER_SPEC)
    workdir = tmp_path / "wd"
    sid = make_session(ws, workdir=workdir, files={"summary.md": "Section 12.1"})
    shutil.rmtree(workdir)  # here when it ran, not now
    fake_anthropic.expect(verdict_reply(cites_sections=True, no_advice=True))
    junit = tmp_path / "grades.xml"
    r = _grade(ws, sid, "--outcome", str(spec), "--json", "--junit", str(junit))
    assert r.exit_code == 1, r.output  # nothing judged failed, but a check could not be judged: no pass for CI
    doc = json.loads(r.stdout)
    res = doc["results"][0]
    assert res["result"] == "partial" and res["score"] == 1.0 and res["failing"] == []
    assert res["skipped"] == ["summary-written"]
    assert [c["id"] for c in res["criteria"]] == ["cites-sections", "no-advice"]
    assert f"checks not judged: summary-written (the session's workdir {workdir} {NOT_HERE})" in res["explanation"]
    assert doc["totals"]["partial"] == 1 and doc["totals"]["needs_revision"] == 0
    xml = junit.read_text()
    assert '<failure message="partial: ' in xml and "checks not judged: summary-written" in xml
    assert "<skipped" not in xml and "failing:" not in xml
    stored = [json.loads(line) for line in (ws.root / "grades" / "grades.jsonl").read_text().splitlines()]
    assert [(g["result"], g["skipped"]) for g in stored] == [("partial", ["summary-written"])]
    listing = CliRunner().invoke(app, ["--home", str(ws.root), "sessions", "list", "--json"], env={"NO_COLOR": "1"})
    row = json.loads(listing.stdout)["sessions"][0]
    assert (row["outcome"], row["score"]) == ("partial", 1.0)


def test_a_judged_check_that_fails_still_fails_the_grade(ws: Workspace, tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "mixed.yaml", MIXED_SPEC)
    sid = make_session(ws, answer="Sorry, no summary.", workdir=tmp_path / "elsewhere")
    (tmp_path / "elsewhere").rmdir()
    r = _grade(ws, sid, "--outcome", str(spec), "--json")
    assert r.exit_code == 1, r.output
    res = json.loads(r.stdout)["results"][0]
    assert res["result"] == "partial" and res["failing"] == ["says-done"] and res["score"] == 0.0
    assert res["skipped"] == ["summary-written", "summary-heading"]


def test_only_judged_weight_counts_and_a_run_with_nothing_judged_has_no_score(ws: Workspace,
                                                                               tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "files.yaml", """
        name: files
        criteria:
          - id: summary-written
            check: {type: file_exists, in: summary.md}
        """)
    sid = make_session(ws, workdir=tmp_path / "elsewhere")
    (tmp_path / "elsewhere").rmdir()
    r = _grade(ws, sid, "--outcome", str(spec), "--json")
    assert r.exit_code == 1, r.output  # judged nothing: a CI step must not pass (it exited 0)
    doc = json.loads(r.stdout)
    res = doc["results"][0]
    assert (res["result"], res["score"], res["skipped"]) == ("partial", None, ["summary-written"])
    assert doc["totals"]["exit_code"] == 1


def test_a_missing_file_in_a_workdir_that_is_here_fails(ws: Workspace, tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "mixed.yaml", MIXED_SPEC)
    sid = make_session(ws, workdir=tmp_path / "wd")  # here, without summary.md
    r = _grade(ws, sid, "--outcome", str(spec), "--json")
    assert r.exit_code == 1, r.output
    res = json.loads(r.stdout)["results"][0]
    assert res["result"] == "needs_revision" and res["skipped"] == []
    assert res["failing"] == ["summary-written", "summary-heading"]


def test_run_outcome_fails_the_checks_of_its_own_workdir_gone(ws: Workspace, tmp_path: Path) -> None:
    """The revision loop grades the run's own workdir: one that is gone was removed by the run."""
    spec = load_spec(write_spec(tmp_path / "mixed.yaml", MIXED_SPEC))
    sid = make_session(ws, workdir=tmp_path / "elsewhere")
    (tmp_path / "elsewhere").rmdir()
    run = load_run(session_path(ws, sid))
    res = RevisionLoop(ws, Config(), spec).grader.score_run(run, spec, spec.criteria)
    assert res.result == "needs_revision" and res.skipped == []
    assert res.failing == ["summary-written", "summary-heading"]
    assert all(c.reason.endswith(NOT_HERE) for c in res.criteria if not c.passed)


def test_the_table_counts_what_was_not_judged_and_says_why_once(ws: Workspace, tmp_path: Path) -> None:
    """A row per session says how many criteria were not judged; which and why is one line under the table for
    the sessions that share them (the tour's 11 samples listed the same ten ids on every row, wrapped)."""
    spec = write_spec(tmp_path / "mixed.yaml", MIXED_SPEC)
    sids = []
    for _ in range(3):
        workdir = tmp_path / f"wd{len(sids)}"
        sids.append(make_session(ws, workdir=workdir, files={"summary.md": "# Termination"}, answer="Done"))
        shutil.rmtree(workdir)
    r = _grade(ws, *sids, "--outcome", str(spec))
    assert r.exit_code == 1, r.output
    rows = [line for line in r.stdout.splitlines() if line.startswith(tuple(sids))]
    assert len(rows) == 3 and all(line.rstrip().endswith("- (2 not judged)") for line in rows), r.stdout
    [why] = [line for line in r.stderr.splitlines() if "partial session(s)" in line]
    assert why.startswith("3 partial session(s): checks not judged: summary-written, summary-heading")
    assert NOT_HERE in why and "(e.g. " in why


def test_a_partial_grade_of_checks_only_may_still_pass(ws: Workspace, tmp_path: Path) -> None:
    """Only the grader's criteria unjudged, as --checks-only asked, and every check passed: exit 0 and a JUnit
    skip, as before; it is a check of a workdir not here that keeps a grade from passing."""
    spec = write_spec(tmp_path / "review.yaml", GRADER_SPEC)
    sid = make_session(ws, workdir=tmp_path / "wd", files={"summary.md": "Section 12.1"})
    junit = tmp_path / "grades.xml"
    r = _grade(ws, sid, "--outcome", str(spec), "--checks-only", "--junit", str(junit))
    assert r.exit_code == 0, r.output
    assert "<skipped message=" in junit.read_text() and "<failure" not in junit.read_text()


def test_a_grade_stored_before_the_rule_teaches_the_dream_nothing(ws: Workspace, tmp_path: Path) -> None:
    """A workspace graded by the dreamcli before this rule holds `needs_revision` grades that failed each check
    with "… is not here …: cannot check": they would be partial now, and the dream must not learn from them."""
    from dreamcli.config import Config
    from dreamcli.dream.engine import DreamOptions, run_dream

    sids = [make_session(ws, task="contract-review") for _ in range(3)]
    with (ws.root / "grades" / "grades.jsonl").open("a") as f:
        for sid in sids:
            f.write(json.dumps({
                "v": 1, "grade_id": f"g-{sid}", "ts": "2026-12-01T10:00:00Z", "session_id": sid,
                "outcome": "contract-review", "result": "needs_revision", "score": 0.0, "threshold": 0.8,
                "criteria": [{"id": "summary-written", "passed": False, "weight": 1.0,
                              "reason": f"the session's workdir /home/ana/x {NOT_HERE}"}]}) + "\n")
    result = run_dream(ws, Config(), DreamOptions(offline=True))
    texts = json.dumps([op.to_json() for op in result.operations])
    assert "summary-written" not in texts and "cannot check" not in texts
    assert result.dream["inputs"]["graded"] == 0
