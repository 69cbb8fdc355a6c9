"""Every number a pilot shows is the value it computed, rounded once (docs/pilot.md, "Statistics"): the
lift line, the verdict, `playbooks diff` and the review page agree, an interval bound that is not 0 never
reads 0.00, a p-value is never 0, the table's delta row is the difference of the figures above it, and
"cost ... in all" counts what unscored trials cost, also after a resume ran them again."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.figures import bound_text, p_text
from dreamcli.pilot.report import arm_summary, lift_json
from dreamcli.pilot.stats import effect, lift_of, mcnemar_exact, verdict
from dreamcli.playbooks.lift import EntryLift, lift_problem
from dreamcli.testing import FakeAnthropic, RecordedRequest, Reply, text_reply
from dreamcli.ui.pilot_view import ci_text, lift_phrase
from dreamcli.workspace.fsutil import atomic_write_text
from dreamcli.workspace.home import Workspace
from tests.pilot.helpers import DREAM, HELPS, USAGE, config, seed_workspace, write_task
from tests.support.outcomes import verdict_reply
from tests.support.playbooks import cli
from tests.support.review_html import DREAM as REVIEW_DREAM
from tests.support.review_html import review_workspace

ELL, MINUS = "\u2026", "\u2212"


def _stored(lift: Any) -> dict[str, Any]:
    """A lift as `pilot.json` keeps it and every reader gets it back."""
    return json.loads(json.dumps(lift_json(lift)))


def _s19() -> Any:
    """201 pairs: 4 pass only in the baseline, 13 only in the candidate; the bootstrap's 2.5th
    percentile is 1/201 = 0.004975 (tester G's hand computation)."""
    return lift_of([[(True, False)] * 4 + [(False, True)] * 13 + [(True, True)] * 184])


def test_a_bound_is_rounded_once_and_reads_the_same_in_the_lift_line_the_verdict_and_the_diff() -> None:
    lift = _s19()
    assert lift.ci95[0] == 1 / 201 and lift.p_value < 0.05
    stored = _stored(lift)
    assert stored["ci95"][0] == 1 / 201  # full precision: no 0.005 to be rounded again to +0.01
    assert ci_text(stored["ci95"]) == f"+0.005{ELL}+0.08"
    assert stored["verdict"] == f"the candidate helps: lift CI +0.005{ELL}+0.08 is above 0"
    assert lift_phrase({**stored, "together_with": 1}) == (
        f"lift +0.04 (95% CI +0.005{ELL}+0.08, p 0.049, 201 pairs; alone) helps")


def test_an_upper_bound_just_above_0_shows_it_and_passes_require_lift_and_one_at_0_does_not() -> None:
    """The boundary: the gate and the verdict judge the bound as computed, and the text shows it so."""
    near = lift_of([[(True, False)] * 4 + [(False, True)] * 1 + [(True, True)] * 196])
    assert near.ci95[1] == 1 / 201
    stored = _stored(near)
    assert stored["verdict"] == f"lift unknown: CI spans {MINUS}0.04{ELL}+0.005; run more trials"

    def gate(hi: float) -> str | None:
        return lift_problem(EntryLift(entry_id="pb-x", pilot_id="p1", delta=-0.01, ci95=(-0.04, hi),
                                      p_value=0.375, pairs=201, together_with=1))

    assert gate(1 / 201) is None
    assert gate(0.0) is not None and "upper bound is not above 0" in str(gate(0.0))
    assert bound_text(0.0) == "0.00" and bound_text(-1 / 201) == f"{MINUS}0.005"
    assert effect((0.0, 0.08), 201, 0.01) == "unknown"  # a lower bound of exactly 0 is not above it
    assert verdict((0.0, 0.08), 201, 0.01) == f"lift unknown: CI spans 0.00{ELL}+0.08; run more trials"


def test_the_wilson_column_is_rounded_once() -> None:
    records = [{"scored": True, "passed": i < 2, "cost_usd": 0.0} for i in range(16)]
    lo, hi = json.loads(json.dumps(arm_summary("baseline", records)))["ci95"]
    assert f"{lo:.2f}{hi:.2f}" == "0.030.36"  # Wilson 0.034977: stored as 0.035 it printed 0.04


def test_a_p_value_is_never_0_and_never_on_the_wrong_side_of_005() -> None:
    lift = lift_of([[(False, True)] * 24])
    stored = _stored(lift)
    assert stored["p_value"] == 2 * 0.5**24  # 1.19e-07, not 0.0
    assert "p 1.2e-07," in lift_phrase(stored)
    assert p_text(stored["p_value"], 3) == "1.19e-07"
    assert mcnemar_exact(0, 2000) > 0  # too small for a float: still not 0
    assert p_text(0.04996) == "0.04996" and p_text(0.05) == "0.05" and p_text(0.049) == "0.049"


# --- the review page ----------------------------------------------------------------------------

def _page(ws: Workspace, tmp_path: Path, runs: list[dict[str, Any]]) -> str:
    atomic_write_text(ws.dreams_dir / REVIEW_DREAM / "pilot.json",
                      json.dumps({"v": 1, "dream_id": REVIEW_DREAM, "runs": runs}))
    out = tmp_path / "review.html"
    r = cli(ws, "playbooks", "diff", "--html", str(out))
    assert r.exit_code == 0, r.output
    return out.read_text(encoding="utf-8")


def _run(lift: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"pilot_id": "pl-1", "ts": "2026-11-25T00:00:00Z", "entries": ["pb-bbbb0001", "pb-aaaa0001"],
            "lift": lift, **extra}


def test_the_page_draws_no_bar_for_a_pilot_that_scored_no_pair(ws: Workspace, tmp_path: Path) -> None:
    review_workspace(ws)
    none = {"delta": 0.0, "ci95": [-1.0, 1.0], "p_value": 1.0, "pairs": 0}
    why = {"unscored": 6, "unscored_reasons": {"grader error": 6}}
    assert lift_json(lift_of([[]]), "6 trials unscored: grader errors")["no_pairs"] == (
        "6 trials unscored: grader errors")  # what the pilot keeps with such a lift
    html = _page(ws, tmp_path, [_run({**none, "no_pairs": "6 trials unscored: grader errors"}, **why)])
    assert '<svg class="lift"' not in html and "p = 1" not in html
    assert html.count("no pairs scored (6 trials unscored: grader errors)") == 3  # the dream, each entry
    assert html.count("unknown: approval.require_lift does not count this pilot") == 3
    html = _page(ws, tmp_path, [_run(none, **why)])  # recorded before the lift kept why: the count says it
    assert '<svg class="lift"' not in html and "no pairs scored (6 trials unscored) (1 run)" in html


def test_the_page_colours_by_the_verdict_and_says_it_with_the_pairs(ws: Workspace, tmp_path: Path) -> None:
    review_workspace(ws)
    one_pair = {"delta": 1.0, "ci95": [1.0, 1.0], "p_value": 1.0, "pairs": 1}  # above 0, but p = 1
    hurts = {"delta": -0.75, "ci95": [-1.0, -0.5], "p_value": 0.0078125, "pairs": 8}
    html = _page(ws, tmp_path, [_run(one_pair, per_entry={"pb-bbbb0001": {"lift": hurts}})])
    assert "band positive" not in html and html.count("band unclear") == 3
    assert html.count(">unknown, 1 pair<") == 3
    entry = re.search(r'<article[^>]*data-entry-id="pb-bbbb0001".*?</article>', html, re.S)
    other = re.search(r'<article[^>]*data-entry-id="pb-aaaa0001".*?</article>', html, re.S)
    assert entry and other
    assert ("its own leave-one-out lift hurts (-0.750, 95% interval -1.000 to -0.500, p = 0.00781): approve "
            "refuses it") in entry.group(0)
    assert "leave-one-out lift hurts" not in other.group(0)
    helps = {"delta": 0.45, "ci95": [0.25, 0.65], "p_value": 0.00390625, "pairs": 20}
    html = _page(ws, tmp_path, [_run(helps)])
    assert html.count("band positive") == 3 and html.count(">helps, 20 pairs<") == 3


# --- a real pilot: the delta row, and the cost after a resume -----------------------------------

def _graded(tmp_path: Path) -> Path:
    task = write_task(tmp_path)
    (tmp_path / "contract-review-outcome.yaml").write_text(
        "name: graded\nmax_iterations: 1\ncriteria:\n  - id: solved\n    check: {type: contains, value: SOLVED}\n"
        "  - id: cites\n    description: The answer cites the section number.\n")
    return task


def _responder(plan: dict[str, str]) -> Any:
    """The agent tags its answer `[arm i]` (its i-th trial of the arm, so run one at a time); the grader
    reads the tag: plan "E" answers garbage (a grader error: unscored), "0" a failed criterion."""
    seen = {"base": 0, "cand": 0}

    def responder(req: RecordedRequest) -> Reply:
        if (req.body.get("tool_choice") or {}).get("name") != "record_verdicts":
            arm = "cand" if HELPS in req.system_text else "base"
            seen[arm] += 1
            return text_reply(f"SOLVED: section 9.2, 30 days. [{arm} {seen[arm] - 1}]", usage=USAGE)
        tag = re.search(r"\[(base|cand) (\d+)\]", json.dumps(req.body))
        what = plan.get(f"{tag.group(1)} {tag.group(2)}") if tag else None
        if what == "E":
            return text_reply("no idea, sorry")
        return verdict_reply(cites=what != "0")

    return responder


def _pilot(ws: Workspace, task: Path) -> Any:
    from dreamcli.cli.app import app

    return CliRunner().invoke(app, ["--home", str(ws.root), "pilot", str(task), "--proposal", DREAM, "--trials",
                                    "3", "--parallel", "1", "--yes", "--json"],
                              env={"NO_COLOR": "1", "COLUMNS": "100"})


@pytest.mark.slow
def test_the_delta_row_is_the_difference_of_the_rates_and_the_cost_counts_unscored_trials_after_a_resume(
        fake_anthropic: FakeAnthropic, ws: Workspace, tmp_path: Path) -> None:
    from dreamcli.cli.app import app

    seed_workspace(ws)
    config(ws, "limits:\n  model_retries: 0\n")
    task = _graded(tmp_path)
    # baseline [pass, unscored, pass], candidate [pass, fail, pass]: rates 2/2 and 2/3, lift 0 over 2 pairs
    fake_anthropic.responder = _responder({"base 1": "E", "cand 1": "0"})
    first = CliRunner().invoke(app, ["--home", str(ws.root), "pilot", str(task), "--proposal", DREAM, "--trials",
                                     "3", "--parallel", "1", "--yes"], env={"NO_COLOR": "1", "COLUMNS": "100"})
    assert first.exit_code == 0, first.output
    table = first.stdout.splitlines()
    assert re.match(r"baseline +2/2 +1\.00 ", table[3]) and re.match(r"candidate +2/3 +0\.67 ", table[4])
    assert re.match(rf"delta +{MINUS}0\.33 ", table[5]), table[5]  # 0.67 - 1.00, not the paired lift 0.00
    assert table[6] == f"lift 0.00 over 2 pairs, 95% CI 0.00{ELL}0.00 (paired bootstrap)"
    assert "1 unscored (grader error; left out)" in first.stderr
    spent = json.loads((ws.dreams_dir / DREAM / "pilot.json").read_text())["runs"][0]["cost"]["this_run_usd"]
    assert spent > 0

    fake_anthropic.responder = _responder({})  # the resume runs the unscored trial again; it passes
    again = json.loads(_pilot(ws, task).stdout)
    assert (again["resumed_trials"], again["new_trials"], again["unscored"]) == (5, 1, 0)
    this_run = again["cost"]["this_run_usd"]
    assert 0 < this_run < spent
    # in all: both runs, the first run's unscored trial too (it was never journaled as scored)
    assert abs(again["cost"]["total_usd"] - (spent + this_run)) < 1e-6
    assert abs(sum(again["cost"]["by_arm"].values()) - again["cost"]["total_usd"]) < 1e-9


def test_approval_refusals_write_each_figure_as_the_pilot_does() -> None:
    """The reviewer's case: `lift_problem` (approval.require_lift) rounded on its own: an upper bound of
    -0.004 read "-0.00" and a leave-one-out p of 0.0496 (it hurts) read "p 0.05"."""
    from dreamcli.playbooks.lift import EntryLift, OwnLift, lift_problem

    below = EntryLift("pb-a", "pilot-1", delta=-0.03, ci95=(-0.06, -0.004), p_value=0.2, pairs=40, together_with=1)
    said = lift_problem(below)
    assert said is not None and "\u22120.06..\u22120.004" in said and "-0.00" not in said
    own = OwnLift(delta=-0.3, ci95=(-0.5, -0.1), p_value=0.0496, pairs=30)
    hurts = EntryLift("pb-a", "pilot-1", delta=0.2, ci95=(0.05, 0.3), p_value=0.01, pairs=30, together_with=2, own=own)
    said = lift_problem(hurts)
    assert said is not None and "p 0.0496" in said
