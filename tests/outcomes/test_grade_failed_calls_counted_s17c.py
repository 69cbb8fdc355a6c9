"""`grade` counts the grader calls it made, failed ones too (each was sent, and retried by the SDK): the
totals line, `--json`'s `totals.model_calls` and the `--summary` table say so; cache hits are not calls."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.testing import FakeAnthropic, error_reply
from dreamcli.workspace.home import Workspace
from tests.support.outcomes import GRADER_SPEC, make_session, verdict_reply, write_spec


def _grade(ws: Workspace, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["--home", str(ws.root), "grade", *args], env={"NO_COLOR": "1"})


def test_failed_grader_calls_are_counted(fake_anthropic: FakeAnthropic, ws: Workspace, tmp_path: Path) -> None:
    (ws.root / "config.yaml").write_text("limits:\n  model_retries: 0\n")
    spec = write_spec(tmp_path / "review.yaml", GRADER_SPEC)
    for _ in range(3):
        make_session(ws, workdir=tmp_path / "wd", files={"summary.md": "Section 12.1"})
    fake_anthropic.responder = lambda req: error_reply(500, message="grader boom")
    summary = tmp_path / "summary.md"
    r = _grade(ws, "--last", "10", "--no-cache", "--outcome", str(spec), "--summary", str(summary), "--json")
    assert r.exit_code == 3, r.output
    totals = json.loads(r.stdout)["totals"]
    assert totals["error"] == 3 and totals["model_calls"] == 3 and totals["cached"] == 0
    assert "| 0 | 0 | 0 | 0 | 3 | 3 | 0 |" in summary.read_text()
    r = _grade(ws, "--last", "10", "--no-cache", "--outcome", str(spec))
    assert "3 error; 3 grader call(s), 0 from cache" in r.stderr


def test_a_failed_trial_counts_with_the_answered_one(fake_anthropic: FakeAnthropic, ws: Workspace,
                                                     tmp_path: Path) -> None:
    (ws.root / "config.yaml").write_text("limits:\n  model_retries: 0\n")
    spec = write_spec(tmp_path / "review.yaml", GRADER_SPEC)
    make_session(ws, workdir=tmp_path / "wd", files={"summary.md": "Section 12.1"})
    fake_anthropic.expect(verdict_reply(cites_sections=True, no_advice=True), error_reply(500, message="boom"))
    r = _grade(ws, "--last", "1", "--trials", "2", "--outcome", str(spec), "--json")
    assert r.exit_code == 3, r.output
    totals = json.loads(r.stdout)["totals"]
    assert totals["error"] == 1 and totals["model_calls"] == 2
