"""`dreamcli export sessions --format parquet DIR`: one row per event, session fields, date partitions."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.portability.parquet import EVENT_COLUMNS, SESSION_COLUMNS
from dreamcli.sessions.paths import iter_session_files
from dreamcli.sessions.reader import iter_events
from dreamcli.testing.synthetic import GenConfig, generate
from dreamcli.workspace.fsutil import atomic_write_text
from dreamcli.workspace.home import Workspace

pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow is not installed (pip install '.[parquet]')")


def test_every_event_is_one_row_partitioned_by_date(ws: Workspace, tmp_path: Path) -> None:
    generate(ws, GenConfig(sessions=25, seed=5, days=4))
    atomic_write_text(ws.config_path, 'redaction:\n  patterns: ["contract"]\n')
    out = tmp_path / "lake"
    r = CliRunner().invoke(app, ["--home", str(ws.root), "export", "sessions", "--format", "parquet", str(out),
                                 "--json"])
    assert r.exit_code == 0, r.output
    result = json.loads(r.output)
    files = list(iter_session_files(ws))
    n_events = sum(len(list(iter_events(p))) for p in files)
    assert (result["sessions"], result["events"]) == (len(files), n_events)
    days = {f"date={p.parent.parent.parent.name}-{p.parent.parent.name}-{p.parent.name}" for p in files}
    assert {d.name for d in out.iterdir()} == days and result["partitions"] == len(days)
    part = next(out.glob("date=*/part-0.parquet"))
    assert oct(part.stat().st_mode & 0o777) == "0o600"
    table = pq.read_table(out)  # the whole dataset, with the hive partition column
    assert table.num_rows == n_events
    names = [c for c, _ in SESSION_COLUMNS + EVENT_COLUMNS]
    assert table.column_names[: len(names)] == names
    rows = table.to_pylist()
    assert all("contract" not in (row["event"] or "").lower() for row in rows)  # redacted on the way out
    first = next(r for r in rows if r["type"] == "session.start")
    assert first["seq"] == 0 and first["session_id"] and first["session_status"]


def test_bad_uses_exit_2(ws: Workspace, tmp_path: Path) -> None:
    run = CliRunner().invoke
    home = ["--home", str(ws.root)]
    assert run(app, [*home, "export", "sessions", "--format", "json", str(tmp_path / "x")]).exit_code == 2
    assert run(app, [*home, "export", "sessionz", "--format", "parquet", str(tmp_path / "x")]).exit_code == 2
    os.makedirs(tmp_path / "full")
    (tmp_path / "full" / "f").write_text("x")
    assert run(app, [*home, "export", "sessions", "--format", "parquet", str(tmp_path / "full")]).exit_code == 2
