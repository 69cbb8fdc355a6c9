"""`dreamcli grade` failing: options and paths refused before any grading; `--json` stays one valid document
whose `exit_code` is the process's, whatever fails after the report was started."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.testing import FakeAnthropic
from dreamcli.workspace.home import Workspace
from tests.support.outcomes import GRADER_SPEC, make_session, write_spec

CHECKS_SPEC = """
name: checks
criteria:
  - id: says-done
    check: {type: contains, value: "Done"}
"""


def invoke(ws: Workspace, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["--home", str(ws.root), "grade", *args])


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "internal error" not in stderr and "Traceback" not in stderr, stderr
    return lines[0]


@pytest.mark.parametrize("args", [["--since", "7x"], ["--since", ""], ["--since", "  "], ["--task", ""]])
def test_bad_selection_options_exit_2_before_the_report(ws: Workspace, tmp_path: Path, args: list[str]) -> None:
    spec = write_spec(tmp_path / "checks.yaml", CHECKS_SPEC)
    make_session(ws)
    r = invoke(ws, *args, "--outcome", str(spec), "--json")
    assert r.exit_code == 2, r.output
    assert _document(r.stdout, 2)["results"] == []  # grade --json: a document, a refusal included
    one_line(r.stderr)


def _document(stdout: str, code: int) -> dict:  # type: ignore[type-arg]
    data = json.loads(stdout)
    assert data["kind"] == "dreamcli.grade" and data["totals"]["exit_code"] == code
    assert isinstance(data["error"], str) and data["error"]
    return data  # type: ignore[no-any-return]


def test_no_matching_session_closes_the_document_with_exit_2(ws: Workspace, tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "checks.yaml", CHECKS_SPEC)
    make_session(ws)
    r = invoke(ws, "--since", "2999-01-01", "--outcome", str(spec), "--json")
    assert r.exit_code == 2, r.output
    assert "no sessions" in _document(r.stdout, 2)["error"]
    one_line(r.stderr)


def test_an_invalid_spec_named_by_a_task_closes_the_document(ws: Workspace, tmp_path: Path) -> None:
    good = write_spec(tmp_path / "good.yaml", CHECKS_SPEC)
    bad = write_spec(tmp_path / "bad.yaml", "name: x\ncriteria:\n  - id: a\n    check: {type: nope}\n")
    first = make_session(ws, outcome=good.resolve())
    make_session(ws, outcome=bad.resolve())
    r = invoke(ws, "--last", "2", "--json")
    assert r.exit_code == 2, r.output
    data = _document(r.stdout, 2)
    assert "criteria.0.check.type" in data["error"]
    assert [x["session_id"] for x in data["results"]] in ([], [first])
    one_line(r.stderr)


def test_missing_credentials_close_the_document_with_exit_4(ws: Workspace, tmp_path: Path, no_model: None) -> None:
    spec = write_spec(tmp_path / "spec.yaml", GRADER_SPEC)
    make_session(ws, workdir=tmp_path / "wd", files={"summary.md": "x"})
    r = invoke(ws, "--last", "1", "--outcome", str(spec), "--json")
    assert r.exit_code == 4, r.output
    assert "ANTHROPIC_API_KEY" in _document(r.stdout, 4)["error"]


# --- report paths: checked before any grading, never replaced when they are not regular files -------


def _grade_with(ws: Workspace, tmp_path: Path, *flags: str):  # type: ignore[no-untyped-def]
    spec = write_spec(tmp_path / "spec.yaml", GRADER_SPEC)
    sid = make_session(ws, workdir=tmp_path / "wd", files={"summary.md": "x"})
    return invoke(ws, sid, "--outcome", str(spec), *flags)


@pytest.mark.parametrize("flag", ["--junit", "--summary"])
def test_a_directory_or_empty_report_path_exits_2_before_grading(ws: Workspace, tmp_path: Path, flag: str,
                                                                  fake_anthropic: FakeAnthropic) -> None:
    (tmp_path / "adir").mkdir()
    for target in (str(tmp_path / "adir"), ""):
        r = _grade_with(ws, tmp_path, flag, target)
        assert r.exit_code == 2, r.output
        assert flag in one_line(r.stderr)
    assert fake_anthropic.requests == []  # no model call was spent
    assert not ws.grades_file.exists() or ws.grades_file.read_text() == ""


@pytest.mark.parametrize("flag", ["--junit", "--summary"])
def test_a_fifo_or_symlink_report_target_is_refused_and_kept(ws: Workspace, tmp_path: Path, flag: str,
                                                             fake_anthropic: FakeAnthropic) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    real = tmp_path / "real.md"
    real.write_text("keep me\n")
    link = tmp_path / "link.md"
    link.symlink_to(real)
    for target in (fifo, link):
        r = _grade_with(ws, tmp_path, flag, str(target))
        assert r.exit_code == 2, r.output
        assert "regular file" in one_line(r.stderr)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert link.is_symlink() and real.read_text() == "keep me\n"
    assert fake_anthropic.requests == []


def test_a_report_under_a_file_exits_2(ws: Workspace, tmp_path: Path, fake_anthropic: FakeAnthropic) -> None:
    (tmp_path / "plain").write_text("x")
    r = _grade_with(ws, tmp_path, "--junit", str(tmp_path / "plain" / "junit.xml"))
    assert r.exit_code == 2, r.output
    one_line(r.stderr)
    assert fake_anthropic.requests == []
