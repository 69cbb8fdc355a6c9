"""`playbooks approve DREAM --entry ID` with an id the dream does not propose is a one-line usage error
naming the ids it has. When there are too many to name, it says how many it left out and where to see
them all (it used to cut the list at 8 silently, so the other ids looked as if they did not exist)."""

from __future__ import annotations

import pytest

from dreamcli.workspace.home import Workspace
from tests.support.playbooks import cli, op, write_dream

DREAM = "01JD3Z0000000000000000DRMB"


@pytest.mark.parametrize("action", ["approve", "reject"])
def test_a_long_list_of_known_ids_says_how_many_it_leaves_out(ws: Workspace, action: str) -> None:
    ids = [f"pb-known{i:03d}" for i in range(13)]
    write_dream(ws, DREAM, "legal", [op(i, text=f"Lesson number {i}.") for i in ids])
    reason = ["--reason", "not these"] if action == "reject" else []
    r = cli(ws, "playbooks", action, DREAM, "--entry", "pb-bogus", *reason, "--yes")
    assert r.exit_code == 2, r.output
    (line,) = r.stderr.splitlines()  # still one line
    assert line.startswith(f"error: dream {DREAM} proposes no entry pb-bogus (it has: ")
    shown = [i for i in ids if i in line]
    assert shown == ids[:8]
    assert line.endswith(f"… and 5 more; see: dreamcli --home {ws.root} playbooks diff {DREAM})"), line
    assert not ws.audit_path.exists()


def test_a_short_list_is_named_in_full(ws: Workspace) -> None:
    ids = [f"pb-known{i:03d}" for i in range(8)]
    write_dream(ws, DREAM, "legal", [op(i, text=f"Lesson number {i}.") for i in ids])
    r = cli(ws, "playbooks", "approve", DREAM, "--entry", "pb-bogus", "--yes")
    assert r.exit_code == 2, r.output
    assert r.stderr.strip() == (f"error: dream {DREAM} proposes no entry pb-bogus (it has: {', '.join(ids)})")
