"""`dreamcli import` of a bundle whose playbook version has more digits than a history file name holds
is refused before anything is written (it used to go live without its `.history/<name>/v<N>.md`, so
`playbooks audit --verify` failed right after the import); `install` never skips a staged version it
needs; a huge `format_version` is not echoed whole."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dreamcli.audit import content_hash
from dreamcli.errors import InputError
from dreamcli.playbooks.store import HISTORY_DIGITS
from dreamcli.portability.import_install import install as _install
from dreamcli.portability.import_outcome import PlaybookOutcome
from dreamcli.workspace.home import Workspace
from tests.portability.support import LEGAL_V3, cli, destination, exported, put, refused


@pytest.mark.parametrize("version", ["1234567890", "99999999999999999999999"])
def test_a_live_version_too_long_for_a_history_file_refuses_the_bundle(tmp_path: Path, version: str) -> None:
    bundle = exported(tmp_path)
    put(bundle, "playbooks/legal.md", LEGAL_V3.replace("version: 3\n", f"version: {version}\n").encode())
    err = refused(destination(tmp_path), bundle, "playbooks/legal.md:3: version: ",
                  f"at most {HISTORY_DIGITS} digits")
    assert version not in err


def test_a_history_version_too_long_refuses_the_bundle(tmp_path: Path) -> None:
    bundle = exported(tmp_path)
    rel = "playbooks/.history/legal/v2.md"
    put(bundle, rel, (bundle / rel).read_text().replace("version: 2\n", "version: 12345678901\n").encode())
    refused(destination(tmp_path), bundle, f"{rel}:3: version: ")


def test_the_largest_version_that_leaves_room_imports_with_its_history_and_verifies(tmp_path: Path) -> None:
    room = str(10**HISTORY_DIGITS - 2)  # the largest version a later change can still follow
    bundle = exported(tmp_path)
    put(bundle, "playbooks/legal.md", LEGAL_V3.replace("version: 3\n", f"version: {room}\n").encode())
    dest = destination(tmp_path)
    assert cli(dest.root, "import", str(bundle)).exit_code == 0
    assert (dest.playbook_history_dir / "legal" / f"v{room}.md").is_file()
    r = cli(dest.root, "playbooks", "audit", "--verify")
    assert r.exit_code == 0, r.output


def test_install_refuses_a_needed_version_it_cannot_name(tmp_path: Path) -> None:
    """Defence in depth: a staged version whose file name is not a history name stops the install
    before anything moves, instead of the live file going in without it."""
    ws = destination(tmp_path)
    stage = Workspace(root=tmp_path / "stage", source="option")
    text = LEGAL_V3.replace("version: 3\n", "version: 1234567890\n")
    (stage.playbook_history_dir / "legal").mkdir(parents=True)
    (stage.playbook_history_dir / "legal" / "v1234567890.md").write_text(text)
    (stage.playbooks_dir / "legal.md").write_text(text)
    outcome = PlaybookOutcome("legal", "added", None, 1234567890, hash_after=content_hash(text))
    installed: list[str] = []
    with pytest.raises(InputError, match=r"v1234567890\.md"):
        _install(ws, stage, [outcome], lambda p: installed.append(p.name), lambda p, h: None)
    assert installed == [] and not (ws.playbooks_dir / "legal.md").exists()
    assert not (ws.playbook_history_dir / "legal").exists()


def test_install_refuses_a_needed_version_that_was_not_staged(tmp_path: Path) -> None:
    ws = destination(tmp_path)
    stage = Workspace(root=tmp_path / "stage", source="option")
    stage.playbooks_dir.mkdir(parents=True)
    (stage.playbooks_dir / "legal.md").write_text(LEGAL_V3)
    outcome = PlaybookOutcome("legal", "added", None, 3, hash_after=content_hash(LEGAL_V3))
    with pytest.raises(InputError, match=r"v3\.md"):
        _install(ws, stage, [outcome], lambda p: None, lambda p, h: None)
    assert not (ws.playbooks_dir / "legal.md").exists()


def test_a_huge_format_version_is_not_echoed_whole(tmp_path: Path) -> None:
    bundle = exported(tmp_path)
    m = json.loads((bundle / "manifest.json").read_text())
    m["format_version"] = 10**400
    (bundle / "manifest.json").write_text(json.dumps(m))
    err = refused(destination(tmp_path), bundle, "format_version", "newer")
    assert "0" * 40 not in err and len(err) < 300
