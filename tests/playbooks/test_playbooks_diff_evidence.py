"""Evidence lines in `playbooks diff`: a line number when the evidence has one, none otherwise
(grade-based evidence points at a session, not a line)."""

from __future__ import annotations

from pathlib import Path

from tests.support.playbooks import cli, op, workspace, write_dream


def test_evidence_without_a_line_number_is_shown_cleanly(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    evidence = [{"session_id": "01KAHV3Q8J1T0B8Z6W2XK4M5R7", "seq": None, "excerpt": "cites-sections: by page"},
                {"session_id": "01KAHV3Q8J1T0B8Z6W2XK4M5R8", "seq": 7, "excerpt": "read: binary file"}]
    write_dream(ws, "01DREAMEVIDENCE00000000000", "default", [op("pb-evid0001", evidence=evidence)])
    r = cli(ws, "playbooks", "diff", "01DREAMEVIDENCE00000000000")
    assert r.exit_code == 0, r.output
    assert "01KAHV3Q8J1T0B8Z6W2XK4M5R7: cites-sections: by page" in r.stdout
    assert "01KAHV3Q8J1T0B8Z6W2XK4M5R8#7: read: binary file" in r.stdout
    assert "#None" not in r.stdout


def test_decided_entries_read_naturally(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    write_dream(ws, "01DREAMPASTTENSE0000000000", "default", [op("pb-past0001")])
    assert cli(ws, "playbooks", "reject", "01DREAMPASTTENSE0000000000", "--all", "--yes",
               "--reason", "not general").exit_code == 0
    r = cli(ws, "playbooks", "diff", "01DREAMPASTTENSE0000000000")
    assert "rejected" in r.stdout and "rejectd" not in r.stdout
    r = cli(ws, "playbooks", "edit", "01DREAMPASTTENSE0000000000", "pb-past0001", "--text", "x")
    assert r.exit_code == 2 and "already rejected" in r.stderr
