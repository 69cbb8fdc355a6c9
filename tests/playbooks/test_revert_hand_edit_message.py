"""A revert that drops a hand edit says so in one true line: where the edited text was kept, not "its text
was not kept" followed by a note saying where it was kept (report s20 T§6)."""

from __future__ import annotations

import json

from dreamcli.playbooks.hand_edit import describe
from dreamcli.playbooks.store import playbook_path
from dreamcli.workspace.home import Workspace
from tests.support.playbooks import cli, write_playbook

ENTRIES = [("pb-aaaaaa01", "Tools", "Use pandoc for docx."), ("pb-aaaaaa02", "Corrections", "Cite by section.")]


def test_the_revert_warning_names_where_the_dropped_text_is_kept(ws: Workspace) -> None:
    write_playbook(ws, "legal", ENTRIES, version=3)
    live = playbook_path(ws, "legal")
    live.write_text(live.read_text().replace("Use pandoc for docx.", "Use pandoc for docx (by hand)."))
    r = cli(ws, "playbooks", "revert", "legal", "3", "--yes", "--json")
    assert r.exit_code == 0, r.output
    kept = json.loads(r.stdout)["hand_edit_kept"]
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    said = [ln for ln in lines if str(ws.root / kept) in ln]
    assert len(said) == 1 and said[0].startswith("warning: playbook legal was edited by hand since v3")
    assert "this revert drops that edit" in said[0]
    assert not any("not kept" in ln for ln in lines), r.stderr


def test_a_dropped_edit_is_never_said_to_be_lost_where_the_caller_names_no_copy() -> None:
    hand = {"from_version": 3, "added": [], "removed": [], "changed": ["pb-1"], "carried": False}
    assert describe("legal", hand, 4, "revert", "/w/state/hand-edits/legal-1.md").endswith(
        "this revert drops that edit: v4 does not have it; the hand-edited text it dropped is kept in "
        "/w/state/hand-edits/legal-1.md")
    assert "not kept" not in describe("legal", hand, 4, "revert")
