"""Bundles: export (directory and .tar.gz), import into an empty workspace (byte-identical), merge and
replace into an existing one, history, sessions, audit."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from dreamcli.playbooks import load_playbook
from dreamcli.playbooks.history import history as playbook_history
from dreamcli.portability import export_playbooks, import_bundle
from dreamcli.sessions.paths import session_path
from dreamcli.workspace.home import Workspace
from tests.portability.support import (
    LEGAL_V3,
    OPS_V1,
    S1,
    S2,
    S_MISSING,
    audit,
    cli,
    make_workspace,
    tree,
    write_playbook,
)


@pytest.fixture
def src(tmp_path: Path) -> Workspace:
    return make_workspace(tmp_path / "src")


@pytest.mark.parametrize("name", ["bundle.tar.gz", "bundle-dir"])
def test_export_then_import_into_empty_workspace_is_byte_identical(src: Workspace, tmp_path: Path,
                                                                   name: str) -> None:
    out = tmp_path / name
    r = cli(src.root, "export", "-o", str(out), "--history")
    assert r.exit_code == 0, r.output
    dest = tmp_path / "dest"
    r = cli(dest, "import", str(out), "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert {p["name"]: p["action"] for p in data["playbooks"]} == {"legal": "added", "ops": "added"}
    assert tree(dest / "playbooks") == tree(src.playbooks_dir)  # live files and every history version
    assert (dest / "playbooks" / "legal.md").read_text() == LEGAL_V3


def test_tarball_is_reproducible_and_holds_only_private_regular_files(src: Workspace, tmp_path: Path) -> None:
    a, b = tmp_path / "a.tar.gz", tmp_path / "b.tar.gz"
    export_playbooks(src, output=str(a))
    export_playbooks(src, output=str(b))
    with tarfile.open(a) as t:
        members = t.getmembers()
        manifest = json.loads(t.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert {m.name for m in members if m.isfile()} == {"manifest.json", "playbooks/legal.md", "playbooks/ops.md"}
    assert all(m.mode == 0o600 for m in members if m.isfile()) and all(m.uid == 0 and m.mtime == 0 for m in members)
    # same content, same bytes, except the manifest's creation time
    with tarfile.open(b) as t:
        assert t.extractfile("playbooks/legal.md").read() == LEGAL_V3.encode()  # type: ignore[union-attr]
    assert oct(a.stat().st_mode & 0o777) == "0o600"
    assert manifest["format"] == "dreamcli-bundle" and manifest["format_version"] == 1
    assert manifest["dreamcli_version"] and manifest["provenance"]["workspace"] == str(src.root)
    assert {p["name"]: p["version"] for p in manifest["playbooks"]} == {"legal": 3, "ops": 1}
    import hashlib

    assert manifest["files"]["playbooks/legal.md"]["sha256"] == hashlib.sha256(LEGAL_V3.encode()).hexdigest()


def test_bundle_to_stdout_and_selected_playbooks(src: Workspace, tmp_path: Path) -> None:
    r = cli(src.root, "export", "--playbook", "ops", "-o", "-")
    assert r.exit_code == 0
    out = tmp_path / "piped.tar.gz"
    out.write_bytes(r.stdout_bytes)
    with tarfile.open(out) as t:
        assert {m.name for m in t.getmembers() if m.isfile()} == {"manifest.json", "playbooks/ops.md"}
    dest = Workspace(root=tmp_path / "d", source="option")
    import_bundle(dest, out)
    assert (dest.playbooks_dir / "ops.md").read_text() == OPS_V1 and not (dest.playbooks_dir / "legal.md").exists()


def test_include_sessions_adds_redacted_source_sessions(src: Workspace, tmp_path: Path) -> None:
    src.config_path.write_text("redaction:\n  patterns: ['hunter2-\\w+']\n")
    r = cli(src.root, "export", "-o", str(tmp_path / "b"), "--include-sessions", "--json")
    data = json.loads(r.stdout)
    assert data["sessions"] == 2 and data["missing_sessions"] == [S_MISSING]
    files = tree(tmp_path / "b")
    s1 = files[session_path(src, S1).relative_to(src.root).as_posix()].decode()
    assert "hunter2-internal" not in s1 and "[REDACTED:custom]" in s1
    manifest = json.loads(files["manifest.json"])
    assert manifest["sessions"] == [S1, S2] and manifest["missing_sessions"] == [S_MISSING]
    dest = Workspace(root=tmp_path / "dest", source="option")
    result = import_bundle(dest, tmp_path / "b")
    assert result.sessions_added == 2 and session_path(dest, S1).exists()
    assert import_bundle(dest, tmp_path / "b").sessions_present == 2


def test_merge_adds_new_entries_keeps_local_text_and_combines_metadata(src: Workspace, tmp_path: Path) -> None:
    bundle = tmp_path / "b.tar.gz"
    export_playbooks(src, output=str(bundle))
    dest = Workspace(root=tmp_path / "dest", source="option")
    dest.ensure()
    local = LEGAL_V3.split("## Corrections")[0].replace("helpful=7", "helpful=9").replace(
        "convert it first", "convert it FIRST")
    local += "## Local\n\n- [pb-localonly1] Keep me.\n  <!-- dc: helpful=1 harmful=0 -->\n"
    write_playbook(dest, "legal", local, history={3: local})
    r = cli(dest.root, "import", str(bundle), "--json")
    assert r.exit_code == 0, r.output
    out = {p["name"]: p for p in json.loads(r.stdout)["playbooks"]}
    legal = out["legal"]
    assert legal["action"] == "merged" and (legal["version_before"], legal["version_after"]) == (3, 4)
    assert legal["added"] == ["pb-8m2k4q1z"] and [c["id"] for c in legal["conflicts"]] == ["pb-3f9k2xab"]
    pb = load_playbook(dest, "legal")
    assert pb is not None and pb.version == 4
    kept = pb.find("pb-3f9k2xab")
    assert kept is not None and "convert it FIRST" in kept.text and kept.helpful == 9
    assert pb.find("pb-localonly1") is not None and pb.find("pb-8m2k4q1z") is not None
    assert (dest.playbook_history_dir / "legal" / "v3.md").read_text() == local  # old version kept
    assert out["ops"]["action"] == "added"
    records = [a for a in audit(dest) if a["action"] == "import"]
    assert {(a["playbook"], a["result"]) for a in records} == {("legal", "merged"), ("ops", "added")}
    assert all(a["bundle"] == str(bundle) and a["hash_after"].startswith("sha256:") for a in records)
    versions = playbook_history(dest, "legal")
    assert versions[-1].version == 4 and versions[-1].action == "import"


def test_reimporting_the_same_bundle_changes_nothing(src: Workspace, tmp_path: Path) -> None:
    bundle = tmp_path / "b"
    export_playbooks(src, output=str(bundle))
    dest = Workspace(root=tmp_path / "dest", source="option")
    import_bundle(dest, bundle)
    before, n_audit = tree(dest.playbooks_dir), len(audit(dest))
    again = import_bundle(dest, bundle)
    assert [p.action for p in again.playbooks] == ["unchanged", "unchanged"]
    assert tree(dest.playbooks_dir) == before and len(audit(dest)) == n_audit


def test_replace_makes_the_bundle_version_live_as_a_new_version(src: Workspace, tmp_path: Path) -> None:
    bundle = tmp_path / "b.tar.gz"
    export_playbooks(src, output=str(bundle), names=["ops"])
    dest = Workspace(root=tmp_path / "dest", source="option")
    dest.ensure()
    local = OPS_V1.replace("version: 1", "version: 5").replace("make lock", "make relock")
    write_playbook(dest, "ops", local, history={5: local})
    write_playbook(dest, "untouched", OPS_V1.replace("name: ops", "name: untouched"))
    r = cli(dest.root, "import", str(bundle), "--replace")
    assert r.exit_code == 0, r.output
    pb = load_playbook(dest, "ops")
    assert pb is not None and pb.version == 6
    entry = pb.find("op-a1b2c3d4")
    assert entry is not None and "make lock" in entry.text
    assert (dest.playbook_history_dir / "ops" / "v5.md").read_text() == local
    assert (dest.playbooks_dir / "untouched.md").exists()
    assert "replaced" in r.stdout


def test_export_records_audit_and_refuses_to_overwrite(src: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "CLAUDE.md"
    assert cli(src.root, "export", "-f", "claude-md", "-o", str(out)).exit_code == 0
    r = cli(src.root, "export", "-f", "claude-md", "-o", str(out))
    assert r.exit_code == 2 and "exists" in r.stderr
    assert cli(src.root, "export", "-f", "claude-md", "-o", str(out), "--force").exit_code == 0
    records = [a for a in audit(src) if a["action"] == "export"]
    assert len(records) == 2 and records[0]["format"] == "claude-md"
    assert {p["name"] for p in records[0]["playbooks"]} == {"legal", "ops"}


def test_export_errors_are_exit_2(src: Workspace, tmp_path: Path) -> None:
    assert cli(src.root, "export", "--playbook", "nope").exit_code == 2
    assert cli(src.root, "export", "-f", "yaml").exit_code == 2
    assert cli(src.root, "export", "-f", "claude-md", "--include-sessions", "-o", "-").exit_code == 2
    assert cli(src.root, "export", "-f", "memory-dir", "-o", "-").exit_code == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    r = cli(empty, "export", "-o", str(tmp_path / "x.tar.gz"))
    assert r.exit_code == 2 and "no playbooks" in r.stderr
    r = cli(tmp_path / "missing-ws", "export")
    assert r.exit_code == 2 and "no workspace" in r.stderr
