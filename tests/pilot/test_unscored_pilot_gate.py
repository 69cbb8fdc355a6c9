"""A pilot that scored no pair measured nothing: config `approval.require_lift` never counts it as a
pilot (the refusal says why nothing was scored), and it never hides what an earlier run measured. The
word `playbooks diff` prints beside a piloted entry is the pilot verdict's own (docs/pilot.md)."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner

from dreamcli.pilot.stats import verdict
from dreamcli.playbooks.lift import last_lifts, lift_problem
from dreamcli.testing import FakeAnthropic, error_reply
from dreamcli.ui.pilot_view import effect_word, lift_phrase
from dreamcli.workspace.fsutil import atomic_write_text
from tests.pilot.helpers import DREAM, config, scripted_agent, seed_workspace, write_task
from tests.support.playbooks import audit, cli, decisions

GATE = "approval:\n  require_lift: true\nlimits:\n  model_retries: 0\n"


def _pilot(ws: Any, *args: str) -> Any:
    from dreamcli.cli.app import app

    return CliRunner().invoke(app, ["--home", str(ws.root), "pilot", *args, "--proposal", DREAM, "--yes", "--json"],
                              env={"NO_COLOR": "1", "COLUMNS": "100", "DREAMCLI_ACTOR": "tester"})


def _diff_line(ws: Any) -> str:
    r = cli(ws, "playbooks", "diff", DREAM)
    assert r.exit_code == 0, r.stderr
    return next(line.strip() for line in r.stdout.splitlines() if line.strip().startswith("pilot:"))


def test_a_pilot_whose_trials_all_errored_does_not_satisfy_require_lift(fake_anthropic: FakeAnthropic, ws,
                                                                         tmp_path) -> None:
    seed_workspace(ws)
    config(ws, GATE)
    fake_anthropic.responder = lambda req: error_reply(500, error_type="api_error", message="boom")
    r = _pilot(ws, str(write_task(tmp_path)), "--trials", "3")
    assert r.exit_code == 3, r.stderr  # recorded, with its JSON, but a CI step must not pass on it
    assert r.stderr.strip().splitlines()[-1] == ("error: the pilot measured nothing: 6 trials unscored: "
                                                 "model errors")
    result = json.loads(r.stdout)
    assert result["lift"]["pairs"] == 0 and result["unscored"] == 6
    assert result["unscored_reasons"] == {"model error": 6}
    assert result["lift"]["verdict"].startswith("lift unknown: no paired trials were scored (6 trials unscored: "
                                                "model errors): nothing was measured")
    assert _diff_line(ws) == "pilot: no pairs scored (6 trials unscored: model errors; alone) unknown"

    r = cli(ws, "playbooks", "approve", DREAM, "--all", "--yes")
    assert r.exit_code == 2
    assert (f"approval.require_lift: entry pb-pilot001 cannot be approved: its pilot ({result['pilot_id']}) scored "
            "no pairs (6 trials unscored: model errors), so it measured nothing (1 entry held); pilot it with: "
            f"dreamcli --home {ws.root} pilot TASK.yaml --proposal {DREAM} --entry pb-pilot001; or approve with "
            "--force --reason TEXT (audited)") in r.stderr
    assert not decisions(ws, DREAM)
    r = cli(ws, "playbooks", "approve", DREAM, "--all", "--force", "--reason", "the API was down", "--yes")
    assert r.exit_code == 0, r.stderr
    assert audit(ws)[-1]["forced_lift"][0]["entry_id"] == "pb-pilot001"


def test_a_pilot_stopped_by_its_budget_before_any_trial_does_not_count(fake_anthropic: FakeAnthropic, ws,
                                                                         tmp_path) -> None:
    seed_workspace(ws)
    config(ws, GATE)
    r = _pilot(ws, str(write_task(tmp_path)), "--trials", "3", "--max-cost", "0")
    assert r.exit_code == 0, r.stderr
    assert not fake_anthropic.requests and json.loads(r.stdout)["lift"]["pairs"] == 0
    r = cli(ws, "playbooks", "approve", DREAM, "--all", "--yes")
    assert r.exit_code == 2
    assert ("scored no pairs (stopped before a trial ended in both arms: the budget of $0.00 was already spent), "
            "so it measured nothing") in r.stderr
    assert not decisions(ws, DREAM)


def test_the_diff_word_for_a_pilot_where_every_pair_ended_alike_is_the_verdicts(fake_anthropic: FakeAnthropic,
                                                                                ws, tmp_path) -> None:
    seed_workspace(ws)
    fake_anthropic.responder = scripted_agent(1.0, 1.0)  # every trial passes in both arms: 0...0
    r = _pilot(ws, str(write_task(tmp_path)), "--trials", "3")
    lift = json.loads(r.stdout)["lift"]
    assert lift["ci95"] == [0.0, 0.0] and lift["verdict"].startswith("no lift seen")
    assert _diff_line(ws).endswith("3 pairs; alone) no lift seen")


def _run(pilot_id: str, lift: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"pilot_id": pilot_id, "entries": ["pb-pilot001"], "ts": "2026-12-05T10:00:00Z", "lift": lift, **extra}


NOTHING = {"delta": 0.0, "ci95": [-1.0, 1.0], "p_value": 1.0, "pairs": 0}


def test_a_run_that_scored_nothing_never_hides_a_measured_one(ws) -> None:
    seed_workspace(ws)
    path = ws.dreams_dir / DREAM / "pilot.json"
    measured = {"delta": -0.5, "ci95": [-0.8, -0.2], "p_value": 0.01, "pairs": 10}
    atomic_write_text(path, json.dumps({"runs": [_run("P1", measured), _run("P2", NOTHING, unscored=4,
                                                                            unscored_reasons={"grader error": 4})]}))
    lift = last_lifts(ws.dreams_dir / DREAM)["pb-pilot001"]
    assert (lift.pilot_id, lift.pairs) == ("P1", 10)  # the later run measured nothing: P1 still counts
    assert "upper bound is not above 0" in (lift_problem(lift) or "")
    atomic_write_text(path, json.dumps({"runs": [_run("P2", NOTHING, unscored=3,
                                                      unscored_reasons={"grader error": 1, "model error": 2})]}))
    lift = last_lifts(ws.dreams_dir / DREAM)["pb-pilot001"]
    assert lift_problem(lift) == ("its pilot (P2) scored no pairs (3 trials unscored: 1 grader error, 2 model "
                                  "errors), so it measured nothing")
    assert lift_problem(last_lifts(ws.dreams_dir / DREAM).get("pb-pilot002")) == "it has never been piloted"


def test_a_lift_with_no_pair_count_never_passes(ws) -> None:
    seed_workspace(ws)
    atomic_write_text(ws.dreams_dir / DREAM / "pilot.json",
                      json.dumps({"runs": [_run("P1", {"delta": 0.0, "ci95": [-1.0, 1.0], "p_value": 1.0})]}))
    lift = last_lifts(ws.dreams_dir / DREAM)["pb-pilot001"]
    assert lift_problem(lift) == "its pilot (P1) scored no pairs (its record has no pair count), so it measured nothing"


def test_a_leave_one_out_arm_that_scored_nothing_falls_back_to_the_joint_lift(ws) -> None:
    seed_workspace(ws)
    joint = {"delta": 0.4, "ci95": [0.2, 0.6], "p_value": 0.01, "pairs": 10}
    run = _run("P1", joint, per_entry={"pb-pilot001": {"lift": NOTHING}})
    atomic_write_text(ws.dreams_dir / DREAM / "pilot.json", json.dumps({"runs": [run]}))
    lift = last_lifts(ws.dreams_dir / DREAM)["pb-pilot001"]
    assert (lift.leave_one_out, lift.pairs, lift.ci95) == (False, 10, (0.2, 0.6)) and lift_problem(lift) is None


CASES = [((0.25, 0.65), 20, 0.0039), ((-0.6, -0.1), 10, 0.02), ((0.1, 0.7), 10, 0.125), ((-0.4, 0.5), 10, 0.6),
         ((0.0, 0.0), 10, 1.0), ((-1.0, 1.0), 0, 1.0), ((0.1, 0.6), 10, None), ((0.2, 0.4), 0, 0.01)]
WORDS = (("the candidate helps", "helps"), ("the candidate hurts", "hurts"), ("no lift seen", "no lift seen"),
         ("lift unknown", "unknown"))


def _diff_word(ci: tuple[float, float], pairs: int, p: float | None) -> str:
    return lift_phrase({"delta": sum(ci) / 2, "ci95": list(ci), "p_value": p, "pairs": pairs}).rsplit(") ", 1)[1]


def test_the_diff_word_is_the_pilot_verdicts() -> None:
    for ci, pairs, p in CASES:
        said = verdict(ci, pairs, p)
        expected = next(word for prefix, word in WORDS if said.startswith(prefix))
        assert (ci, _diff_word(ci, pairs, p)) == (ci, expected), said


def test_a_lift_without_a_p_value_or_without_pairs_is_never_helps() -> None:
    assert _diff_word((0.2, 0.6), 10, None) == "unknown"  # no exact test: the interval alone decides nothing
    assert _diff_word((0.2, 0.6), 0, 0.01) == "unknown"  # no pair scored: nothing was measured
    assert _diff_word((0.2, 0.6), 10, 0.01) == "helps"
    assert effect_word((0.2, 0.6), None, 10) == "unknown"
