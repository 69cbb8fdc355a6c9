"""`playbooks revert NAME VERSION` for a playbook that does not exist is a usage error and writes nothing
(it used to create NAME at v1 and an audit record when VERSION was 0)."""

from __future__ import annotations

import pytest

from dreamcli.playbooks import load_playbook
from dreamcli.workspace.home import Workspace
from tests.support.playbooks import cli, op, write_dream

DREAM = "01JD3Z0000000000000000DRMA"


@pytest.mark.parametrize("version", ["0", "3"])
def test_reverting_a_missing_playbook_is_refused_and_writes_nothing(ws: Workspace, version: str) -> None:
    r = cli(ws, "playbooks", "revert", "nope", version, "--yes")
    assert r.exit_code == 2, r.output
    assert r.stderr.strip() == f"error: no playbook 'nope' (see: dreamcli --home {ws.root} playbooks list)"
    assert not (ws.playbooks_dir / "nope.md").exists()
    assert not (ws.playbook_history_dir / "nope").exists()
    assert not ws.audit_path.exists() or "nope" not in ws.audit_path.read_text()


def test_a_real_playbook_still_reverts_to_zero(ws: Workspace) -> None:
    write_dream(ws, DREAM, "real", [op("pb-new0000a", text="Convert .docx with pandoc first.", section="Tools")])
    assert cli(ws, "playbooks", "approve", DREAM, "--entry", "pb-new0000a", "--yes").exit_code == 0
    r = cli(ws, "playbooks", "revert", "real", "0", "--yes")
    assert r.exit_code == 0, r.output
    assert load_playbook(ws, "real").entries() == []
    r = cli(ws, "playbooks", "revert", "real", "0", "--yes")  # a second time: already there, still not an error
    assert r.exit_code == 0 and "nothing to do" in r.stderr
