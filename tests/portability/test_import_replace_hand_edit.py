"""`import --replace` on a live playbook edited by hand drops the edit, as a revert does, and keeps its text
as a revert keeps it (`state/hand-edits/<name>-<time>.md`, named in the record, in `--json` as
`hand_edit_kept` and in the warning, with --json too; docs/audit.md, "A hand edit"). It used to keep the
text nowhere and say so (report s20 T§1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dreamcli.workspace.home import Workspace
from tests.portability.support import audit, cli, destination, exported

EDITED = "Cite clauses by section number (\"§ 12.3\"), never by page. MY LOCAL NOTE"


def _edited(tmp_path: Path) -> tuple[Path, Path, str]:
    """A destination that imported the bundle, its live legal playbook then edited by hand."""
    bundle = exported(tmp_path, sessions=False)
    dest = destination(tmp_path)
    assert cli(dest.root, "import", str(bundle)).exit_code == 0
    live = dest.playbooks_dir / "legal.md"
    live.write_text(live.read_text().replace('Cite clauses by section number ("§ 12.3"), never by page.', EDITED))
    return bundle, dest.root, live.read_text()


def test_a_replace_keeps_the_hand_edited_text_it_drops(tmp_path: Path) -> None:
    bundle, home, edited = _edited(tmp_path)
    r = cli(home, "import", str(bundle), "--replace", "--json")
    assert r.exit_code == 0, r.output
    legal = next(p for p in json.loads(r.stdout)["playbooks"] if p["name"] == "legal")
    assert legal["action"] == "replaced" and legal["hand_edit"]["carried"] is False
    kept = legal["hand_edit_kept"]
    assert kept.startswith("state/hand-edits/legal-") and kept.endswith(".md")
    assert (home / kept).read_text() == edited and (home / kept).stat().st_mode & 0o777 == 0o600
    assert EDITED not in (home / "playbooks" / "legal.md").read_text()  # the edit is dropped from the live file
    rec = [x for x in audit(Workspace(root=home, source="option")) if x["playbook"] == "legal"][-1]
    assert rec["hand_edit_kept"] == kept and rec["hand_edit"]["carried"] is False
    # said on stderr with --json too, in one message that names where the text is
    assert "this import drops that edit" in r.stderr and f"kept in {home / kept}" in r.stderr
    assert "not kept" not in r.stderr


def test_the_warning_names_the_copy_without_json(tmp_path: Path) -> None:
    bundle, home, edited = _edited(tmp_path)
    r = cli(home, "import", str(bundle), "--replace")
    assert r.exit_code == 0, r.output
    kept = sorted((home / "state" / "hand-edits").iterdir())
    assert len(kept) == 1 and kept[0].read_text() == edited
    assert f"the hand-edited text it dropped is kept in {kept[0]}" in r.stderr and "not kept" not in r.stderr


class _Killed(Exception):
    pass


def test_a_replace_killed_before_its_record_is_reconciled_with_the_kept_copy(tmp_path: Path, monkeypatch) -> None:
    """The intent names the copy, so the `reconciled` record the next command writes names it too."""
    from dreamcli.portability import import_bundle, import_install

    bundle, home, edited = _edited(tmp_path)

    def crash(step: str) -> None:
        if step == "bundle.live":
            raise _Killed(step)

    monkeypatch.setattr(import_install, "crashpoint", crash)
    ws = Workspace(root=home, source="option")
    with pytest.raises(_Killed):
        import_bundle(ws, bundle, mode="replace")
    monkeypatch.undo()
    assert cli(home, "import", str(bundle), "--replace").exit_code == 0  # recovers, then finds nothing to do
    rec = next(x for x in audit(ws) if x["action"] == "reconciled")
    assert rec["interrupted"] == "import" and rec["hand_edit"]["carried"] is False
    assert (home / rec["hand_edit_kept"]).read_text() == edited
