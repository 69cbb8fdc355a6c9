"""Review shows what a pilot measured (`playbooks diff`), and config `approval.require_lift` makes
`approve` refuse entries without a lift above 0 unless forced with a reason (audited)."""

from __future__ import annotations

import json
from typing import Any

from dreamcli.playbooks.lift import last_lifts, lift_problem
from dreamcli.testing import FakeAnthropic
from dreamcli.workspace.fsutil import atomic_write_text
from tests.pilot.helpers import DREAM, HELPS, NEUTRAL, config, run_pilot_api, scripted_agent, seed_workspace, write_task
from tests.support.playbooks import audit, cli, decisions


def _pilot_file(ws: Any, runs: list[dict[str, Any]]) -> None:
    atomic_write_text(ws.dreams_dir / DREAM / "pilot.json", json.dumps({"v": 1, "dream_id": DREAM, "runs": runs}))


def _run(pilot_id: str, entries: list[str], lo: float, hi: float, per_entry: dict[str, Any] | None = None) -> dict:
    return {"pilot_id": pilot_id, "entries": entries, "ts": "2026-12-05T10:00:00Z", "per_entry": per_entry or {},
            "lift": {"delta": (lo + hi) / 2, "ci95": [lo, hi], "p_value": 0.5, "test": "mcnemar_exact", "pairs": 10}}


def test_the_last_pilot_of_each_entry_counts(ws) -> None:
    seed_workspace(ws, entries=(HELPS, NEUTRAL))
    _pilot_file(ws, [
        _run("P1", ["pb-pilot001", "pb-pilot002"], 0.1, 0.5),
        _run("P2", ["pb-pilot001", "pb-pilot002"], -0.2, 0.6, per_entry={
            "pb-pilot001": {"lift": {"delta": 0.4, "ci95": [0.2, 0.6], "p_value": 0.01, "pairs": 10}},
            "pb-pilot002": {"lift": {"delta": 0.0, "ci95": [-0.1, 0.0], "p_value": 1.0, "pairs": 10}}}),
    ])
    lifts = last_lifts(ws.dreams_dir / DREAM)
    assert lifts["pb-pilot001"].pilot_id == "P2" and lifts["pb-pilot001"].leave_one_out
    # the lift of the entries piloted together counts (docs/pilot.md, "--per-entry"); leave-one-out is shown
    own = lifts["pb-pilot001"].own
    assert lifts["pb-pilot001"].ci95 == (-0.2, 0.6) and own is not None and own.ci95 == (0.2, 0.6)
    assert lift_problem(lifts["pb-pilot001"]) is None
    assert lift_problem(lifts["pb-pilot002"]) is None  # its leave-one-out -0.1..0.0 (p 1) does not show it hurts
    assert lift_problem(None) == "it has never been piloted"
    (ws.dreams_dir / DREAM / "pilot.json").write_text("{not json")
    assert last_lifts(ws.dreams_dir / DREAM) == {}  # unreadable reads as "no pilot", never a pass


def test_require_lift_refuses_unless_forced_with_a_reason(ws) -> None:
    seed_workspace(ws, entries=(HELPS, NEUTRAL))
    config(ws, "approval:\n  require_lift: true\n")
    r = cli(ws, "playbooks", "approve", DREAM, "--entry", "pb-pilot001", "--yes")
    assert r.exit_code == 2
    assert "approval.require_lift: entry pb-pilot001 cannot be approved: it has never been piloted" in r.stderr
    _pilot_file(ws, [_run("P1", ["pb-pilot001"], 0.05, 0.6), _run("P2", ["pb-pilot002"], -0.5, 0.0)])
    r = cli(ws, "playbooks", "approve", DREAM, "--entry", "pb-pilot002", "--yes")
    assert r.exit_code == 2 and "upper bound is not above 0" in r.stderr
    r = cli(ws, "playbooks", "approve", DREAM, "--entry", "pb-pilot002", "--force", "--yes")
    assert r.exit_code == 2 and "--force --reason TEXT" in r.stderr  # --force alone is not enough
    assert not decisions(ws, DREAM)
    r = cli(ws, "playbooks", "approve", DREAM, "--entry", "pb-pilot001", "--yes")
    assert r.exit_code == 0, r.stderr  # its last pilot's CI is above 0
    r = cli(ws, "playbooks", "approve", DREAM, "--entry", "pb-pilot002", "--force", "--reason",
            "legal asked for it; measured on the wrong tasks", "--yes")
    assert r.exit_code == 0, r.stderr
    record = audit(ws)[-1]
    assert record["action"] == "approve" and record["entry_ids"] == ["pb-pilot002"]
    assert record["reason"] == "legal asked for it; measured on the wrong tasks"
    assert record["forced_lift"][0]["entry_id"] == "pb-pilot002"
    assert [d["forced"] for d in decisions(ws, DREAM) if d["action"] == "approve"] == [False, True]
    assert "forced_lift" not in audit(ws)[-2]


def test_without_the_policy_approve_is_unchanged(ws) -> None:
    seed_workspace(ws)
    r = cli(ws, "playbooks", "approve", DREAM, "--entry", "pb-pilot001", "--yes")
    assert r.exit_code == 0, r.stderr


def test_diff_shows_the_lift_beside_each_piloted_entry(fake_anthropic: FakeAnthropic, ws, tmp_path) -> None:
    seed_workspace(ws, entries=(HELPS, NEUTRAL))
    fake_anthropic.responder = scripted_agent(1.0, 0.0)
    result = run_pilot_api(ws, write_task(tmp_path), trials=6, entry_ids=["pb-pilot001"])
    r = cli(ws, "playbooks", "diff", DREAM)
    assert r.exit_code == 0, r.stderr
    block = r.stdout.split("pb-pilot001", 1)[1].split("pb-pilot002", 1)[0]
    assert "pilot: lift +1.00 (95% CI +1.00\u2026+1.00, p 0.031, 6 pairs; alone) helps" in block
    assert "pilot:" not in r.stdout.split("pb-pilot002", 1)[1]  # never piloted: nothing shown
    r = cli(ws, "playbooks", "diff", DREAM, "--json")
    ops = {o["entry_id"]: o for o in json.loads(r.stdout)["dreams"][0]["operations"]}
    assert ops["pb-pilot001"]["pilot"]["pilot_id"] == result["pilot_id"]
    assert ops["pb-pilot001"]["pilot"]["ci95"] == [1.0, 1.0] and ops["pb-pilot002"]["pilot"] is None


def test_pilot_results_are_appended_never_replaced(ws) -> None:
    import pytest

    from dreamcli.errors import InputError
    from dreamcli.pilot.store import append_result

    seed_workspace(ws)
    path = append_result(ws, DREAM, {"pilot_id": "A"})
    append_result(ws, DREAM, {"pilot_id": "B"})
    assert [r["pilot_id"] for r in json.loads(path.read_text())["runs"]] == ["A", "B"]
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    path.write_text('{"runs": [{"pilot_id": "A"}')  # damaged: refused, never replaced by a new file
    with pytest.raises(InputError, match="move the file aside"):
        append_result(ws, DREAM, {"pilot_id": "C"})
    assert path.read_text() == '{"runs": [{"pilot_id": "A"}'
