"""`grade`'s `totals.cost_usd` is what this command's grader calls cost: an answer it could not use was billed
all the same, and a verdict from the cache cost nothing now. It summed the grades' recorded costs: $0 for
billed unusable answers, and the first grade's cost again on a rerun that made no call. Each result's own
`cost_usd` stays what its verdicts cost when the grader gave them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.testing import FakeAnthropic, text_reply
from dreamcli.workspace.home import Workspace
from tests.support.outcomes import GRADER_SPEC, make_session, verdict_reply, write_spec

USAGE = {"input_tokens": 900, "output_tokens": 120}  # verdict_reply's


def _grade(ws: Workspace, *args: str) -> dict:  # type: ignore[type-arg]
    r = CliRunner().invoke(app, ["--home", str(ws.root), "grade", *args, "--json"], env={"NO_COLOR": "1"})
    return json.loads(r.stdout)


def test_a_rerun_from_the_cache_spent_nothing(fake_anthropic: FakeAnthropic, ws: Workspace, tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "review.yaml", GRADER_SPEC)
    make_session(ws, workdir=tmp_path / "wd", files={"summary.md": "Section 12.1"})
    fake_anthropic.expect(verdict_reply(cites_sections=True, no_advice=True))
    first = _grade(ws, "--last", "1", "--outcome", str(spec))
    paid = first["results"][0]["cost_usd"]
    assert paid > 0 and first["totals"]["cost_usd"] == pytest.approx(paid) and first["totals"]["model_calls"] == 1
    again = _grade(ws, "--last", "1", "--outcome", str(spec))
    assert (again["totals"]["model_calls"], again["totals"]["cached"]) == (0, 1)
    assert again["totals"]["cost_usd"] == 0.0
    assert again["results"][0]["cost_usd"] == pytest.approx(paid)  # the verdicts' own cost, as recorded


def test_an_unusable_answer_is_paid_for(fake_anthropic: FakeAnthropic, ws: Workspace, tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "review.yaml", GRADER_SPEC)
    make_session(ws, workdir=tmp_path / "wd", files={"summary.md": "Section 12.1"})
    fake_anthropic.expect(verdict_reply(cites_sections=True, no_advice=True),
                          text_reply("I cannot grade this.", usage=USAGE),
                          verdict_reply(cites_sections=True))  # a verdict short of one criterion
    good = _grade(ws, "--last", "1", "--no-cache", "--outcome", str(spec))["totals"]["cost_usd"]
    assert good > 0
    for _ in range(2):
        doc = _grade(ws, "--last", "1", "--no-cache", "--outcome", str(spec))
        assert doc["results"][0]["result"] == "error" and doc["results"][0]["cost_usd"] == 0.0
        assert doc["totals"]["model_calls"] == 1 and doc["totals"]["cost_usd"] == pytest.approx(good)
