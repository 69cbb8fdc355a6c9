"""Bundle members and workspace states `dreamcli import` refuses with one line (exit 2), writing nothing:
session ids that are no valid ULID, hard links in a bundle directory, a `format_version` that is a
bool, a malformed live playbook (named where it is), a history path that is a file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dreamcli.workspace.home import Workspace
from tests.portability.support import LOCAL_OPS, S1, destination, exported, put, refused


@pytest.fixture
def bundle_dir(tmp_path: Path) -> Path:
    return exported(tmp_path)


@pytest.fixture
def dest(tmp_path: Path) -> Workspace:
    return destination(tmp_path)


def rename_session(bundle: Path, old: str, new: str) -> str:
    """Give a bundled session another id (file name and every event), checksums fixed."""
    [src] = (bundle / "sessions").rglob(f"{old}.jsonl")
    data = src.read_bytes().replace(old.encode(), new.encode())
    rel = src.relative_to(bundle).as_posix()
    src.unlink()
    m = json.loads((bundle / "manifest.json").read_text())
    del m["files"][rel]
    (bundle / "manifest.json").write_text(json.dumps(m))
    new_rel = f"sessions/x/{new}.jsonl"
    put(bundle, new_rel, data)
    return new_rel


@pytest.mark.parametrize("sid", ["Z" * 26, "7" + "Z" * 25, "8" + "0" * 25])
def test_session_id_whose_ulid_time_is_out_of_range_is_refused(dest: Workspace, bundle_dir: Path, sid: str) -> None:
    rel = rename_session(bundle_dir, S1, sid)
    refused(dest, bundle_dir, rel, "ULID")


def test_hard_link_in_a_bundle_directory_is_refused(dest: Workspace, bundle_dir: Path, tmp_path: Path) -> None:
    member = bundle_dir / "playbooks" / "ops.md"
    os.link(member, tmp_path / "elsewhere.md")
    refused(dest, bundle_dir, "playbooks/ops.md", "hard link")


def test_format_version_true_is_refused(dest: Workspace, bundle_dir: Path) -> None:
    m = json.loads((bundle_dir / "manifest.json").read_text())
    m["format_version"] = True
    (bundle_dir / "manifest.json").write_text(json.dumps(m))
    refused(dest, bundle_dir, "format_version")


def test_malformed_live_playbook_is_named_where_it_is(dest: Workspace, bundle_dir: Path) -> None:
    dest.playbooks_dir.mkdir(parents=True, exist_ok=True)
    (dest.playbooks_dir / "ops.md").write_text("not a playbook\n")
    err = refused(dest, bundle_dir, str(dest.playbooks_dir / "ops.md") + ":1:")
    assert "import-staging" not in err


def test_history_path_that_is_a_file_is_a_one_line_error(dest: Workspace, bundle_dir: Path) -> None:
    dest.playbook_history_dir.mkdir(parents=True, exist_ok=True)
    (dest.playbook_history_dir / "legal").write_text("a file where a directory belongs\n")
    refused(dest, bundle_dir, str(dest.playbook_history_dir / "legal"), "not a directory")


def test_history_path_that_is_a_file_with_a_live_playbook(dest: Workspace, bundle_dir: Path) -> None:
    dest.playbook_history_dir.mkdir(parents=True, exist_ok=True)
    (dest.playbooks_dir / "ops.md").write_text(LOCAL_OPS)
    (dest.playbook_history_dir / "ops").write_text("a file where a directory belongs\n")
    refused(dest, bundle_dir, str(dest.playbook_history_dir / "ops"), "not a directory")


def test_unreadable_local_history_is_named_where_it_is(dest: Workspace, bundle_dir: Path) -> None:
    history = dest.playbook_history_dir / "ops"
    history.mkdir(parents=True)
    (history / "v2.md").write_bytes(b"\xff\xfe not UTF-8\n")
    (dest.playbooks_dir / "ops.md").write_text(LOCAL_OPS.replace("op-a1b2c3d4", "op-zzzzzzzz"))  # merge adds one
    err = refused(dest, bundle_dir, str(history / "v2.md"), "not UTF-8")
    assert "import-staging" not in err
