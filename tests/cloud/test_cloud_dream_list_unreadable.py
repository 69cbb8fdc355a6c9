"""A cloud dream record that cannot be read (not JSON, not a record, oversized, not a regular file) is never
dropped from `cloud dream list` in silence: one `warning:` line on stderr each, naming its file, an
`unreadable` list in `--json`, the readable records listed, exit 0, and the file left where it is
(docs/managed-agents.md, "Cloud dreams")."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dreamcli.cloud.dream_record import records_dir
from dreamcli.workspace.home import Workspace
from tests.cloud.helpers import cli

pytestmark = pytest.mark.timeout(60)

GOOD = {"v": 1, "created": "2026-01-01T00:00:00Z", "store_id": "memstore_01a", "status": "running",
        "cloud_dream_id": "drm_kept0001", "finished": False}
KEY = "sk-ant-api03-" + "A" * 90


def _bad_records(ws: Workspace) -> dict[str, str]:
    """One readable record and one file of each unreadable kind: name -> what the warning says of it."""
    folder = records_dir(ws)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "01GOODGOODGOODGOODGOODGOOD.json").write_text(json.dumps(GOOD))
    (folder / "01NOTJSONNOTJSONNOTJSONNOT.json").write_text('{"v": 1, "created": ')  # cut off
    (folder / "01WRONGSHAPEWRONGSHAPEWRON.json").write_text(json.dumps({"v": 1, "status": 5}))
    (folder / "01LISTLISTLISTLISTLISTLIST.json").write_text("[1, 2]")
    (folder / "01BIGBIGBIGBIGBIGBIGBIGBIG.json").write_text(json.dumps({**GOOD, "model": "m" * (70 << 10)}))
    os.mkfifo(folder / "01FIFOFIFOFIFOFIFOFIFOFIFO.json")
    return {"01NOTJSONNOTJSONNOTJSONNOT.json": "not JSON",
            "01WRONGSHAPEWRONGSHAPEWRON.json": "not a cloud dream record",
            "01LISTLISTLISTLISTLISTLIST.json": "not a cloud dream record",
            "01BIGBIGBIGBIGBIGBIGBIGBIG.json": "over 64 KB",
            "01FIFOFIFOFIFOFIFOFIFOFIFO.json": "not a regular file"}


def _files(ws: Workspace) -> list[str]:
    return sorted(p.name for p in records_dir(ws).iterdir())


def test_each_unreadable_record_is_one_warning_naming_its_file(ws: Workspace) -> None:
    bad = _bad_records(ws)
    before = _files(ws)

    shown = cli(ws, "cloud", "dream", "list")

    assert shown.exit_code == 0, shown.stderr
    assert "drm_kept0001" in shown.stdout, shown.stdout
    warnings = [line for line in shown.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == len(bad), shown.stderr
    for name, problem in bad.items():
        [line] = [w for w in warnings if name in w]
        assert str(records_dir(ws) / name) in line and problem in line and "left as it is" in line, line
    assert _files(ws) == before  # nothing deleted


def test_json_lists_the_unreadable_records(ws: Workspace) -> None:
    bad = _bad_records(ws)

    listed = cli(ws, "cloud", "dream", "list", "--json")

    assert listed.exit_code == 0, listed.stderr
    out = json.loads(listed.stdout)
    assert [r["cloud_dream_id"] for r in out["dreams"]] == ["drm_kept0001"]
    assert out["warnings"] == []
    assert sorted(Path(u["file"]).name for u in out["unreadable"]) == sorted(bad)
    for u in out["unreadable"]:
        assert bad[Path(u["file"]).name] in u["problem"], u
    assert len([ln for ln in listed.stderr.splitlines() if ln.startswith("warning: ")]) == len(bad)


def test_an_unreadable_record_s_name_is_redacted(ws: Workspace) -> None:
    folder = records_dir(ws)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{KEY}.json").write_text("not json")

    listed = cli(ws, "cloud", "dream", "list", "--json")

    assert listed.exit_code == 0, listed.stderr
    assert KEY not in listed.stdout + listed.stderr and "[REDACTED" in listed.stderr, listed.stderr
    [u] = json.loads(listed.stdout)["unreadable"]
    assert "[REDACTED" in u["file"] and u["problem"] == "not JSON"
    assert (folder / f"{KEY}.json").exists()
