"""`dream --auto-approve` under config `approval.require_lift`: the dream succeeds (exit 0), entries no pilot
has measured stay pending and one stderr line says why; what no policy holds (memory operations) is
approved through the audited approval path. Before, the command exited 2 after writing the proposal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.playbooks.auto import held_for_lift_message

pytestmark = pytest.mark.usefixtures("no_model")  # dreams run offline


def run(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def demo(demo: Path) -> Path:
    """The suite's sample workspace (tests/conftest.py), set to auto-approve only with a measured lift."""
    home = demo
    (home / "config.yaml").write_text("dream:\n  auto_approve: true\napproval:\n  require_lift: true\n")
    return home


def test_entries_without_a_pilot_stay_pending_and_the_dream_exits_0(demo: Path) -> None:
    r = run("--home", str(demo), "dream", "--auto-approve", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    auto = data["auto_approved"]
    ops = {o["entry_id"]: o for o in data["operations"]}
    held = [h["entry_id"] for h in auto["held_for_lift"]]
    assert held and all(ops[i]["target"] == "playbook" for i in held)
    assert {h["reason"] for h in auto["held_for_lift"]} == {"it has never been piloted"}
    assert all(ops[i]["target"] == "memory" for i in auto["approved"])  # a pilot measures playbook text only
    assert set(held) | set(auto["approved"]) | set(auto["held_for_review"]) == set(ops)
    lines = [line for line in r.stderr.splitlines() if "not auto-approved" in line]
    assert lines == [f"warning: not auto-approved: approval.require_lift holds {len(held)} entries until a pilot "
                     f"measures a lift whose interval reaches above 0 ({held[0]}: it has never been piloted); "
                     f"they stay pending: dreamcli --home {demo} "
                     f"pilot TASK.yaml --proposal {data['dream_id']}"]
    assert not (demo / "playbooks" / "default.md").exists()  # nothing live without a measured lift
    dream = json.loads((demo / "dreams" / data["dream_id"] / "dream.json").read_text())
    assert dream["status"] == ("partially_approved" if auto["approved"] else "pending")
    r = run("--home", str(demo), "playbooks", "diff", "--json")
    pending = [o["entry_id"] for d in json.loads(r.stdout)["dreams"] for o in d["operations"]]
    assert sorted(pending) == sorted(held)  # the held entries wait for review


def test_the_summary_counts_the_entries_waiting_for_a_pilot(demo: Path) -> None:
    r = run("--home", str(demo), "dream", "--auto-approve")
    assert r.exit_code == 0, r.output
    data = json.loads((demo / "state" / "dream" / "default" / "watermark.json").read_text())
    dream = json.loads((demo / "dreams" / data["dream_id"] / "proposal.json").read_text())
    playbook_ops = [o for o in dream["operations"] if o["target"] == "playbook"]
    memory_ops = [o for o in dream["operations"] if o["target"] == "memory"]
    summary = " ".join(line.strip() for line in r.stderr.splitlines())  # wrapped at the width
    assert (f"Auto-approved: {len(memory_ops)}; held for review (blocking lint or tainted evidence): 0; "
            f"waiting for a pilot: {len(playbook_ops)}.") in summary


def test_without_the_policy_everything_unblocked_is_approved(demo: Path) -> None:
    (demo / "config.yaml").write_text("dream:\n  auto_approve: true\n")
    r = run("--home", str(demo), "dream", "--auto-approve", "--json")
    assert r.exit_code == 0, r.output
    auto = json.loads(r.stdout)["auto_approved"]
    assert auto["held_for_lift"] == [] and auto["approved"] and "not auto-approved" not in r.stderr
    assert (demo / "playbooks" / "default.md").exists()


def test_the_message_counts_and_names_the_first() -> None:
    assert held_for_lift_message("D1", []) is None
    one = held_for_lift_message("D1", [{"entry_id": "pb-1", "reason": "why"}])
    assert one == ("not auto-approved: approval.require_lift holds 1 entry until a pilot measures a lift whose "
                   "interval reaches above 0 "
                   "(pb-1: why); it stays pending: dreamcli pilot TASK.yaml --proposal D1")
