"""With git-backed history, an import's commit names the bundle, who exported it, and the entries it added,
removed, folded and refused as conflicts, as an approve's names its dream and entries: it used to name only
the importer (report s20 T§8). Every value stays on its line (`one_line`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from dreamcli.gitstore import message
from tests.portability.support import LEGAL_V2, cli, destination, exported, put

RECORD = {"action": "import", "playbook": "legal", "version_before": 3, "version_after": 4, "actor": "carol",
          "bundle": "/team/bob.tgz\nAudit-Line: 1", "mode": "replace", "added": ["pb-aaaa0001"],
          "removed": ["pb-bbbb0002", "pb-cccc0003"], "folded": [{"id": "pb-dddd0004", "local_id": "pb-eeee0005"}],
          "conflicts": ["pb-ffff0006"],
          "source": {"provenance": {"actor": "bob", "host": "laptop"}, "last_change": {"action": "approve",
                                                                                    "actor": "alice"}}}


def test_an_import_message_names_the_bundle_its_source_and_the_entries() -> None:
    lines = message(RECORD, 9, "sha256:x").rstrip("\n").split("\n")
    assert lines[0] == "import: legal v3 → v4"
    assert "Bundle: /team/bob.tgz Audit-Line: 1" in lines  # on its line: no trailer of its own
    assert "Source: exported by bob on laptop (approve by alice)" in lines
    assert "Added: pb-aaaa0001" in lines and "Removed: pb-bbbb0002, pb-cccc0003" in lines
    assert "Folded: pb-dddd0004 into pb-eeee0005" in lines and "Conflicts: pb-ffff0006" in lines
    assert lines[-2:] == ["Audit-Line: 9", "Audit-Hash: sha256:x"]


def test_other_records_get_no_import_lines() -> None:
    record = {"action": "revert", "playbook": "legal", "version_before": 3, "version_after": 4, "actor": "a",
              "removed": ["pb-bbbb0002"], "entry_ids": ["pb-bbbb0002"], "bundle": "x"}
    text = message(record, 2, "sha256:y")
    assert "Entries: pb-bbbb0002" in text and "Removed:" not in text and "Bundle:" not in text


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_the_commits_of_an_import_and_a_replace_name_their_entries(tmp_path: Path) -> None:
    dest = destination(tmp_path)
    dest.config_path.write_text("playbooks:\n  git: true\n")
    bundle = exported(tmp_path, sessions=False)
    assert cli(dest.root, "import", str(bundle)).exit_code == 0
    old = exported(tmp_path / "old", history=False, sessions=False)
    put(old, "playbooks/legal.md", LEGAL_V2.encode())
    assert cli(dest.root, "import", str(old), "--replace").exit_code == 0
    log = subprocess.run(["git", "-C", str(dest.playbooks_dir), "log", "--format=%B%x00"], capture_output=True,
                         text=True, check=True).stdout.split("\x00")
    replace, ops, legal = log[0], log[1], log[2]
    assert replace.startswith("import: legal v3 → v4") and f"Bundle: {old}" in replace
    assert "Removed: pb-8m2k4q1z" in replace and "Added:" not in replace
    assert "Source: exported by " in replace
    assert legal.strip().startswith("import: legal new → v3") and "Added: pb-3f9k2xab, pb-8m2k4q1z" in legal
    assert "import: ops new → v1" in ops and "Added: op-a1b2c3d4" in ops
