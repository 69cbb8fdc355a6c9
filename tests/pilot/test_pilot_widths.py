"""Issue 20: the pilot's arms table at 60, 80 and 200 columns: fewer columns, never a cut cell."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.testing import FakeAnthropic
from tests.pilot.helpers import DREAM, HELPS, scripted_agent, seed_workspace, write_task


@pytest.mark.parametrize("width", [60, 80, 200])
def test_arms_table_fits(fake_anthropic: FakeAnthropic, ws: Any, tmp_path: Path, width: int) -> None:
    from dreamcli.cli.app import app

    seed_workspace(ws, entries=(HELPS,))
    task = write_task(tmp_path)
    fake_anthropic.responder = scripted_agent(0.9, 0.1)
    r = CliRunner().invoke(app, ["--home", str(ws.root), "pilot", str(task), "--proposal", DREAM, "--trials", "2",
                                 "--yes"], env={"NO_COLOR": "1", "COLUMNS": str(width), "DREAMCLI_ACTOR": "t"})
    assert r.exit_code == 0, r.stderr
    lines = [line.rstrip() for line in r.stdout.splitlines()]
    assert all(len(line) <= width for line in lines), [line for line in lines if len(line) > width]
    assert not any(line.endswith("…") for line in lines)  # (the CI is written lo…hi: not a cut)
    header = next(line for line in lines if line.startswith("arm"))
    for col in ("pass", "rate"):
        assert col in header.split()
    if width >= 200:
        assert "tokens" in header and "wall" in header
    assert any(line.startswith("delta") for line in lines)
