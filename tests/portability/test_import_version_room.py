"""A bundle whose playbook (or a version its history brings) is at the largest version a playbook can have
is refused at import, with one line and nothing written: it used to import, and then no approve, import or
revert could make the next version (exit 2, "the new version would not parse back", blaming the live file),
so one careless or hostile bundle froze a shared playbook (report s20 T§2)."""

from __future__ import annotations

from pathlib import Path

from dreamcli.playbooks.frontmatter import MAX_VERSION
from tests.portability.support import LEGAL_V3, OPS_V1, cli, destination, exported, put, refused


def test_a_live_version_at_the_largest_refuses_the_bundle(tmp_path: Path) -> None:
    bundle = exported(tmp_path)
    put(bundle, "playbooks/legal.md", LEGAL_V3.replace("version: 3\n", f"version: {MAX_VERSION}\n").encode())
    refused(destination(tmp_path), bundle, "playbooks/legal.md:3: version: ", f"{MAX_VERSION} leaves no room",
            "nothing was imported")  # the other playbook (ops) is not imported either: nothing is written


def test_a_history_version_at_the_largest_refuses_the_bundle(tmp_path: Path) -> None:
    bundle = exported(tmp_path)
    rel = f"playbooks/.history/ops/v{MAX_VERSION}.md"
    put(bundle, rel, OPS_V1.replace("version: 1\n", f"version: {MAX_VERSION}\n").encode())
    refused(destination(tmp_path), bundle, rel, "version: ", "leaves no room")


def test_below_the_largest_the_playbook_still_takes_a_change(tmp_path: Path) -> None:
    """One below the largest imports, and the next change to it (a merge adding an entry) still goes in."""
    top = MAX_VERSION - 1
    bundle = exported(tmp_path)
    put(bundle, "playbooks/ops.md", OPS_V1.replace("version: 1\n", f"version: {top}\n").encode())
    dest = destination(tmp_path)
    assert cli(dest.root, "import", str(bundle)).exit_code == 0
    later = exported(tmp_path / "later")  # ops at v1 with another entry: merged in as the next version
    put(later, "playbooks/ops.md", OPS_V1.replace("make lock", "make relock").replace(
        "[op-a1b2c3d4]", "[op-e5f6a7b8]").encode())
    r = cli(dest.root, "import", str(later))
    assert r.exit_code == 0, r.output
    assert f"version: {MAX_VERSION}\n" in (dest.playbooks_dir / "ops.md").read_text()
