"""Issue 20: a first approval can be undone (`revert NAME 0`), and the diff says so afterwards."""

from __future__ import annotations

import json

from dreamcli.playbooks import load_playbook
from dreamcli.workspace.home import Workspace
from tests.support.playbooks import cli, op, write_dream

DREAM = "01JD3Z0000000000000000DRM9"


def test_revert_to_zero_undoes_the_first_approval(ws: Workspace) -> None:
    write_dream(ws, DREAM, "fresh", [op("pb-new00009", text="Convert .docx with pandoc before reading.",
                                        section="Tools")])
    r = cli(ws, "playbooks", "approve", DREAM, "--entry", "pb-new00009", "--yes")
    assert r.exit_code == 0, r.output
    assert [e.id for e in load_playbook(ws, "fresh").entries()] == ["pb-new00009"]
    r = cli(ws, "playbooks", "revert", "fresh", "0", "--yes", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["changed"] and data["to_version"] == 0
    assert load_playbook(ws, "fresh").entries() == []
    r = cli(ws, "playbooks", "diff", DREAM, "--all-entries", "--json")
    (item,) = [i for d in json.loads(r.stdout)["dreams"] for i in d["operations"]]
    assert item["decision"] == "approve" and item["reverted"] is True
    r = cli(ws, "playbooks", "diff", DREAM)
    assert "approved, since reverted" in r.stdout


def test_revert_help_names_version_zero(ws: Workspace) -> None:
    r = cli(ws, "playbooks", "revert", "--help")
    text = " ".join(r.stdout.split())
    assert "revert legal 0 --yes undo the first approval" in text  # the epilog; argument help shows from typer 0.20
