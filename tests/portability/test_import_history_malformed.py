"""A malformed item in an `import` record's `history` (a hash that is not a string, no version, not an
object) is one rule for `playbooks audit --verify` and `playbooks revert` (audit_verify.versions_made):
verify fails naming the audit line, and revert refuses the versions the item may stand for."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dreamcli.audit import append_audit, content_hash
from dreamcli.workspace.home import Workspace
from tests.portability.support import audit, cli, destination, exported


def _imported_with(tmp_path: Any, history: Any) -> tuple[Workspace, int]:
    """`legal` imported (v3 live, v2 kept), then a chained import record with this `history`; it
    changes no live version, so only the item can fail verification. Returns the record's line."""
    dest = destination(tmp_path)
    assert cli(dest.root, "import", str(exported(tmp_path))).exit_code == 0
    live = content_hash((dest.playbooks_dir / "legal.md").read_bytes())
    append_audit(dest, "import", playbook="legal", version_before=3, version_after=3, hash_before=live,
                 hash_after=live, history=history)
    return dest, len(audit(dest))


@pytest.mark.parametrize(("history", "why", "version"), [
    ([{"version": 2, "hash": 12345}], "its history item 1 has no hash (a string)", 2),
    ([{"version": 2}], "its history item 1 has no hash (a string)", 2),
    ([{"version": "2", "hash": "sha256:00"}], "its history item 1 has no version number", None),
    (["v2"], "its history item 1 is not an object", None),
    ({"2": "sha256:00"}, "its history is not a list", None),
])
def test_verify_fails_naming_the_line_and_revert_refuses(tmp_path: Any, history: Any, why: str,
                                                         version: int | None) -> None:
    dest, line = _imported_with(tmp_path, history)
    r = cli(dest.root, "playbooks", "audit", "--verify", "--json")
    out = json.loads(r.stdout)
    assert r.exit_code == 1 and out["breaks"] == [] and all(p["ok"] for p in out["playbooks"])
    [problem] = out["history"]["problems"]
    assert (problem["playbook"], problem["version"], problem["line"]) == ("legal", version, line)
    assert f"audit line {line} is malformed: {why}" in out["first_problem"]
    before = (dest.playbooks_dir / "legal.md").read_bytes()
    r = cli(dest.root, "playbooks", "revert", "legal", "2", "--yes")
    assert r.exit_code == 2 and f"audit line {line}" in r.stderr and why in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert (dest.playbooks_dir / "legal.md").read_bytes() == before


def test_a_well_formed_item_verifies_and_reverts(tmp_path: Any) -> None:
    dest = destination(tmp_path)
    assert cli(dest.root, "import", str(exported(tmp_path))).exit_code == 0
    kept = content_hash((dest.playbook_history_dir / "legal" / "v2.md").read_bytes())
    live = content_hash((dest.playbooks_dir / "legal.md").read_bytes())
    append_audit(dest, "import", playbook="legal", version_before=3, version_after=3, hash_before=live,
                 hash_after=live, history=[{"version": 2, "hash": kept}])
    r = cli(dest.root, "playbooks", "audit", "--verify", "--json")
    assert r.exit_code == 0, r.stdout
    assert cli(dest.root, "playbooks", "revert", "legal", "2", "--yes").exit_code == 0
