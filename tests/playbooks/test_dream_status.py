"""A dream's status as the decisions make it (docs/proposal-format.md): `partially_approved` only once
an entry is approved; rejecting entries while others are left to decide keeps it `pending`."""

from __future__ import annotations

import json

import pytest

from dreamcli.playbooks.proposals import load_dream
from dreamcli.workspace.home import Workspace
from tests.support.playbooks import cli, dream_status, op, write_dream, write_playbook

DREAM = "01JD3Z0000000000000000STA1"


@pytest.fixture
def three(ws: Workspace) -> None:
    write_playbook(ws, "legal", [("pb-aaaaaa01", "Tools", "Use pandoc for docx.")], version=1)
    write_dream(ws, DREAM, "legal", [op("pb-new00001", text="Quote notice periods exactly."),
                                     op("pb-new00002", text="Cite clauses by section number."),
                                     op("pb-new00003", text="Prefer short sentences.")])


def _reject(ws: Workspace, entry: str) -> str:
    r = cli(ws, "playbooks", "reject", DREAM, "--entry", entry, "--reason", "off scope", "--yes")
    assert r.exit_code == 0, r.output
    return r.stderr + r.stdout


def _diff_status(ws: Workspace) -> str:
    r = cli(ws, "playbooks", "diff", DREAM, "--json")
    assert r.exit_code == 0, r.output
    (dream,) = json.loads(r.stdout)["dreams"]
    return dream["status"]


def test_a_rejection_alone_leaves_the_dream_pending(ws, three) -> None:
    out = _reject(ws, "pb-new00001")
    assert f"dream {DREAM} is pending" in out and "partially" not in out
    assert dream_status(ws, DREAM) == "pending" == _diff_status(ws)
    r = cli(ws, "playbooks", "list", "--json")
    (row,) = json.loads(r.stdout)["playbooks"]
    assert row["pending_dreams"] == [DREAM] and row["pending_entries"] == 2


def test_an_approval_makes_it_partially_approved_until_every_entry_is_decided(ws, three) -> None:
    _reject(ws, "pb-new00001")
    r = cli(ws, "playbooks", "approve", DREAM, "--entry", "pb-new00002", "--yes")
    assert r.exit_code == 0, r.output
    assert dream_status(ws, DREAM) == "partially_approved" == _diff_status(ws)
    _reject(ws, "pb-new00003")
    assert dream_status(ws, DREAM) == "partially_approved"  # one approved, two rejected


def test_every_entry_rejected_is_rejected(ws, three) -> None:
    for entry in ("pb-new00001", "pb-new00002", "pb-new00003"):
        _reject(ws, entry)
    assert dream_status(ws, DREAM) == "rejected"


def test_a_stale_status_from_a_rejection_alone_reads_as_pending(ws, three) -> None:
    """dream.json written by an older dreamcli after one rejection says partially_approved."""
    _reject(ws, "pb-new00001")
    path = ws.dreams_dir / DREAM / "dream.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "status": "partially_approved"}))
    assert load_dream(ws, DREAM).status == "pending" == _diff_status(ws)
