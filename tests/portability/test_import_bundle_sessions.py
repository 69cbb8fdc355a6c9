"""Sessions inside an imported bundle are not trusted: they are checked (ids, first event), redacted
with the workspace's patterns, re-written line by line (corrupt lines skipped and counted) and
recorded in the audit trail."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from dreamcli.portability import import_bundle
from dreamcli.sessions.paths import session_path
from dreamcli.workspace.home import Workspace
from tests.portability.support import (
    S1,
    S2,
    audit,
    cli,
    destination,
    exported,
    refused,
    tree,
)

GITHUB_TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
PASSWORD = "Hunter2-Sup3r-S3cret"


@pytest.fixture
def bundle_dir(tmp_path: Path) -> Path:
    return exported(tmp_path, history=False)


@pytest.fixture
def dest(tmp_path: Path) -> Workspace:
    return destination(tmp_path)


def member(bundle: Path, session_id: str) -> str:
    """The bundle path of a session (its place in the workspace, relative)."""
    [rel] = [p.relative_to(bundle).as_posix() for p in (bundle / "sessions").rglob(f"{session_id}.jsonl")]
    return rel


def rewrite(bundle: Path, rel: str, data: bytes) -> None:
    """Replace a member and fix its checksum: a hand-made bundle that passes verification."""
    (bundle / rel).write_bytes(data)
    m = json.loads((bundle / "manifest.json").read_text())
    m["files"][rel] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    (bundle / "manifest.json").write_text(json.dumps(m))


def events(bundle: Path, rel: str) -> list[dict]:
    return [json.loads(line) for line in (bundle / rel).read_text().splitlines()]


def lines(evs: list[dict]) -> bytes:
    return b"".join(json.dumps(e).encode() + b"\n" for e in evs)


def test_bundled_session_is_redacted_rewritten_and_audited(dest: Workspace, bundle_dir: Path) -> None:
    rel = member(bundle_dir, S1)
    evs = events(bundle_dir, rel)
    evs[1]["content"][0]["text"] = f"login with password={PASSWORD} and token {GITHUB_TOKEN}"
    data = lines(evs[:1]) + b'{"v": 1, "type": "message", "session_id": \n' + lines(evs[1:])
    rewrite(bundle_dir, rel, data)
    r = cli(dest.root, "import", str(bundle_dir), "--json")
    assert r.exit_code == 0, r.output
    result = json.loads(r.stdout)
    assert result["sessions_added"] == 2 and result["session_lines_skipped"] == 1
    on_disk = session_path(dest, S1).read_text()
    assert PASSWORD not in on_disk and GITHUB_TOKEN not in on_disk and "[REDACTED:" in on_disk
    written = [json.loads(line) for line in on_disk.splitlines()]  # the corrupt line is gone
    assert [e["type"] for e in written] == [e["type"] for e in evs]
    assert session_path(dest, S1).stat().st_mode & 0o777 == 0o600
    [rec] = [a for a in audit(dest) if a.get("sessions_added")]
    assert rec["action"] == "import" and rec["sessions_added"] == 2 and rec["session_ids"] == [S1, S2]
    assert rec["session_ids_hash"].startswith("sha256:") and rec["lines_skipped"] == 1
    # Importing again adds nothing and records no second sessions audit.
    again = import_bundle(dest, bundle_dir)
    assert (again.sessions_added, again.sessions_present) == (0, 2)
    assert len([a for a in audit(dest) if a.get("sessions_added")]) == 1


def test_destination_redaction_patterns_apply(dest: Workspace, bundle_dir: Path) -> None:
    # The source had no custom pattern, so its export kept the code word; this workspace forbids it.
    assert b"hunter2-internal" in (bundle_dir / member(bundle_dir, S1)).read_bytes()
    dest.config_path.write_text("redaction:\n  patterns: ['hunter2-\\w+']\n")
    assert cli(dest.root, "import", str(bundle_dir)).exit_code == 0
    text = session_path(dest, S1).read_text()
    assert "hunter2-internal" not in text and "[REDACTED:custom]" in text


def test_session_id_different_from_the_file_name_is_refused(dest: Workspace, bundle_dir: Path) -> None:
    rel = member(bundle_dir, S1)
    evs = events(bundle_dir, rel)
    evs[2]["session_id"] = S2  # one event claims to belong to another session
    rewrite(bundle_dir, rel, lines(evs))
    refused(dest, bundle_dir, rel, "session_id")
    assert not [a for a in audit(dest) if a["action"] == "import"]


def test_session_not_starting_with_session_start_is_refused(dest: Workspace, bundle_dir: Path) -> None:
    rel = member(bundle_dir, S2)
    evs = events(bundle_dir, rel)
    rewrite(bundle_dir, rel, lines(evs[1:]))
    refused(dest, bundle_dir, rel, "session.start")


def test_session_with_a_corrupt_first_line_is_refused(dest: Workspace, bundle_dir: Path) -> None:
    rel = member(bundle_dir, S2)
    rewrite(bundle_dir, rel, b"not json\n" + (bundle_dir / rel).read_bytes())
    refused(dest, bundle_dir, rel, "session.start")


def test_refused_session_leaves_playbooks_untouched_too(dest: Workspace, bundle_dir: Path) -> None:
    before = tree(dest.root)
    rel = member(bundle_dir, S1)
    evs = events(bundle_dir, rel)
    evs[0]["session_id"] = S2
    rewrite(bundle_dir, rel, lines(evs))
    assert cli(dest.root, "import", str(bundle_dir)).exit_code == 2
    assert not dest.playbooks_dir.exists() or not list(dest.playbooks_dir.iterdir())
    assert {k for k in tree(dest.root) if not k.startswith("state/")} == {
        k for k in before if not k.startswith("state/")}
