"""An import says everything it did to a playbook, in the table, in `--json` and in the audit record: the
entries a merge folded into a local entry of the same text (`folded`: {id, local_id}), the entries a
`--replace` removed and whether the bundle's version was older than the live one (`removed`, `older`,
`bundle_version`); and an import that changed no playbook but refused a conflicting text or folded an entry
is on record too (`live_version`, `live_hash`). Each used to be silent (report s20 T§3, §4, §5)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dreamcli.audit import content_hash
from dreamcli.workspace.home import Workspace
from tests.portability.support import LEGAL_V2, LEGAL_V3, audit, cli, destination, exported, put, write_playbook

FOLD_ID = "pb-localfold"


def _records(ws: Workspace, name: str) -> list[dict[str, Any]]:
    return [r for r in audit(ws) if r["action"] == "import" and r["playbook"] == name]


def _legal(r: Any) -> dict[str, Any]:
    return next(p for p in json.loads(r.stdout)["playbooks"] if p["name"] == "legal")


def _local_legal(tmp_path: Path, text: str) -> Workspace:
    dest = destination(tmp_path)
    write_playbook(dest, "legal", text, history={3: text})
    return dest


def test_a_fold_that_changes_nothing_is_shown_and_recorded(tmp_path: Path) -> None:
    dest = _local_legal(tmp_path, LEGAL_V3.replace("pb-8m2k4q1z", FOLD_ID))  # the same lesson, another id
    bundle = exported(tmp_path, sessions=False)
    r = cli(dest.root, "import", str(bundle))
    assert r.exit_code == 0, r.output
    row = next(line for line in r.stdout.splitlines() if line.startswith("legal"))
    assert row.split()[1] == "unchanged" and row.split()[5:] == ["0", "0", "1", "0", "0"]  # folded 1
    assert f"folded in legal: the bundle's [pb-8m2k4q1z] has the text of the local [{FOLD_ID}]" in r.stderr
    [rec] = _records(dest, "legal")
    live = (dest.playbooks_dir / "legal.md").read_text()
    assert rec["result"] == "unchanged" and rec["folded"] == [{"id": "pb-8m2k4q1z", "local_id": FOLD_ID}]
    assert (rec["live_version"], rec["live_hash"]) == (3, content_hash(live)) and "version_after" not in rec
    r = cli(dest.root, "import", str(bundle), "--json")
    assert _legal(r)["folded"] == [{"id": "pb-8m2k4q1z", "local_id": FOLD_ID}]


def test_a_fold_that_widens_the_local_entry_is_in_the_merge_record(tmp_path: Path) -> None:
    local = LEGAL_V3.replace("pb-8m2k4q1z", FOLD_ID).replace("helpful=3 ", "helpful=1 ")
    dest = _local_legal(tmp_path, local)
    r = cli(dest.root, "import", str(exported(tmp_path, sessions=False)), "--json")
    assert r.exit_code == 0, r.output
    legal = _legal(r)
    assert legal["action"] == "merged" and legal["updated"] == [FOLD_ID]
    assert legal["folded"] == [{"id": "pb-8m2k4q1z", "local_id": FOLD_ID}]
    assert _records(dest, "legal")[-1]["folded"] == legal["folded"]


def test_a_conflict_alone_is_recorded(tmp_path: Path) -> None:
    dest = _local_legal(tmp_path, LEGAL_V3.replace("never by page.", "never by page number."))
    r = cli(dest.root, "import", str(exported(tmp_path, sessions=False)))
    assert r.exit_code == 0, r.output
    assert "conflict in legal [pb-8m2k4q1z]" in r.stderr
    [rec] = _records(dest, "legal")
    assert rec["result"] == "unchanged" and rec["conflicts"] == ["pb-8m2k4q1z"] and rec["live_version"] == 3
    assert rec["bundle"] and rec["mode"] == "merge"


def test_an_import_that_did_nothing_else_writes_no_record(tmp_path: Path) -> None:
    dest = _local_legal(tmp_path, LEGAL_V3)
    assert cli(dest.root, "import", str(exported(tmp_path, sessions=False))).exit_code == 0
    assert _records(dest, "legal") == []  # the same playbook: nothing refused, folded or in conflict


def test_a_replace_with_an_older_version_says_what_it_removed(tmp_path: Path) -> None:
    dest = destination(tmp_path)
    assert cli(dest.root, "import", str(exported(tmp_path, sessions=False))).exit_code == 0  # legal v3
    old = exported(tmp_path / "monday", history=False, sessions=False)
    put(old, "playbooks/legal.md", LEGAL_V2.encode())  # v2: without pb-8m2k4q1z
    r = cli(dest.root, "import", str(old), "--replace")
    assert r.exit_code == 0, r.output
    row = next(line for line in r.stdout.splitlines() if line.startswith("legal"))
    assert row.split()[1] == "replaced" and row.split()[8] == "1"  # the removed column
    assert "replaced legal with the bundle's v2, older than the live v3: removed 1 entry (pb-8m2k4q1z)" in r.stderr
    rec = _records(dest, "legal")[-1]
    assert (rec["result"], rec["removed"], rec["older"], rec["bundle_version"]) == \
        ("replaced", ["pb-8m2k4q1z"], True, 2)
    r = cli(dest.root, "import", str(exported(tmp_path / "friday", sessions=False)), "--replace", "--json")
    legal = _legal(r)  # friday's v3 back over the live v4: newer than nothing, removes nothing
    assert (legal["action"], legal["removed"], legal["older"], legal["bundle_version"]) == \
        ("replaced", [], True, 3)


def test_a_replace_that_removes_nothing_says_nothing_more(tmp_path: Path) -> None:
    dest = _local_legal(tmp_path, LEGAL_V2.replace("version: 2", "version: 3"))
    r = cli(dest.root, "import", str(exported(tmp_path, sessions=False)), "--replace", "--json")
    legal = _legal(r)
    assert (legal["action"], legal["removed"], legal["older"], legal["added"]) == \
        ("replaced", [], False, ["pb-8m2k4q1z"])
    assert "replaced legal" not in r.stderr
    rec = _records(dest, "legal")[-1]
    assert rec["removed"] == [] and "older" not in rec
