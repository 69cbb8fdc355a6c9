"""`dreamcli pilot` as a user runs it (CliRunner, no terminal): the confirmation rule, --json keys,
the 80-column table, --per-entry, --max-cost, and resuming an interrupted pilot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from dreamcli.testing import FakeAnthropic
from tests.pilot.helpers import DREAM, HELPS, NEUTRAL, entry_ids, scripted_agent, seed_workspace, write_task


def pilot(ws: Any, *args: str, columns: int = 80) -> Any:
    from dreamcli.cli.app import app

    return CliRunner().invoke(app, ["--home", str(ws.root), "pilot", *args],
                              env={"NO_COLOR": "1", "COLUMNS": str(columns), "DREAMCLI_ACTOR": "tester"})


def test_without_a_terminal_pilot_needs_yes(fake_anthropic: FakeAnthropic, ws, tmp_path) -> None:
    seed_workspace(ws)
    task = write_task(tmp_path)
    r = pilot(ws, str(task), "--proposal", DREAM)
    assert r.exit_code == 2
    assert "no terminal to confirm the estimated cost on: add --yes" in r.stderr
    assert "estimated cost: $" in r.stderr
    assert not fake_anthropic.requests and not list(ws.sessions_dir.rglob("*.jsonl"))


def test_bad_input_is_refused_before_anything_runs(fake_anthropic: FakeAnthropic, ws, tmp_path) -> None:
    seed_workspace(ws)
    task = write_task(tmp_path)
    r = pilot(ws, str(task), "--proposal", DREAM, "--entry", "pb-nothere1", "--yes")
    assert r.exit_code == 2 and "cannot pilot entry pb-nothere1" in r.stderr
    no_outcome = tmp_path / "plain.yaml"
    no_outcome.write_text("name: plain\nprompt: Hi.\n")
    r = pilot(ws, str(no_outcome), "--proposal", DREAM, "--yes")
    assert r.exit_code == 2 and "has no outcome" in r.stderr
    r = pilot(ws, str(task), "--proposal", DREAM, "--per-entry", "--yes")
    assert r.exit_code == 2 and "at least two entries" in r.stderr
    assert not fake_anthropic.requests


def test_a_decided_entry_is_named_in_words(fake_anthropic: FakeAnthropic, ws, tmp_path) -> None:
    from dreamcli.playbooks.approval import approve, reject

    seed_workspace(ws, entries=(HELPS, NEUTRAL))
    reject(ws, DREAM, entry_ids=["pb-pilot001"], reason="off scope")
    approve(ws, DREAM, entry_ids=["pb-pilot002"])
    task = write_task(tmp_path)
    for entry, word in (("pb-pilot001", "rejected"), ("pb-pilot002", "approved")):
        r = pilot(ws, str(task), "--proposal", DREAM, "--entry", entry, "--yes")
        assert r.exit_code == 2, r.output
        assert r.stderr.strip() == f"error: cannot pilot entry {entry} of dream {DREAM}: it is already {word}"
    assert not fake_anthropic.requests


def test_json_output_has_the_documented_keys(fake_anthropic: FakeAnthropic, ws, tmp_path) -> None:
    seed_workspace(ws)
    task = write_task(tmp_path)
    fake_anthropic.responder = scripted_agent(1.0, 0.0)
    r = pilot(ws, str(task), "--proposal", DREAM[:8], "--trials", "3", "--yes", "--json")
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    assert {"arms", "lift", "cost", "session_ids"} <= set(data)
    for arm in data["arms"]:
        assert {"name", "trials", "passed", "pass_rate", "ci95"} <= set(arm)
    assert [a["name"] for a in data["arms"]] == ["baseline", "candidate"]
    assert [a["passed"] for a in data["arms"]] == [0, 3]
    assert {"delta", "ci95", "p_value", "test"} <= set(data["lift"])
    assert data["lift"]["delta"] == 1.0 and data["lift"]["p_value"] == 0.25  # exact McNemar b=0, c=3
    assert data["cost"]["total_usd"] > 0 and len(data["session_ids"]["candidate"]) == 3
    assert data["path"] == str(ws.dreams_dir / DREAM / "pilot.json")


def test_the_table_is_readable_at_80_columns(fake_anthropic: FakeAnthropic, ws, tmp_path) -> None:
    seed_workspace(ws, entries=(HELPS, NEUTRAL))
    task = write_task(tmp_path)
    fake_anthropic.responder = scripted_agent(0.9, 0.1)
    r = pilot(ws, str(task), "--proposal", DREAM, "--trials", "4", "--per-entry", "--yes")
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, r.stdout
    text = r.stdout
    for word in ("baseline", "candidate", "w/o pb-pilot001", "w/o pb-pilot002", "delta", "McNemar exact p",
                 "95% CI", "leave one out"):
        assert word in text, text
    row = next(line for line in lines if line.startswith("pb-pilot001"))
    assert "carries lift" in row or "unknown" in row
    neutral = next(line for line in lines if line.startswith("pb-pilot002"))
    assert "carries lift" not in neutral  # the neutral entry is dead weight
    data = json.loads((ws.dreams_dir / DREAM / "pilot.json").read_text())["runs"][-1]
    assert set(data["per_entry"]) == set(entry_ids(2))
    assert data["per_entry"]["pb-pilot002"]["lift"]["delta"] == 0.0  # HELPS is placed in both arms


def test_max_cost_stops_cleanly_and_a_rerun_resumes(fake_anthropic: FakeAnthropic, ws, tmp_path) -> None:
    seed_workspace(ws)
    task = write_task(tmp_path)
    fake_anthropic.responder = scripted_agent(0.8, 0.3)
    # one trial costs about 1200 input + 80 output tokens at the default agent model's price
    r = pilot(ws, str(task), "--proposal", DREAM, "--trials", "6", "--parallel", "1", "--max-cost", "0.01",
              "--yes", "--json")
    assert r.exit_code == 0, r.stderr
    first = json.loads(r.stdout)
    done_first = first["new_trials"]
    assert first["status"] == "stopped" and "--max-cost" in first["stop_reason"]
    assert 1 <= done_first < 12 and first["skipped_trials"] == 12 - done_first
    assert len(fake_anthropic.requests) == done_first
    r = pilot(ws, str(task), "--proposal", DREAM, "--trials", "6", "--yes", "--json")
    second = json.loads(r.stdout)
    assert second["pilot_id"] == first["pilot_id"]  # the same pilot, resumed
    assert second["resumed_trials"] == done_first and second["new_trials"] == 12 - done_first
    assert second["status"] == "complete" and sum(a["trials"] for a in second["arms"]) == 12
    assert len(fake_anthropic.requests) == 12  # no trial ran twice
    runs = json.loads((ws.dreams_dir / DREAM / "pilot.json").read_text())["runs"]
    assert [r["status"] for r in runs] == ["stopped", "complete"]
    # more trials later extend the same pilot
    r = pilot(ws, str(task), "--proposal", DREAM, "--trials", "7", "--yes", "--json")
    assert json.loads(r.stdout)["new_trials"] == 2 and len(fake_anthropic.requests) == 14


def test_a_torn_journal_line_reruns_only_that_trial(fake_anthropic: FakeAnthropic, ws, tmp_path) -> None:
    """As if killed mid-write: finished trials stay recorded, the torn one runs again."""
    seed_workspace(ws)
    task = write_task(tmp_path)
    fake_anthropic.responder = scripted_agent(1.0, 0.0)
    r = pilot(ws, str(task), "--proposal", DREAM, "--trials", "2", "--yes", "--json")
    assert r.exit_code == 0
    journal = ws.dreams_dir / DREAM / "pilot-trials.jsonl"
    lines = journal.read_text().splitlines()
    assert len(lines) == 4
    journal.write_text("\n".join(lines[:2]) + "\n" + lines[2][:40])  # two whole lines and a torn one
    r = pilot(ws, str(task), "--proposal", DREAM, "--trials", "2", "--yes", "--json")
    data = json.loads(r.stdout)
    assert data["resumed_trials"] == 2 and data["new_trials"] == 2
    assert len(fake_anthropic.requests) == 6
    assert [a["passed"] for a in data["arms"]] == [0, 2]


def test_help_lists_the_options(tmp_path: Path) -> None:
    from dreamcli.cli.app import app

    r = CliRunner().invoke(app, ["pilot", "--help"], env={"NO_COLOR": "1", "COLUMNS": "120"})
    for opt in ("--proposal", "--entry", "--trials", "--parallel", "--max-cost", "--yes", "--json", "--per-entry"):
        assert opt in r.stdout
