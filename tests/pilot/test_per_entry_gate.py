"""`approval.require_lift` after a `--per-entry` pilot (docs/pilot.md, "In review"): the lift of the entries
piloted together counts, as without `--per-entry`; an entry's own leave-one-out lift holds it back only
when it shows the entry hurts. So the more detailed pilot never holds what the plain one lets through,
except an entry it showed to hurt -- two entries that word one lesson (each leave-one-out 0) both pass."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.pilot.stats import HURTS, effect
from dreamcli.playbooks.lift import last_lifts, lift_problem
from dreamcli.testing import FakeAnthropic
from dreamcli.workspace.fsutil import atomic_write_text
from tests.pilot.helpers import DREAM, HELPS, NEUTRAL, config, run_pilot_api, scripted_agent, seed_workspace, write_task
from tests.support.playbooks import cli, decisions

GATE = "approval:\n  require_lift: true\n"
REWORDED = HELPS + " Always include the clause number."  # the same lesson: either entry alone gives the lift


def _diff_lines(ws: Any, entry: str) -> list[str]:
    from dreamcli.cli.app import app

    r = CliRunner().invoke(app, ["--home", str(ws.root), "playbooks", "diff", DREAM],
                           env={"NO_COLOR": "1", "COLUMNS": "200", "DREAMCLI_ACTOR": "tester"})
    assert r.exit_code == 0, r.stderr
    block = r.stdout.split(entry, 1)[1].split("ADDED", 1)[0]
    return [line.strip() for line in block.splitlines() if line.strip().startswith(("pilot:", "leave-one-out:"))]


def test_a_redundant_pair_that_helps_together_is_approvable(fake_anthropic: FakeAnthropic, ws, tmp_path) -> None:
    seed_workspace(ws, entries=(HELPS, REWORDED))
    config(ws, GATE)
    fake_anthropic.responder = scripted_agent(1.0, 0.0)  # passes when either entry (both hold HELPS) is placed
    result = run_pilot_api(ws, write_task(tmp_path), trials=12, per_entry=True)
    assert result["lift"]["ci95"] == [1.0, 1.0] and result["lift"]["p_value"] < 0.001
    assert {e: item["lift"]["ci95"] for e, item in result["per_entry"].items()} == {
        "pb-pilot001": [0.0, 0.0], "pb-pilot002": [0.0, 0.0]}  # each adds nothing to the other
    assert _diff_lines(ws, "pb-pilot001") == [
        "pilot: lift +1.00 (95% CI +1.00\u2026+1.00, p 0.00049, 12 pairs; 2 entries together) helps",
        "leave-one-out: 0.00 (95% CI 0.00\u20260.00, p 1, 12 pairs) dead weight?"]
    r = cli(ws, "playbooks", "approve", DREAM, "--entry", "pb-pilot002", "--yes")
    assert r.exit_code == 2 and "measured with pb-pilot001, which this approval leaves out" in r.stderr
    r = cli(ws, "playbooks", "approve", DREAM, "--entry", "pb-pilot001", "--entry", "pb-pilot002", "--yes")
    assert r.exit_code == 0, r.stderr  # piloted together, approved together
    assert [d["forced"] for d in decisions(ws, DREAM)] == [False, False]


def _write(ws: Any, joint: tuple[float, float, float], own: dict[str, tuple[float, float, float]] | None) -> None:
    def lift(lo: float, hi: float, p: float) -> dict[str, Any]:
        return {"delta": (lo + hi) / 2, "ci95": [lo, hi], "p_value": p, "test": "mcnemar_exact", "pairs": 12}

    run = {"pilot_id": "P1", "entries": ["pb-pilot001", "pb-pilot002"], "ts": "2026-12-05T10:00:00Z",
           "lift": lift(*joint), "per_entry": {e: {"lift": lift(*v)} for e, v in (own or {}).items()}}
    atomic_write_text(ws.dreams_dir / DREAM / "pilot.json", json.dumps({"v": 1, "dream_id": DREAM, "runs": [run]}))


def test_an_entry_whose_leave_one_out_lift_shows_it_hurts_is_held(ws) -> None:
    seed_workspace(ws, entries=(HELPS, NEUTRAL))
    config(ws, GATE)
    _write(ws, (0.2, 0.6, 0.004), {"pb-pilot001": (0.4, 0.9, 0.001), "pb-pilot002": (-0.8, -0.2, 0.004)})
    r = cli(ws, "playbooks", "approve", DREAM, "--all", "--yes")
    assert r.exit_code == 2
    assert ("entry pb-pilot002 cannot be approved: its own leave-one-out lift in pilot P1 is \u22120.50 (95% CI "
            "\u22120.80..\u22120.20, p 0.004): the other entries did better without it (1 entry held)") in r.stderr
    r = cli(ws, "playbooks", "approve", DREAM, "--entry", "pb-pilot001", "--yes")
    assert r.exit_code == 2  # its lift was measured with pb-pilot002: re-pilot it alone, or --force
    assert "its pilot (P1) measured with pb-pilot002, which this approval leaves out (1 entry held)" in r.stderr


def test_leave_one_out_does_not_rescue_an_entry_whose_joint_lift_fails(ws) -> None:
    seed_workspace(ws, entries=(HELPS, NEUTRAL))
    _write(ws, (-0.6, -0.1, 0.01), {"pb-pilot001": (0.2, 0.7, 0.01), "pb-pilot002": (-0.9, -0.4, 0.001)})
    lift = last_lifts(ws.dreams_dir / DREAM)["pb-pilot001"]
    assert (lift.ci95, lift.together_with) == ((-0.6, -0.1), 2)
    assert lift.own is not None and (lift.own.ci95, lift.own.pairs) == ((0.2, 0.7), 12)  # shown, not counted
    assert "upper bound is not above 0" in (lift_problem(lift) or "")  # re-pilot it alone: --entry pb-pilot001


JOINTS = [(0.2, 0.6, 0.004), (-0.1, 0.5, 0.3), (0.0, 0.0, 1.0), (-0.6, -0.1, 0.01)]
OWNS = [(0.0, 0.0, 1.0), (0.3, 0.8, 0.002), (-0.4, 0.2, 0.5), (-0.8, -0.2, 0.004), (-0.5, -0.1, 0.2)]


def test_per_entry_never_holds_more_than_the_plain_pilot_except_what_hurts(ws) -> None:
    seed_workspace(ws, entries=(HELPS, NEUTRAL))
    for joint in JOINTS:
        _write(ws, joint, None)
        plain = lift_problem(last_lifts(ws.dreams_dir / DREAM)["pb-pilot001"])
        for own in OWNS:
            _write(ws, joint, {"pb-pilot001": own, "pb-pilot002": (0.0, 0.0, 1.0)})
            detailed = lift_problem(last_lifts(ws.dreams_dir / DREAM)["pb-pilot001"])
            hurts = effect(own[:2], 12, own[2]) == HURTS  # the pilot table's word for the entry
            assert (detailed is not None) == (plain is not None or hurts), (joint, own, plain, detailed)


@pytest.mark.parametrize("own", OWNS)
def test_hurts_is_the_pilot_tables_word(own: Any) -> None:
    from dreamcli.playbooks.lift import OwnLift

    assert OwnLift(0.0, own[:2], own[2], 12).hurts == (effect(own[:2], 12, own[2]) == HURTS)
