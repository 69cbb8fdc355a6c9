"""Exporting the same playbooks again gives the same bytes, in every format: the time an export names
(`created` in a bundle's manifest and the json document, the claude-md/agents-md comment, the memory-dir
index) is the newest `updated` time of its playbooks, not the time of the export. It used to be the time
of the export, so every re-export was a new file and two people re-exporting made a git conflict
(report s20 T§7)."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dreamcli.portability import export as export_module
from dreamcli.portability import export_playbooks
from tests.portability.support import cli, destination, make_workspace, tree

NEWEST = "2026-11-21T08:00:00Z"  # ops's `updated`, newer than legal's


def _at(monkeypatch: pytest.MonkeyPatch, when: datetime) -> None:
    class Clock(datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[no-untyped-def,override]
            return when

    monkeypatch.setattr(export_module, "datetime", Clock)


@pytest.mark.parametrize(("fmt", "name"), [("bundle", "b"), ("bundle", "b.tar.gz"), ("json", "p.json"),
                                           ("claude-md", "CLAUDE.md"), ("agents-md", "AGENTS.md"),
                                           ("memory-dir", "mem")])
def test_two_exports_of_the_same_playbooks_are_byte_identical(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               fmt: str, name: str) -> None:
    ws = make_workspace(tmp_path / "ws", sessions=False)
    outputs = []
    times = (datetime(2026, 12, 1, 9, 0, 0, tzinfo=UTC), datetime(2026, 12, 8, 17, 30, 5, tzinfo=UTC))
    for i, when in enumerate(times):
        _at(monkeypatch, when)
        out = tmp_path / str(i) / name
        out.parent.mkdir()
        export_playbooks(ws, fmt=fmt, output=str(out), include_history=fmt == "bundle", actor="ana")
        outputs.append(tree(out) if out.is_dir() else {"": out.read_bytes()})
    assert outputs[0] == outputs[1]
    data = b"".join(outputs[0].values())
    text = (gzip.decompress(data) if name.endswith(".tar.gz") else data).decode("utf-8", "replace")
    assert NEWEST in text and "2026-12-0" not in text


def test_the_bundle_names_its_playbooks_time_and_imports(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws", sessions=False)
    out = tmp_path / "b"
    export_playbooks(ws, output=str(out), include_history=True)
    assert json.loads((out / "manifest.json").read_text())["created"] == NEWEST
    dest = destination(tmp_path)
    r = cli(dest.root, "import", str(out))
    assert r.exit_code == 0, r.output
    assert f"playbooks as of {NEWEST}" in r.stderr


def test_a_changed_playbook_changes_the_time(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws", sessions=False)
    ops = ws.playbooks_dir / "ops.md"
    ops.write_text(ops.read_text().replace(f"updated: {NEWEST}", "updated: 2026-11-30T12:00:00+01:00"))
    out = tmp_path / "p.json"
    export_playbooks(ws, fmt="json", output=str(out))
    assert json.loads(out.read_text())["created"] == "2026-11-30T11:00:00Z"  # as UTC


def test_a_default_bundle_name_still_has_the_time_of_the_export(tmp_path: Path, monkeypatch) -> None:
    ws = make_workspace(tmp_path / "ws", sessions=False)
    _at(monkeypatch, datetime(2026, 12, 8, 17, 30, 5, tzinfo=UTC))
    r = export_playbooks(ws, cwd=tmp_path)
    assert Path(r.output).name == "dreamcli-bundle-20261208-173005.tar.gz"
