"""Playbooks inside an imported bundle are not trusted: secrets are redacted before anything is written
or printed, history members must be `v<ASCII digits>.md` and parse as playbooks, a repeated
`--replace` changes nothing, and text from the bundle never reaches the terminal raw."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dreamcli.playbooks.store import history_versions
from dreamcli.portability import import_bundle
from dreamcli.workspace.home import Workspace
from tests.portability.support import (
    LOCAL_OPS,
    OPS_V1,
    audit,
    cli,
    destination,
    exported,
    put,
    refused,
    tree,
)

API_KEY = "sk-ant-api03-" + "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH"
PASSWORD = "hunter2secret"


@pytest.fixture
def bundle_dir(tmp_path: Path) -> Path:
    return exported(tmp_path, sessions=False)


@pytest.fixture
def dest(tmp_path: Path) -> Workspace:
    return destination(tmp_path, local_ops=True)




def edit(bundle: Path, rel: str, old: str, new: str) -> None:
    text = (bundle / rel).read_text()
    assert old in text
    put(bundle, rel, text.replace(old, new).encode())


# --- secrets -----------------------------------------------------------------------------------------

def test_secrets_in_bundled_playbooks_are_redacted_before_anything_is_written(dest: Workspace,
                                                                               bundle_dir: Path) -> None:
    edit(bundle_dir, "playbooks/legal.md", "never by page.", f"never by page. Use token {API_KEY} for the API.")
    edit(bundle_dir, "playbooks/.history/legal/v2.md", "read the text;", f"read the text with {API_KEY};")
    edit(bundle_dir, "playbooks/ops.md", "make lock", f"make lock password={PASSWORD}")
    r = cli(dest.root, "import", str(bundle_dir))
    assert r.exit_code == 0, r.output
    for rel, data in tree(dest.root).items():
        assert API_KEY.encode() not in data and PASSWORD.encode() not in data, rel
    assert API_KEY not in r.output and PASSWORD not in r.output  # the conflict report of ops
    assert "[REDACTED:" in (dest.playbooks_dir / "legal.md").read_text()
    assert "[REDACTED:" in (dest.playbook_history_dir / "legal" / "v2.md").read_text()
    assert "conflict in ops" in r.stderr and "[REDACTED:" in r.stderr
    assert "secrets redacted" in r.stderr
    assert cli(dest.root, "playbooks", "lint", "legal").exit_code == 0
    [record] = [a for a in audit(dest) if a["action"] == "import" and a["playbook"] == "legal"]
    assert record["secrets_redacted"] == 2


def test_redacted_counts_in_the_result_and_clean_bundles_stay_byte_identical(dest: Workspace,
                                                                          bundle_dir: Path) -> None:
    edit(bundle_dir, "playbooks/ops.md", "make lock", f"make lock password={PASSWORD}")
    result = import_bundle(dest, bundle_dir, mode="replace")
    counts = {p.name: p.secrets_redacted for p in result.playbooks}
    assert counts == {"legal": 0, "ops": 1}
    assert (dest.playbooks_dir / "legal.md").read_bytes() == (bundle_dir / "playbooks" / "legal.md").read_bytes()


def test_a_secret_that_cannot_be_redacted_in_place_refuses_the_bundle(dest: Workspace, bundle_dir: Path) -> None:
    edit(bundle_dir, "playbooks/legal.md", "description: What the contract-review agent has learned about its "
         "tools and inputs.", f"description: {API_KEY}")  # `[REDACTED:…]` there would be a YAML list
    err = refused(dest, bundle_dir, "playbooks/legal.md")
    assert API_KEY not in err


# --- history members ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["v\u00b2.md", "v\u0663.md", "v02.md", "v99999999999999999999.md", "vx.md"])
def test_history_member_not_named_v_ascii_digits_is_refused(dest: Workspace, bundle_dir: Path, name: str) -> None:
    rel = f"playbooks/.history/legal/{name}"
    put(bundle_dir, rel, (bundle_dir / "playbooks/.history/legal/v2.md").read_bytes())
    refused(dest, bundle_dir, rel)


@pytest.mark.parametrize("data", [b"\xff\xfe not utf8 nor a playbook\n", b"garbage, not a playbook\n",
                                  OPS_V1.replace("version: 1", "version: 2").encode()])
def test_history_version_that_is_not_a_playbook_of_that_name_is_refused(dest: Workspace, bundle_dir: Path,
                                                                        data: bytes) -> None:
    put(bundle_dir, "playbooks/.history/legal/v2.md", data)
    refused(dest, bundle_dir, "playbooks/.history/legal/v2.md")


def test_history_versions_of_the_store_read_only_ascii_digits(dest: Workspace) -> None:
    d = dest.playbook_history_dir / "ops"
    for name in ("v\u00b2.md", "v\u0663.md", "v99999999999999999999.md"):
        (d / name).write_text(LOCAL_OPS)
    assert history_versions(dest, "ops") == [2]


# --- --replace twice ---------------------------------------------------------------------------------

def test_replace_with_the_same_bundle_again_is_unchanged(dest: Workspace, bundle_dir: Path) -> None:
    first = import_bundle(dest, bundle_dir, mode="replace")
    assert {p.name: p.action for p in first.playbooks} == {"legal": "added", "ops": "replaced"}
    before, n_audit = tree(dest.playbooks_dir), len(audit(dest))
    for _ in range(2):
        again = import_bundle(dest, bundle_dir, mode="replace")
        assert {p.name: p.action for p in again.playbooks} == {"legal": "unchanged", "ops": "unchanged"}
        assert {p.name: p.version_after for p in again.playbooks} == {"legal": 3, "ops": 3}
    assert tree(dest.playbooks_dir) == before and len(audit(dest)) == n_audit


# --- terminal ----------------------------------------------------------------------------------------

def test_control_characters_from_the_bundle_never_reach_the_terminal(dest: Workspace, bundle_dir: Path) -> None:
    edit(bundle_dir, "playbooks/ops.md", "Run `make lock`", "\x1b]0;PWNED\x07\x1b[2J\x1b[31mred text")
    m = json.loads((bundle_dir / "manifest.json").read_text())
    m["created"], m["dreamcli_version"] = "\x1b[2J2026", "\x1b]0;x\x070.1"
    (bundle_dir / "manifest.json").write_text(json.dumps(m))
    r = cli(dest.root, "import", str(bundle_dir))
    assert r.exit_code == 0, r.output
    assert "conflict in ops" in r.stderr and "red text" in r.stderr
    for text in (r.stdout, r.stderr):
        assert "\x1b" not in text and "\x07" not in text
