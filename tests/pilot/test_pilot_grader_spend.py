"""A pilot's trial costs what its grader calls cost, an unusable answer too: the grader is billed for an answer
that carries no verdict (the grade is then an error, unscored), and the pilot's `--max-cost` and its report
counted such a call as $0."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dreamcli.testing import FakeAnthropic, RecordedRequest, Reply, text_reply
from tests.pilot.helpers import run_pilot_api, seed_workspace, write_task

GRADER_USAGE = {"input_tokens": 200_000, "output_tokens": 1_000}


def _responder(req: RecordedRequest) -> Reply:
    choice = req.body.get("tool_choice") if isinstance(req.body, dict) else None
    if isinstance(choice, dict) and choice.get("name") == "record_verdicts":  # the grader: no verdict in it
        return text_reply("I think it is fine.", usage=GRADER_USAGE)
    return text_reply("SOLVED: section 9.2, 30 days.", usage={"input_tokens": 100, "output_tokens": 10})


def test_an_unusable_grader_answer_is_counted_in_the_trials_cost(fake_anthropic: FakeAnthropic, ws: Any,
                                                                 tmp_path: Path) -> None:
    seed_workspace(ws)
    task = write_task(tmp_path)
    spec = tmp_path / "contract-review-outcome.yaml"
    spec.write_text(spec.read_text() + "  - id: cites\n    description: Cites each clause by its section.\n")
    fake_anthropic.responder = _responder
    result = run_pilot_api(ws, task, trials=1, parallel=1)
    graded = [r for r in fake_anthropic.requests if (r.body.get("tool_choice") or {}).get("name") == "record_verdicts"]
    assert graded and result["unscored"] == 2  # both arms' grades errored: the test can fail
    by_arm = result["cost"]["by_arm"]
    assert set(by_arm) == {"baseline", "candidate"}
    assert all(usd > 0.1 for usd in by_arm.values()), by_arm  # 200k input tokens a grader call; the agent's: 100
    assert result["cost"]["this_run_usd"] == sum(by_arm.values())
