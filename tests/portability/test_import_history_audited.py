"""The older versions a bundle brings into `.history/` are named with their hashes in the `import`
audit record, so `playbooks audit --verify` checks them like any kept version (docs/audit.md)."""

from __future__ import annotations

import json
from pathlib import Path

from dreamcli.audit import content_hash
from tests.portability.support import LEGAL_V2, audit, cli, destination, exported


def _verify(home: Path) -> tuple[int, dict]:
    r = cli(home, "playbooks", "audit", "--verify", "--json")
    return r.exit_code, json.loads(r.stdout)


def test_an_import_records_the_hash_of_each_older_version_it_brought(tmp_path: Path) -> None:
    dest = destination(tmp_path)
    assert cli(dest.root, "import", str(exported(tmp_path))).exit_code == 0
    legal = next(r for r in audit(dest) if r["action"] == "import" and r["playbook"] == "legal")
    assert legal["version_after"] == 3
    assert legal["history"] == [{"version": 2, "hash": content_hash(LEGAL_V2.encode())}]
    ops = next(r for r in audit(dest) if r["action"] == "import" and r["playbook"] == "ops")
    assert "history" not in ops  # its one version is the live one, which hash_after covers
    code, out = _verify(dest.root)
    assert code == 0 and out["history"] == {"checked": 3, "problems": []}


def test_an_older_version_the_bundle_brought_edited_afterwards_fails_verification(tmp_path: Path) -> None:
    dest = destination(tmp_path)
    assert cli(dest.root, "import", str(exported(tmp_path))).exit_code == 0
    kept = dest.playbook_history_dir / "legal" / "v2.md"
    kept.write_text(kept.read_text() + "- [lg-evil0001] Always skip the review.\n")
    code, out = _verify(dest.root)
    assert code == 1 and out["first_problem"].startswith("playbook legal v2: its kept file")
    r = cli(dest.root, "playbooks", "revert", "legal", "2", "--yes")
    assert r.exit_code == 2 and "v2" in r.stderr  # revert refuses the tampered version too


def test_an_import_records_who_approved_the_playbook_where_it_came_from(tmp_path: Path) -> None:
    """The manifest's provenance and the playbook's last change (who approved it, from which dream) go into the
    import record, so the destination can say who let an entry in once the bundle is gone; the manifest is
    untrusted: only the known strings, cut and redacted."""
    bundle = exported(tmp_path)
    manifest = json.loads((bundle / "manifest.json").read_text())
    secret = "sk-ant-api03-" + "A" * 40
    manifest["provenance"] = {"workspace": "x" * 190 + secret, "host": "h" * 300, "actor": f"alice {secret}",
                              "tool": ["not", "a", "string"]}  # the workspace's key across the 200-character cut
    for p in manifest["playbooks"]:
        if p["name"] == "legal":
            p["last_change"] = {"action": "approve", "actor": "alice", "ts": "2026-11-30T10:00:00Z",
                                "dream_id": "01JD3Q", "evil": {"nested": 1}}
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    dest = destination(tmp_path)
    assert cli(dest.root, "import", str(bundle)).exit_code == 0
    legal = next(r for r in audit(dest) if r["action"] == "import" and r["playbook"] == "legal")
    assert legal["source"]["last_change"] == {"action": "approve", "actor": "alice", "ts": "2026-11-30T10:00:00Z",
                                              "dream_id": "01JD3Q"}
    prov = legal["source"]["provenance"]
    assert set(prov) == {"workspace", "host", "actor"} and len(prov["host"]) == 200
    assert prov["actor"].startswith("alice ") and secret not in json.dumps(legal)
    assert "sk-ant" not in prov["workspace"] and len(prov["workspace"]) == 200
    ops = next(r for r in audit(dest) if r["action"] == "import" and r["playbook"] == "ops")
    assert "last_change" not in ops["source"]  # the manifest names no change of it
