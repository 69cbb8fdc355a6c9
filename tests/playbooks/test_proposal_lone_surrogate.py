"""A proposal.json whose JSON holds a lone surrogate (`"\\ud800"`) can be parsed but never written to a
playbook, a memory note or the audit trail: approve refuses it in one line naming the file and field
(exit 2, nothing written), and diff lists the dream as unreadable, as for any other bad field."""

from __future__ import annotations

import json

from dreamcli.workspace.home import Workspace
from tests.support.playbooks import audit, cli, op, write_dream

DREAM = "01JD3Z0000SURROGATE00000001"


def test_approve_refuses_a_memory_note_with_a_lone_surrogate_and_writes_nothing(ws: Workspace) -> None:
    write_dream(ws, DREAM, "default", [op("mem-0000001a", "create", target="memory", path="/memories/x.md",
                                          text="bad \ud800 note\n")], base_version=0)
    r = cli(ws, "playbooks", "approve", DREAM, "--all", "--yes")
    assert r.exit_code == 2, r.output
    assert r.stderr == (f"error: dreams/{DREAM}/proposal.json: operations.0.text: holds a lone surrogate "
                        "('\\ud800' at character 4), which is not UTF-8 text\n")
    assert not list(ws.memory_store("default").rglob("*.md")) and audit(ws) == []


def test_diff_lists_the_dream_as_unreadable(ws: Workspace) -> None:
    write_dream(ws, DREAM, "default", [op("pb-aaaa0001", text="cite the page \udcff number")], base_version=0)
    r = cli(ws, "playbooks", "diff", "--json")
    assert r.exit_code == 0, r.output
    (bad,) = json.loads(r.stdout)["unreadable"]
    assert bad["dream_id"] == DREAM and "operations.0.text: holds a lone surrogate" in bad["problem"]
