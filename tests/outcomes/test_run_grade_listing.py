"""`sessions list` shows a graded run's outcome as `dreamcli run` printed it: the run appends its own grade
(result `needs_revision` for a run that ran out of iterations) just before its session.end
(`max_iterations_reached`), often in the same millisecond; that grade must not replace the run's outcome.
A grade made later (`dreamcli grade`) does. Checked on every listing path: the file scan and the
session index, the table and `--json`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.outcomes.store import append_grade, iter_grades
from dreamcli.store.index import index_path, rebuild
from dreamcli.testing import FakeAnthropic, text_reply
from dreamcli.workspace.home import Workspace

FROZEN = "2020-01-02T03:04:05.678Z"  # one millisecond for every line the run writes, grade included
SPEC = """name: solved
criteria:
  - id: solved
    check: {type: contains, value: SOLVED}
max_iterations: 1
"""


def cli(home: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["--home", str(home), *args], env={"NO_COLOR": "1", "COLUMNS": "200"})


def listed(home: Path) -> tuple[str, str]:
    """The outcome of the one session as the table and as --json show it."""
    table = cli(home, "sessions", "list")
    assert table.exit_code == 0, table.output
    data = cli(home, "sessions", "list", "--json")
    assert data.exit_code == 0, data.output
    (row,) = json.loads(data.stdout)["sessions"]
    return table.stdout, row["outcome"]


@pytest.fixture
def failed_run(fake_anthropic: FakeAnthropic, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A run whose outcome ran out of iterations, its grade and its session.end in the same millisecond."""
    monkeypatch.setattr("dreamcli.sessions.writer.now_rfc3339", lambda: FROZEN)
    monkeypatch.setattr("dreamcli.outcomes.store.now_rfc3339", lambda: FROZEN)
    (tmp_path / "work").mkdir()
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    home = tmp_path / "home"
    fake_anthropic.expect(text_reply("I could not read it."))
    r = cli(home, "run", "-p", "Read it.", "-C", str(tmp_path / "work"), "--outcome", str(spec), "--yes")
    assert r.exit_code == 1, r.output
    assert "outcome max_iterations_reached" in r.output  # what the run printed
    (grade,) = iter_grades(Workspace(root=home, source="option"))
    assert grade["result"] == "needs_revision" and grade["ts"] == FROZEN
    monkeypatch.undo()
    return home


@pytest.mark.parametrize("indexed", [False, True])
def test_the_runs_own_grade_leaves_its_outcome(failed_run: Path, indexed: bool) -> None:
    ws = Workspace(root=failed_run, source="option")
    if indexed:
        rebuild(ws)
    assert index_path(ws).exists() is indexed
    table, outcome = listed(failed_run)
    assert outcome == "max_iterations_reached"
    assert "max_iterations_reached" in table and "needs_revision" not in table


@pytest.mark.parametrize("indexed", [False, True])
def test_a_later_grade_replaces_it(failed_run: Path, indexed: bool) -> None:
    ws = Workspace(root=failed_run, source="option")
    if indexed:
        rebuild(ws)
    (sid,) = {g["session_id"] for g in iter_grades(ws)}
    append_grade(ws, {"session_id": sid, "outcome": "solved", "result": "satisfied", "score": 1.0})
    table, outcome = listed(failed_run)
    assert outcome == "satisfied"
    assert "satisfied" in table and "max_iterations_reached" not in table
