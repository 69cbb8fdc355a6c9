"""`dreamcli grade` whose grade cache cannot be written (here: a file where its folder belongs) keeps the verdict
and says so once, through dreamcli.ui like every other warning: wrapped on a terminal, its label coloured unless
NO_COLOR (it was written straight to stderr by the Grader, one long line, never coloured). On a pipe the line is
what it was."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.testing import FakeAnthropic
from dreamcli.ui import console
from dreamcli.workspace.home import Workspace
from tests.support.outcomes import GRADER_SPEC, make_session, verdict_reply, write_spec


def _graded(ws: Workspace, tmp_path: Path, fake_anthropic: FakeAnthropic) -> list[str]:
    spec = write_spec(tmp_path / "spec.yaml", GRADER_SPEC)
    sid = make_session(ws, workdir=tmp_path / "wd", files={"summary.md": "# Termination\n- Section 12.1"})
    (ws.state_dir / "grade-cache").write_text("not a folder")  # every cache write fails
    fake_anthropic.expect(verdict_reply(cites_sections=True, no_advice=True))
    return ["--home", str(ws.root), "grade", sid, "--outcome", str(spec)]


def test_the_cache_warning_goes_through_the_console(ws: Workspace, tmp_path: Path, fake_anthropic: FakeAnthropic,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    said: list[str] = []
    monkeypatch.setattr(console, "warn", said.append)
    r = CliRunner().invoke(app, _graded(ws, tmp_path, fake_anthropic))
    assert r.exit_code == 0, r.output
    assert "warning:" not in r.stderr  # nothing written around the console
    [warning] = said
    assert warning.startswith("grade cache not written: ") and "grade-cache" in warning


def test_on_a_pipe_the_cache_warning_is_one_line_as_before(ws: Workspace, tmp_path: Path,
                                                           fake_anthropic: FakeAnthropic) -> None:
    r = CliRunner().invoke(app, _graded(ws, tmp_path, fake_anthropic))
    assert r.exit_code == 0, r.output
    [line] = [line for line in r.stderr.splitlines(keepends=True) if line.startswith("warning:")]
    assert line.startswith("warning: grade cache not written: ") and str(ws.state_dir / "grade-cache") in line
    assert line.endswith("; the grader's verdicts are kept, but a later grade of the same run asks the grader again\n")
