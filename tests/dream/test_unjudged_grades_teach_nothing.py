"""The tour's grade of the bundled samples, whose workdirs are another machine's, judges none of their file
checks; the next dream must learn nothing from it. Those checks counted as failed: the dream proposed one
"make sure…" entry per check, "failed in 11 of 11 graded runs", quoting "cannot check" and the samples'
/home/ana path. Now the dream proposes exactly what it does when nothing was graded (the samples' own
recorded evaluations still count)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.testing import FakeAnthropic
from tests.support.outcomes import verdict_reply

SPEC = Path(__file__).resolve().parents[2] / "sample_outcomes" / "contract-review.yaml"
CHECKS = ("summary-written", "summary-heading", "covers-every-file", "docx-was-read", "pdf-was-read",
          "txt-was-read", "no-raw-markup")  # the spec's checks that read the workdir


def _cli(home: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["--home", str(home), *args], env={"NO_COLOR": "1"})


def _proposed(home: Path) -> list[dict[str, Any]]:
    r = _cli(home, "dream", "--offline", "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)["operations"]


def _seen(ops: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    return {(op["kind"], op["signature"], op["text"]) for op in ops}


@pytest.mark.slow
@pytest.mark.parametrize("how", ["grader", "checks-only"])
def test_grades_of_workdirs_not_here_propose_nothing(how: str, demo: Path, tmp_path: Path,
                                                     fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.responder = lambda req: verdict_reply(cites_sections=True, complete=True, accurate_terms=True)
    fake_anthropic.allow_leftovers = True
    args = ["--checks-only"] if how == "checks-only" else []
    r = _cli(demo, "grade", "--task", "contract-review", "--outcome", str(SPEC), *args)
    assert r.exit_code == 1, r.output  # nothing failed, but the file checks went unjudged: no pass
    assert "graded 11 session(s): 11 partial" in r.stderr
    ops = _proposed(demo)
    texts = "\n".join(json.dumps(op) for op in ops)
    assert "cannot check" not in texts and "/home/ana" not in texts and "is not here" not in texts
    criteria = {op["signature"].rsplit("|", 1)[1] for op in ops if op["kind"] == "criterion"}
    assert not criteria & set(CHECKS), criteria
    fresh = CliRunner().invoke(app, ["init", str(tmp_path / "fresh"), "--with-samples"])  # never graded
    assert fresh.exit_code == 0, fresh.output
    assert _seen(ops) == _seen(_proposed(tmp_path / "fresh" / ".dreamcli"))
