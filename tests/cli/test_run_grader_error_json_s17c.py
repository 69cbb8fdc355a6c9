"""`run --json` with an outcome whose grader fails (HTTP 500): the document says why the run exits 3, one
run's and each run's of `--parallel`, redacted as every string of `--json` is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dreamcli.testing import FakeAnthropic, error_reply, text_reply
from tests.support.outcomes import write_spec
from tests.support.run import invoke_run

GH_TOKEN = "ghp_" + "Zq8Wv3Lk9Tn2Rx7Pm4Bc6Hd1Jf5Gs0Ya3Ue8"
SPEC = """
name: review
criteria:
  - id: cites-sections
    description: Every clause is cited by its section number.
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "config.yaml").write_text("limits:\n  model_retries: 0\n")
    write_spec(tmp_path / "outcome.yaml", SPEC)
    (tmp_path / "work").mkdir()
    for name in ("alpha", "bravo"):
        (tmp_path / f"{name}.yaml").write_text(
            f"name: {name}\nprompt: Review {name}.\nworkdir: work\noutcome: outcome.yaml\ntools: []\n")
    return tmp_path


def test_one_run_json_carries_the_grader_error(fake_anthropic: FakeAnthropic, project: Path) -> None:
    fake_anthropic.expect(text_reply("Section 12.1: either party, 30 days."),
                          error_reply(500, message=f"grader boom {GH_TOKEN}"))
    r = invoke_run([str(project / "alpha.yaml"), "--yes", "--json"], project / "home")
    assert r.exit_code == 3, r.output
    data = json.loads(r.stdout)
    assert data["status"] == "completed" and data["exit_code"] == 3
    assert data["outcome"]["result"] == "failed"
    assert data["error"] == "grader error: grader: HTTP 500 grader boom [REDACTED:github] (after retries)"
    assert GH_TOKEN not in r.stdout and GH_TOKEN not in r.stderr


def test_each_parallel_run_carries_the_grader_error(fake_anthropic: FakeAnthropic, project: Path) -> None:
    fake_anthropic.responder = lambda req: (error_reply(500, message=f"grader boom {GH_TOKEN}")
                                            if "record_verdicts" in req.tool_names()
                                            else text_reply("Section 12.1: either party, 30 days."))
    r = invoke_run([str(project / "alpha.yaml"), str(project / "bravo.yaml"), "--parallel", "2", "--yes",
                    "--json"], project / "home")
    assert r.exit_code == 3, r.output
    runs = json.loads(r.stdout)["runs"]
    assert [run["outcome"]["result"] for run in runs] == ["failed", "failed"]
    for run in runs:
        assert run["error"] == "grader error: grader: HTTP 500 grader boom [REDACTED:github] (after retries)"
    assert GH_TOKEN not in r.stdout and GH_TOKEN not in r.stderr
