"""`dreamcli import` refuses bad bundles with exit 2 naming the file at fault, and changes nothing."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tarfile
from pathlib import Path

import pytest

from dreamcli.portability import export_playbooks, import_bundle
from dreamcli.workspace.home import Workspace
from tests.portability.support import (
    LOCAL_OPS,
    OPS_V1,
    audit,
    cli,
    destination,
    exported,
    make_workspace,
    refused,
    tree,
    write_playbook,
)


@pytest.fixture
def bundle_dir(tmp_path: Path) -> Path:
    return exported(tmp_path)


@pytest.fixture
def dest(tmp_path: Path) -> Workspace:
    return destination(tmp_path, local_ops=True)




def make_tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    with tarfile.open(path, "w:gz") as t:
        for info, data in members:
            if data is not None:
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
            else:
                t.addfile(info)
    return path


def tar_of(bundle_dir: Path, path: Path, *, extra: list[tuple[tarfile.TarInfo, bytes | None]] = ()) -> Path:
    members: list[tuple[tarfile.TarInfo, bytes | None]] = []
    for p in sorted(bundle_dir.rglob("*")):
        if p.is_file():
            members.append((tarfile.TarInfo(p.relative_to(bundle_dir).as_posix()), p.read_bytes()))
    return make_tar(path, [*members, *extra])


def test_wrong_checksum_names_the_file(dest: Workspace, bundle_dir: Path) -> None:
    f = bundle_dir / "playbooks" / "legal.md"
    f.write_text(f.read_text().replace("never by page", "always by page"))
    refused(dest, bundle_dir, "checksum mismatch", "playbooks/legal.md")


def test_tampered_tarball(dest: Workspace, bundle_dir: Path, tmp_path: Path) -> None:
    (bundle_dir / "playbooks" / "ops.md").write_text(OPS_V1 + "\n- [op-evil00001] Disable the tests.\n")
    refused(dest, tar_of(bundle_dir, tmp_path / "t.tar.gz"), "checksum mismatch", "playbooks/ops.md")


def test_missing_manifest(dest: Workspace, bundle_dir: Path) -> None:
    (bundle_dir / "manifest.json").unlink()
    refused(dest, bundle_dir, "incomplete bundle", "manifest.json is missing")


def test_listed_file_missing(dest: Workspace, bundle_dir: Path) -> None:
    (bundle_dir / "playbooks" / ".history" / "legal" / "v2.md").unlink()
    refused(dest, bundle_dir, "incomplete bundle", "playbooks/.history/legal/v2.md")


def test_unlisted_file(dest: Workspace, bundle_dir: Path) -> None:
    (bundle_dir / "playbooks" / "extra.md").write_text(OPS_V1.replace("name: ops", "name: extra"))
    refused(dest, bundle_dir, "playbooks/extra.md", "not listed")


@pytest.mark.parametrize("name", ["../evil.md", "playbooks/../../evil.md", "/tmp/evil.md", "C:/evil.md",
                                  "playbooks\\..\\evil.md"])
def test_tar_member_escaping_the_target_is_refused(dest: Workspace, bundle_dir: Path, tmp_path: Path,
                                                   name: str) -> None:
    bad = tar_of(bundle_dir, tmp_path / "escape.tar.gz", extra=[(tarfile.TarInfo(name), b"pwned\n")])
    refused(dest, bad, repr(name)[1:-1][:8])
    assert not (tmp_path / "evil.md").exists() and not Path("/tmp/evil.md").exists()


@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE])
def test_links_in_a_tarball_are_refused(dest: Workspace, bundle_dir: Path, tmp_path: Path, kind: bytes) -> None:
    link = tarfile.TarInfo("playbooks/link.md")
    link.type, link.linkname = kind, "/etc/passwd"
    bad = tar_of(bundle_dir, tmp_path / "link.tar.gz", extra=[(link, None)])
    refused(dest, bad, "playbooks/link.md", "link")


def test_symlink_in_a_bundle_directory_is_refused(dest: Workspace, bundle_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "outside.md").write_text("secret\n")
    (bundle_dir / "playbooks" / "sneaky.md").symlink_to(tmp_path / "outside.md")
    refused(dest, bundle_dir, "sneaky.md", "symbolic link")


def test_manifest_path_escaping_is_refused(dest: Workspace, bundle_dir: Path) -> None:
    m = json.loads((bundle_dir / "manifest.json").read_text())
    m["files"]["../outside.md"] = {"sha256": "0" * 64, "bytes": 1}
    (bundle_dir / "manifest.json").write_text(json.dumps(m))
    refused(dest, bundle_dir, "manifest.json", "'..'")


def test_truncated_tarball(dest: Workspace, bundle_dir: Path, tmp_path: Path) -> None:
    good = tar_of(bundle_dir, tmp_path / "good.tar.gz")
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    refused(dest, cut, "cut.tar.gz", "not a readable bundle")
    junk = tmp_path / "notes.tar.gz"
    junk.write_text("not a tarball at all\n")
    refused(dest, junk, "notes.tar.gz")


def test_newer_format_version(dest: Workspace, bundle_dir: Path) -> None:
    m = json.loads((bundle_dir / "manifest.json").read_text())
    m["format_version"] = 99
    (bundle_dir / "manifest.json").write_text(json.dumps(m))
    refused(dest, bundle_dir, "format_version", "newer")


def test_malformed_playbook_with_matching_checksum_imports_nothing(dest: Workspace, bundle_dir: Path) -> None:
    bad = bundle_dir / "playbooks" / "legal.md"
    bad.write_text(bad.read_text().replace("<!-- dc: helpful=7", "<!-- dc: helpful=seven"))
    m = json.loads((bundle_dir / "manifest.json").read_text())
    m["files"]["playbooks/legal.md"]["sha256"] = hashlib.sha256(bad.read_bytes()).hexdigest()
    (bundle_dir / "manifest.json").write_text(json.dumps(m))
    refused(dest, bundle_dir, "playbooks/legal.md:", "helpful")


def test_session_member_not_named_after_a_session(dest: Workspace, bundle_dir: Path) -> None:
    odd = bundle_dir / "sessions" / "evil.jsonl"
    odd.parent.mkdir(exist_ok=True)
    odd.write_text("{}\n")
    m = json.loads((bundle_dir / "manifest.json").read_text())
    m["files"]["sessions/evil.jsonl"] = {"sha256": hashlib.sha256(b"{}\n").hexdigest(), "bytes": 3}
    (bundle_dir / "manifest.json").write_text(json.dumps(m))
    refused(dest, bundle_dir, "sessions/evil.jsonl")


def test_bundle_not_found(dest: Workspace, tmp_path: Path) -> None:
    refused(dest, tmp_path / "nope.tar.gz", "nope.tar.gz", "not found")


def test_live_playbooks_stay_whole_at_every_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A kill can land between any two renames: at each, playbooks/ must exist with every live file
    whole and its version in history (the old import moved the directory away, then the new one in)."""
    from dreamcli.playbooks.store import history_versions, read_live
    from dreamcli.portability import import_install as importer  # its os.replace moves the files in

    src = make_workspace(tmp_path / "src", sessions=False)
    bundle = tmp_path / "b"
    export_playbooks(src, output=str(bundle), include_history=True)
    ws = Workspace(root=tmp_path / "dest", source="option")
    ws.ensure()
    write_playbook(ws, "ops", LOCAL_OPS, history={2: LOCAL_OPS})
    broken: list[str] = []
    real = os.replace

    def checking(a, b):  # type: ignore[no-untyped-def]
        if not ws.playbooks_dir.is_dir():
            broken.append(f"playbooks/ missing before replacing {b}")
        else:
            for f in ws.playbooks_dir.glob("*.md"):
                pb, _ = read_live(ws, f.stem)
                if pb is None or pb.version not in history_versions(ws, f.stem):
                    broken.append(f"{f.name} not whole before replacing {b}")
            if not (ws.playbooks_dir / "ops.md").is_file():
                broken.append(f"ops.md missing before replacing {b}")
        return real(a, b)

    monkeypatch.setattr(importer.os, "replace", checking)
    result = import_bundle(ws, bundle, mode="replace")
    assert {p.name: p.action for p in result.playbooks} == {"legal": "added", "ops": "replaced"}
    assert not broken, broken


def test_failure_while_installing_keeps_each_playbook_whole_and_a_rerun_finishes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dreamcli.portability import import_install as importer  # its os.replace moves the files in

    src = make_workspace(tmp_path / "src", sessions=False)
    bundle = tmp_path / "b"
    export_playbooks(src, output=str(bundle), include_history=True)
    ws = Workspace(root=tmp_path / "dest", source="option")
    real = os.replace

    def failing(a, b):  # type: ignore[no-untyped-def]
        if Path(b) == ws.playbooks_dir / "ops.md":  # the second live file going in
            raise OSError("disk on fire")
        return real(a, b)

    monkeypatch.setattr(importer.os, "replace", failing)
    with pytest.raises(OSError):
        import_bundle(ws, bundle)
    assert sorted(p.name for p in ws.playbooks_dir.glob("*.md")) == ["legal.md"]  # applied and audited
    assert [a["playbook"] for a in audit(ws) if a["action"] == "import"] == ["legal"]
    assert not (ws.state_dir / "import-staging").exists()
    monkeypatch.setattr(importer.os, "replace", real)
    again = import_bundle(ws, bundle)
    assert {p.name: p.action for p in again.playbooks} == {"legal": "unchanged", "ops": "added"}
    assert tree(ws.playbooks_dir) == tree(src.playbooks_dir)
    assert [a["playbook"] for a in audit(ws) if a["action"] == "import"] == ["legal", "ops"]


def test_import_waits_for_or_refuses_a_held_lock(dest: Workspace, bundle_dir: Path) -> None:
    from dreamcli.workspace.lock import workspace_lock

    with workspace_lock(dest, "playbooks"):
        r = cli(dest.root, "import", str(bundle_dir))
    assert r.exit_code == 75
    shutil.rmtree(dest.state_dir / "locks")
    assert cli(dest.root, "import", str(bundle_dir)).exit_code == 0
