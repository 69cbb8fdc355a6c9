"""Without a terminal and without --yes, `dreamcli pilot` refuses (exit 2) and writes nothing, also when
every trial of the plan is already recorded and only the result would be stored."""

from __future__ import annotations

from typing import Any

from dreamcli.testing import FakeAnthropic
from tests.pilot.helpers import DREAM, scripted_agent, seed_workspace, write_task
from tests.pilot.test_pilot_cli import pilot


def _files(ws: Any) -> dict[str, bytes]:
    """Every file of the dream's directory (pilot.json, the journal, pilot-plans.jsonl) and its bytes."""
    root = ws.dreams_dir / DREAM
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_nothing_left_to_run_without_yes_writes_nothing(fake_anthropic: FakeAnthropic, ws, tmp_path) -> None:
    """The tester's case: --trials 2, then 3 (resumed), then 2 again without --yes: 0 to run, but it
    stored the result (and a plan line) all the same."""
    seed_workspace(ws)
    task = write_task(tmp_path)
    fake_anthropic.responder = scripted_agent(1.0, 0.0)
    for k in ("2", "3"):
        assert pilot(ws, str(task), "--proposal", DREAM, "--trials", k, "--yes").exit_code == 0
    before, asked = _files(ws), len(fake_anthropic.requests)
    r = pilot(ws, str(task), "--proposal", DREAM, "--trials", "2")
    assert r.exit_code == 2, r.output
    assert "resuming: 4 trial(s) already recorded, 0 to run" in r.stderr
    assert r.stderr.rstrip().endswith("error: no terminal to confirm on: add --yes to record the result of the 4 "
                                      "trial(s) already recorded (nothing was run or written)")
    assert _files(ws) == before and len(fake_anthropic.requests) == asked


def test_a_result_not_stored_yet_is_not_stored_without_yes(fake_anthropic: FakeAnthropic, ws, tmp_path) -> None:
    """All trials recorded but no result in pilot.json (it was removed, or the run stopped before storing
    it): without --yes nothing appends one; with --yes the same command does, running nothing."""
    seed_workspace(ws)
    task = write_task(tmp_path)
    fake_anthropic.responder = scripted_agent(1.0, 0.0)
    assert pilot(ws, str(task), "--proposal", DREAM, "--trials", "2", "--yes").exit_code == 0
    result = ws.dreams_dir / DREAM / "pilot.json"
    result.unlink()
    before, asked = _files(ws), len(fake_anthropic.requests)
    r = pilot(ws, str(task), "--proposal", DREAM, "--trials", "2")
    assert r.exit_code == 2 and "add --yes" in r.stderr
    assert not result.exists() and _files(ws) == before
    r = pilot(ws, str(task), "--proposal", DREAM, "--trials", "2", "--yes")
    assert r.exit_code == 0, r.stderr
    assert result.exists() and len(fake_anthropic.requests) == asked
