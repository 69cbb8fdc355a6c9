"""`playbooks audit --verify` fails when a file the audit trail says dreamcli made is gone: a kept
version (`.history/<name>/v<N>.md`) an audit record made, or the live file of a playbook whose last
recorded change made a version. dreamcli has no command that deletes either, so a missing one was
deleted by hand (docs/audit.md). `playbooks history` lists such a version as missing."""

from __future__ import annotations

import json

import pytest

from dreamcli.audit import append_audit, content_hash
from dreamcli.audit_chain import head_path
from dreamcli.workspace.home import Workspace
from tests.support.playbooks import audit, cli, op, write_dream

DREAM = "01JD3Z0000AUDITMISSING00001"


def _verify(ws: Workspace) -> tuple[int, dict]:
    r = cli(ws, "playbooks", "audit", "--verify", "--json")
    return r.exit_code, json.loads(r.stdout)


@pytest.fixture
def three(ws: Workspace) -> Workspace:
    """Three approvals made v1, v2, v3 of `legal` (audit lines 1-3); then a reject (line 4)."""
    write_dream(ws, DREAM, "legal", [op("pb-aaaa0001"), op("pb-aaaa0002", text="Another lesson."),
                                     op("pb-aaaa0003", text="A third lesson."),
                                     op("pb-aaaa0004", text="A fourth lesson.")], base_version=0)
    for entry in ("pb-aaaa0001", "pb-aaaa0002", "pb-aaaa0003"):
        assert cli(ws, "playbooks", "approve", DREAM, "-e", entry, "--yes").exit_code == 0
    assert cli(ws, "playbooks", "reject", DREAM, "-e", "pb-aaaa0004", "--reason", "no", "--yes").exit_code == 0
    assert [r.get("version_after") for r in audit(ws)] == [1, 2, 3, None]
    assert _verify(ws)[0] == 0
    return ws


def test_a_deleted_kept_version_fails_naming_the_file_and_its_audit_line(three: Workspace) -> None:
    (three.playbook_history_dir / "legal" / "v2.md").unlink()
    code, out = _verify(three)
    assert code == 1 and not out["ok"]
    assert out["first_problem"] == "playbook legal v2: kept file .history/legal/v2.md made by audit line 2 is missing"
    assert out["history"]["checked"] == 3
    assert [(p["playbook"], p["version"], p["line"], p["hash"]) for p in out["history"]["problems"]] == \
        [("legal", 2, 2, None)]
    r = cli(three, "playbooks", "audit", "--verify")
    assert r.exit_code == 1
    assert "✗ kept version: kept file .history/legal/v2.md made by audit line 2 is missing" in r.stdout
    assert r.stdout.startswith("audit trail BROKEN:") and "kept versions: 2 of 3 as recorded" in r.stdout
    assert r.stderr.strip().splitlines() == ["error: audit trail does not verify: playbook legal v2: kept file "
                                             ".history/legal/v2.md made by audit line 2 is missing"]


def test_a_deleted_live_playbook_fails_naming_the_hash_its_last_record_made(three: Workspace) -> None:
    recorded = audit(three)[2]["hash_after"]
    (three.playbooks_dir / "legal.md").unlink()
    code, out = _verify(three)
    assert code == 1
    assert out["first_problem"] == f"playbook legal: audit line 3 recorded {recorded[:19]}… but the file is missing"
    assert out["playbooks"] == [{"playbook": "legal", "ok": False, "live_hash": None, "recorded_hash": recorded,
                                 "line": 3, "reason": f"audit line 3 recorded {recorded[:19]}… but the file is "
                                                      "missing"}]
    r = cli(three, "playbooks", "audit", "--verify")
    assert r.exit_code == 1 and "✗ playbook legal: audit line 3 recorded" in r.stdout


def test_a_live_playbook_replaced_by_a_directory_fails_without_a_traceback(three: Workspace) -> None:
    (three.playbooks_dir / "legal.md").unlink()
    (three.playbooks_dir / "legal.md").mkdir()
    code, out = _verify(three)
    assert code == 1 and out["first_problem"].startswith("playbook legal: audit line 3 recorded")
    assert "cannot be read" in out["first_problem"]


def test_a_deleted_older_version_an_import_brought_fails(ws: Workspace) -> None:
    v1, v2 = b"---\nname: ops\nversion: 1\n---\n", b"---\nname: ops\nversion: 2\n---\n"
    (ws.playbook_history_dir / "ops").mkdir(parents=True)
    (ws.playbook_history_dir / "ops" / "v2.md").write_bytes(v2)
    (ws.playbooks_dir / "ops.md").write_bytes(v2)
    append_audit(ws, "import", actor="ana", playbook="ops", version_before=None, version_after=2,
                 hash_before=None, hash_after=content_hash(v2), history=[{"version": 1, "hash": content_hash(v1)}])
    code, out = _verify(ws)
    assert code == 1
    assert out["first_problem"] == "playbook ops v1: kept file .history/ops/v1.md made by audit line 1 is missing"
    (ws.playbook_history_dir / "ops" / "v1.md").write_bytes(v1)
    assert _verify(ws)[0] == 0


def test_a_kept_version_made_by_a_record_from_before_the_chain_is_checked_too(three: Workspace) -> None:
    """A trail from before the hash chain (no links, no head) verifies while its files are all there."""
    lines = []
    for raw in three.audit_path.read_text().splitlines():
        rec = json.loads(raw)
        rec.pop("prev")
        lines.append(json.dumps(rec) + "\n")
    three.audit_path.write_text("".join(lines))
    head_path(three).unlink()
    code, out = _verify(three)
    assert code == 0 and out["legacy_lines"] == 4 and out["history"]["checked"] == 3
    (three.playbook_history_dir / "legal" / "v1.md").unlink()
    code, out = _verify(three)
    assert code == 1 and "kept file .history/legal/v1.md made by audit line 1 is missing" in out["first_problem"]


def test_records_that_made_no_version_require_no_file(ws: Workspace) -> None:
    """A reject names a playbook but vouches for nothing, nor does an older no-change record (its
    version_after equal to its version_before): no file is required for either."""
    append_audit(ws, "reject", actor="ana", playbook="gone", live_version=1, live_hash="sha256:" + "0" * 64)
    append_audit(ws, "reject", actor="old", playbook="gone", version_before=1, version_after=1,
                 hash_before="sha256:" + "1" * 64, hash_after="sha256:" + "1" * 64)
    code, out = _verify(ws)
    assert code == 0 and out["playbooks"] == [] and out["history"] == {"checked": 0, "problems": []}


def test_history_lists_a_recorded_version_whose_kept_file_is_missing(three: Workspace) -> None:
    (three.playbook_history_dir / "legal" / "v2.md").unlink()
    r = cli(three, "playbooks", "history", "legal", "--json")
    assert r.exit_code == 0
    rows = {v["version"]: v for v in json.loads(r.stdout)["versions"]}
    assert sorted(rows) == [1, 2, 3]
    assert rows[2]["missing"] is True and rows[2]["action"] == "approve" and rows[2]["live"] is False
    assert rows[2]["unreadable"] == "kept file .history/legal/v2.md made by audit line 2 is missing"
    assert rows[1]["missing"] is False and rows[3]["live"] is True
    text = cli(three, "playbooks", "history", "legal").stdout
    row = [line for line in text.splitlines() if line.strip().startswith("v2")]
    assert len(row) == 1 and "kept file missing" in row[0] and "approve" in row[0]
