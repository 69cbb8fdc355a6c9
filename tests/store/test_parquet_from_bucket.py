"""`export sessions --format parquet` in a workspace whose sessions live in object storage (S3 on moto):
the dataset holds the bucket's sessions, not only this machine's files (before: "Exported 0 events of 0
sessions" on a dreaming machine that had read 600 sessions from the bucket)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.sessions.paths import iter_session_files
from dreamcli.sessions.reader import iter_events
from dreamcli.workspace.home import Workspace
from tests.support.paths import CLAUDE_CODE_SAMPLES

pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow is not installed (pip install '.[parquet]')")


def _ws(root: Path, url: str) -> Workspace:
    ws = Workspace(root, "option").ensure_layout()
    ws.config_path.write_text(f"sessions:\n  url: {json.dumps(url)}\n")
    return ws


def _invoke(ws: Workspace, *args: str) -> dict[str, object]:
    r = CliRunner().invoke(app, ["--home", str(ws.root), *args], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)  # type: ignore[no-any-return]


def test_the_export_reads_the_bucket_and_this_machines_files_once(tmp_path: Path, s3_env: str) -> None:
    runner = _ws(tmp_path / "runner", s3_env)
    assert _invoke(runner, "sessions", "import", "claude-code", str(CLAUDE_CODE_SAMPLES), "--json")["sessions"] == 4
    files = list(iter_session_files(runner))
    events = sum(len(list(iter_events(p))) for p in files)

    dreamer = _ws(tmp_path / "dreamer", s3_env)  # no session file of its own
    assert list(iter_session_files(dreamer)) == []
    got = _invoke(dreamer, "export", "sessions", "--format", "parquet", str(tmp_path / "lake"), "--json")
    assert (got["sessions"], got["events"]) == (4, events)
    table = pq.read_table(tmp_path / "lake")
    assert {r["session_id"] for r in table.select(["session_id"]).to_pylist()} == {p.stem for p in files}

    got = _invoke(runner, "export", "sessions", "--format", "parquet", str(tmp_path / "lake2"), "--json")
    assert (got["sessions"], got["events"]) == (4, events)  # its own files, not counted twice


def test_an_unreachable_store_stops_the_export(tmp_path: Path, s3_env: str) -> None:
    ws = _ws(tmp_path / "ws", s3_env.replace("s3://", "s3://no-such-bucket-"))
    r = CliRunner().invoke(app, ["--home", str(ws.root), "export", "sessions", "--format", "parquet",
                                 str(tmp_path / "lake")])
    assert r.exit_code in (2, 4), r.output
    assert r.stderr.startswith("error: ") and "Exported" not in r.output
