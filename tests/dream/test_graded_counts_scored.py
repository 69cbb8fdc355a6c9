"""The dream's "Read N sessions (E episodes, G graded)" counts only scored grades: a grader `error` is unscored
and counts for nothing (docs/dream.md), also not as graded. Three runs whose grader failed read as
"3 graded"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.outcomes.store import append_grade
from dreamcli.workspace.home import Workspace
from tests.support.outcomes import make_session

pytestmark = pytest.mark.usefixtures("no_model")  # dreams run offline


def _grade(ws: Workspace, sid: str, result: str, score: float | None) -> None:
    append_grade(ws, {"session_id": sid, "outcome": "review", "result": result, "score": score, "threshold": 0.75,
                      "criteria": [], "error": "grader boom" if result == "error" else None})


def _inputs(ws: Workspace) -> dict[str, int]:
    r = CliRunner().invoke(app, ["--home", str(ws.root), "dream", "--offline", "--dry-run", "--json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)["inputs"]


def test_error_grades_are_not_counted_as_graded(tmp_path: Path) -> None:
    ws = Workspace(root=tmp_path / "ws", source="option").ensure_layout()
    errored = [make_session(ws, workdir=tmp_path / "wd") for _ in range(3)]
    for sid in errored:
        _grade(ws, sid, "error", None)
    inputs = _inputs(ws)
    assert (inputs["sessions"], inputs["graded"]) == (3, 0)
    _grade(ws, errored[0], "satisfied", 1.0)  # the latest grade of a session is the one that counts
    assert _inputs(ws)["graded"] == 1
