"""`grade --json` prints one `dreamcli.grade` document for every refusal once the command line parses
(docs/cli.md: the exception to "a refusal prints nothing"), whether it comes before or after the first
session is read: a bad spec passed with --outcome is as much a document as one a task names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.workspace.home import Workspace
from tests.support.outcomes import CHECKS_SPEC, GRADER_SPEC, make_session, write_spec

BAD_SPEC = "name: x\ncriteria:\n  - id: a\n    check: {type: nope}\n"


def _grade(home: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["--home", str(home), "grade", *args])


def _refusal(r: Any, code: int) -> dict[str, Any]:
    """The document of a refused grade: no results, the stderr message as `error`, the exit code."""
    assert r.exit_code == code, r.output
    data = json.loads(r.stdout)
    assert data["kind"] == "dreamcli.grade" and data["version"] == 1
    assert data["results"] == [] and data["totals"]["exit_code"] == code and data["totals"]["sessions"] == 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0] == f"error: {data['error']}", r.stderr
    return data  # type: ignore[no-any-return]


def test_a_bad_spec_given_with_outcome_prints_the_document(ws: Workspace, tmp_path: Path) -> None:
    bad = write_spec(tmp_path / "bad.yaml", BAD_SPEC)
    make_session(ws)
    r = _grade(ws.root, "--last", "1", "--outcome", str(bad), "--json")
    assert "criteria.0.check.type" in _refusal(r, 2)["error"]


def test_a_refused_report_path_prints_the_document(ws: Workspace, tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "checks.yaml", CHECKS_SPEC)
    make_session(ws)
    (tmp_path / "adir").mkdir()
    r = _grade(ws.root, "--last", "1", "--outcome", str(spec), "--json", "--junit", str(tmp_path / "adir"))
    assert "--junit" in _refusal(r, 2)["error"]


def test_a_missing_workspace_prints_the_document(tmp_path: Path) -> None:
    r = _grade(tmp_path / "none", "--last", "1", "--json")
    assert "no workspace" in _refusal(r, 2)["error"]


def test_batch_without_credentials_prints_the_document(ws: Workspace, tmp_path: Path, no_model: None) -> None:
    spec = write_spec(tmp_path / "spec.yaml", GRADER_SPEC)
    make_session(ws, workdir=tmp_path / "wd", files={"summary.md": "x"})
    r = _grade(ws.root, "--last", "1", "--outcome", str(spec), "--batch", "--poll-interval", "0", "--json")
    assert "ANTHROPIC_API_KEY" in _refusal(r, 4)["error"]


def test_a_graded_run_has_no_error_key(ws: Workspace, tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "checks.yaml", CHECKS_SPEC)
    make_session(ws)
    r = _grade(ws.root, "--last", "1", "--outcome", str(spec), "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert "error" not in data and data["totals"]["exit_code"] == 0 and len(data["results"]) == 1


@pytest.mark.parametrize("args", [["--calibrate"], ["--trials", "0"], ["--nope"]])
def test_calibrate_and_an_unparsed_command_line_print_nothing(ws: Workspace, args: list[str]) -> None:
    r = _grade(ws.root, "--last", "1", "--json", *args)
    assert r.exit_code == 2, r.output
    assert r.stdout == ""
