"""`export sessions --format parquet`: sessions of one partition that do not arrive together (ids without
a time go to `date=unknown`, a session filed under another day's directory) are all written, no part file
is overwritten, and the counts reported are the rows on disk."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from dreamcli.ids import ulid_at
from dreamcli.sessions.paths import iter_session_files
from dreamcli.sessions.reader import iter_events
from dreamcli.workspace.home import Workspace
from tests.portability.support import cli, write_session

pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow is not installed (pip install '.[parquet]')")

DAY_A = 1_763_600_000_000  # 2025-11-20
DAY_B = 1_893_456_000_000  # 2030-01-01


def _move(ws: Workspace, session_id: str, day_dir: str) -> None:
    src = next(ws.sessions_dir.glob(f"*/*/*/{session_id}.jsonl"))
    dst = ws.sessions_dir / day_dir
    dst.mkdir(parents=True, exist_ok=True)
    shutil.move(src, dst / src.name)


def test_sessions_of_one_partition_arriving_apart_are_all_written(ws: Workspace, tmp_path: Path) -> None:
    a, c = ulid_at(DAY_A, b"\x01" * 10), ulid_at(DAY_A + 1000, b"\x03" * 10)
    b = ulid_at(DAY_B, b"\x02" * 10)
    z1, z2 = "ZZZZZZZZZZZZZZZZZZZZZZZZZA", "ZZZZZZZZZZZZZZZZZZZZZZZZZB"  # no time in them: date=unknown
    for sid in (a, b, c, z1, z2):
        write_session(ws, sid, f"session {sid}")
    _move(ws, z2, "2031/01/01")  # read after b: date=unknown a second time
    _move(ws, c, "2031/01/02")  # filed under a later day than its id says: DAY_A a second time
    files = list(iter_session_files(ws))
    n_events = sum(len(list(iter_events(p))) for p in files)
    out = tmp_path / "lake"
    r = cli(ws.root, "export", "sessions", "--format", "parquet", str(out), "--json")
    assert r.exit_code == 0, r.output
    result = json.loads(r.stdout)
    table = pq.read_table(out)
    assert table.num_rows == n_events == result["events"]
    assert set(table.column("session_id").to_pylist()) == {a, b, c, z1, z2} and result["sessions"] == 5
    parts = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.parquet"))
    assert result["files"] == len(parts) and result["partitions"] == len({p.split("/")[0] for p in parts}) == 3
    assert "date=unknown/part-0.parquet" in parts
