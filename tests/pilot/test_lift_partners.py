"""A joint lift counts for an entry only while the entries it was measured with go live with it (docs/pilot.md,
"In review"): already live, or pending and in the same approval. One that was rejected, reverted, or left out of
the approval makes the lift read as not the entry's (`measured with pb-x, which was rejected`), with the entry's
own leave-one-out lift when it measured 0 or less; `approval.require_lift` then holds it. Before, an entry whose
leave-one-out lift was 0 went live alone on a lift that came entirely from its rejected partner."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner

from dreamcli.playbooks.auto import auto_approve
from dreamcli.workspace.fsutil import atomic_write_text
from tests.pilot.helpers import DREAM, HELPS, NEUTRAL, config, seed_workspace
from tests.support.playbooks import audit, cli, decisions

GATE = "approval:\n  require_lift: true\n"
LIVE = "pb-live0001"


def _write(ws: Any, entries: list[str], joint: tuple[float, float, float],
           own: dict[str, tuple[float, float, float]]) -> None:
    def lift(lo: float, hi: float, p: float) -> dict[str, Any]:
        return {"delta": (lo + hi) / 2, "ci95": [lo, hi], "p_value": p, "test": "mcnemar_exact", "pairs": 10}

    run = {"pilot_id": "P1", "entries": entries, "ts": "2026-12-05T10:00:00Z", "lift": lift(*joint),
           "per_entry": {e: {"lift": lift(*v)} for e, v in own.items()}}
    atomic_write_text(ws.dreams_dir / DREAM / "pilot.json", json.dumps({"v": 1, "dream_id": DREAM, "runs": [run]}))


def _helps_and_neutral(ws: Any) -> None:
    """The d01 review case: HELPS carries the whole joint lift, NEUTRAL's leave-one-out lift is 0."""
    seed_workspace(ws, entries=(HELPS, NEUTRAL))
    config(ws, GATE)
    _write(ws, ["pb-pilot001", "pb-pilot002"], (1.0, 1.0, 0.002),
           {"pb-pilot001": (1.0, 1.0, 0.002), "pb-pilot002": (0.0, 0.0, 1.0)})


def _live_ids(ws: Any) -> list[str]:
    text = (ws.playbooks_dir / "default.md").read_text()
    return [i for i in ("pb-pilot001", "pb-pilot002", "pb-pilot003") if f"[{i}]" in text]


def _diff_pilot(ws: Any, entry: str) -> list[str]:
    from dreamcli.cli.app import app

    r = CliRunner().invoke(app, ["--home", str(ws.root), "playbooks", "diff", DREAM],
                           env={"NO_COLOR": "1", "COLUMNS": "250", "DREAMCLI_ACTOR": "tester"})
    assert r.exit_code == 0, r.stderr
    block = r.stdout.split(entry, 1)[1].split("ADDED", 1)[0]
    return [line.strip() for line in block.splitlines() if line.strip().startswith(("pilot:", "leave-one-out:"))]


GONE = ("measured with pb-pilot001, which was rejected (its own leave-one-out lift was 0.00, 95% CI "
        "0.00..0.00, 10 pairs)")


def test_an_entry_whose_partner_was_rejected_is_held(ws) -> None:
    _helps_and_neutral(ws)
    r = cli(ws, "playbooks", "reject", DREAM, "--entry", "pb-pilot001", "--reason", "not wanted", "--yes")
    assert r.exit_code == 0, r.stderr
    r = cli(ws, "playbooks", "approve", DREAM, "--entry", "pb-pilot002", "--yes")
    assert r.exit_code == 2
    assert r.stderr.startswith("error: approval.require_lift: entry pb-pilot002 cannot be approved: it has not "
                               f"been piloted as it stands: its pilot (P1) {GONE} (1 entry held)")
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert _live_ids(ws) == [] and [d["action"] for d in decisions(ws, DREAM)] == ["reject"]

    assert _diff_pilot(ws, "pb-pilot002") == [
        f"pilot: {GONE}; re-run the pilot (it measured: lift +1.00 (95% CI +1.00\u2026+1.00, p 0.002, 10 pairs; "
        "2 entries together) helps)"]
    ops = json.loads(cli(ws, "playbooks", "diff", DREAM, "--json").stdout)["dreams"][0]["operations"]
    pilot = next(o["pilot"] for o in ops if o["entry_id"] == "pb-pilot002")
    assert pilot["stale"] == GONE and pilot["leave_one_out_lift"]["delta"] == 0.0

    r = cli(ws, "playbooks", "approve", DREAM, "--entry", "pb-pilot002", "--force", "--reason", "wanted anyway",
            "--yes")
    assert r.exit_code == 0, r.stderr
    assert audit(ws)[-1]["forced_lift"] == [{"entry_id": "pb-pilot002", "why": (
        f"it has not been piloted as it stands: its pilot (P1) {GONE}")}]


def test_a_partner_left_out_of_the_approval_holds_the_entry_and_together_they_pass(ws) -> None:
    _helps_and_neutral(ws)
    assert _diff_pilot(ws, "pb-pilot002")[0].startswith("pilot: lift +1.00")  # both pending: it may go in together
    r = cli(ws, "playbooks", "approve", DREAM, "--entry", "pb-pilot002", "--yes")
    assert r.exit_code == 2
    assert ("its pilot (P1) measured with pb-pilot001, which this approval leaves out (its own leave-one-out "
            "lift was 0.00") in r.stderr
    r = cli(ws, "playbooks", "approve", DREAM, "--entry", "pb-pilot001", "--yes")  # its leave-one-out +1.00: not said
    assert r.exit_code == 2
    assert "measured with pb-pilot002, which this approval leaves out (1 entry held)" in r.stderr
    assert not (ws.playbooks_dir / "default.md").read_text().count("pb-pilot")
    r = cli(ws, "playbooks", "approve", DREAM, "--entry", "pb-pilot001", "--entry", "pb-pilot002", "--yes")
    assert r.exit_code == 0, r.stderr
    assert _live_ids(ws) == ["pb-pilot001", "pb-pilot002"]
    assert [d["forced"] for d in decisions(ws, DREAM)] == [False, False]


def _trio_with_the_first_live(ws: Any) -> None:
    seed_workspace(ws, entries=(HELPS, NEUTRAL, NEUTRAL + " Use lists."))
    config(ws, GATE)
    _write(ws, ["pb-pilot001", "pb-pilot002", "pb-pilot003"], (0.3, 0.9, 0.004), {})
    r = cli(ws, "playbooks", "approve", DREAM, "--entry", "pb-pilot001", "--force", "--reason", "first", "--yes")
    assert r.exit_code == 0, r.stderr  # v3


def test_a_partner_already_live_counts(ws) -> None:
    _trio_with_the_first_live(ws)
    r = cli(ws, "playbooks", "approve", DREAM, "--entry", "pb-pilot002", "--yes")
    assert r.exit_code == 2
    assert "its pilot (P1) measured with pb-pilot003, which this approval leaves out (1 entry held)" in r.stderr
    r = cli(ws, "playbooks", "approve", DREAM, "--entry", "pb-pilot002", "--entry", "pb-pilot003", "--yes")
    assert r.exit_code == 0, r.stderr  # pb-pilot001 is live: it counts
    assert _live_ids(ws) == ["pb-pilot001", "pb-pilot002", "pb-pilot003"]


def test_a_partner_approved_then_reverted_does_not_count(ws) -> None:
    _trio_with_the_first_live(ws)
    assert cli(ws, "playbooks", "revert", "default", "2", "--yes").exit_code == 0  # pb-pilot001 taken out again
    r = cli(ws, "playbooks", "approve", DREAM, "--entry", "pb-pilot002", "--entry", "pb-pilot003", "--yes")
    assert r.exit_code == 2
    assert "its pilot (P1) measured with pb-pilot001, which was approved, then reverted (2 entries held)" in r.stderr
    assert _live_ids(ws) == []


def test_auto_approve_leaves_out_the_partners_of_what_it_holds(ws) -> None:
    seed_workspace(ws, entries=(HELPS, NEUTRAL))
    config(ws, GATE)  # pb-pilot002 hurts the others; pb-pilot001's lift was measured only with it
    _write(ws, ["pb-pilot001", "pb-pilot002"], (0.2, 0.6, 0.004),
           {"pb-pilot001": (0.4, 0.9, 0.001), "pb-pilot002": (-0.8, -0.2, 0.004)})
    out = auto_approve(ws, DREAM)
    assert out["approved"] == [] and out["status"] == "pending"
    held = {h["entry_id"]: h["reason"] for h in out["held_for_lift"]}
    assert "the other entries did better without it" in held["pb-pilot002"]
    assert held["pb-pilot001"] == ("it has not been piloted as it stands: its pilot (P1) measured with pb-pilot002, "
                                   "which this approval leaves out")
    assert "pb-pilot" not in (ws.playbooks_dir / "default.md").read_text()
