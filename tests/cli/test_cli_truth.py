"""Issue 20: what the command line says must be true (exit codes, scores, pipes, plurals, undo)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.outcomes.scoretext import score_pair, score_text
from dreamcli.testing import FakeAnthropic, text_reply
from tests.support.outcomes import write_spec


def _failing_outcome_task(tmp_path: Path) -> Path:
    wd = tmp_path / "project" / "docs"
    wd.mkdir(parents=True)
    (wd / "summary.md").write_text("3 lines\n")
    # 11 of 13 weight passes: score 0.846154, below 0.85
    write_spec(tmp_path / "project" / "outcome.yaml", """
        name: summary
        pass_threshold: 0.85
        max_iterations: 1
        criteria:
          - id: summary-written
            weight: 11
            check: {type: contains, in: summary.md, value: "3 lines"}
          - id: has-title
            weight: 2
            check: {type: contains, in: summary.md, value: "# Summary"}
        """)
    task = tmp_path / "project" / "task.yaml"
    task.write_text("name: count\nprompt: Count the lines.\nworkdir: docs\noutcome: outcome.yaml\n")
    return task


def test_run_json_exit_code_matches_the_process(fake_anthropic: FakeAnthropic, tmp_path: Path) -> None:
    task = _failing_outcome_task(tmp_path)
    fake_anthropic.expect(text_reply("3 lines."))
    r = CliRunner().invoke(app, ["--home", str(tmp_path / "home"), "run", str(task), "--yes", "--json"])
    assert r.exit_code == 1
    data = json.loads(r.stdout)
    assert data["exit_code"] == r.exit_code
    # the error line tells a true comparison
    assert "score 0.846 < 0.850" in r.stderr
    assert "0.846, required 0.850" in r.stderr  # the closing line too
    # and the JUnit message of `grade` over the same session
    junit = tmp_path / "grades.xml"
    g = CliRunner().invoke(app, ["--home", str(tmp_path / "home"), "grade", "--last", "1", "--checks-only",
                                 "--junit", str(junit)])
    assert g.exit_code == 1, g.output
    assert "score 0.846 &lt; 0.850" in junit.read_text() or "score 0.846 < 0.850" in junit.read_text()


def test_scores_show_enough_digits() -> None:
    assert score_pair(0.846154, 0.85) == ("0.846", "0.850")
    assert score_pair(0.8499, 0.85) == ("0.8499", "0.8500")
    assert score_pair(0.9, 0.85) == ("0.90", "0.85")
    assert score_text(None) == "-"
    assert score_text(1.0) == "1.00"


def test_version_short_flag() -> None:
    from dreamcli import __version__

    r = CliRunner().invoke(app, ["-V"])
    assert r.exit_code == 0 and r.stdout.strip() == f"dreamcli {__version__}"


@pytest.mark.skipif(shutil.which("dreamcli") is None, reason="entry point not installed")
def test_json_into_a_closed_pipe_exits_quietly(tmp_path: Path) -> None:
    from dreamcli.workspace.home import Workspace
    from tests.support.outcomes import make_session

    ws = Workspace(root=tmp_path / "home", source="option").ensure_layout()
    for _ in range(600):  # ~120 KB of JSON: well over a pipe buffer
        make_session(ws)
    proc = subprocess.Popen(["dreamcli", "--home", str(ws.root), "sessions", "list", "--limit", "600", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()  # what `| head -1` does
    stderr = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert stderr == ""
    assert proc.returncode == 141


def test_the_revision_prompt_tells_a_true_comparison() -> None:
    from types import SimpleNamespace

    from dreamcli.outcomes.revision import RevisionLoop

    loop = SimpleNamespace(spec=SimpleNamespace(name="summary", pass_threshold=0.85), iteration=1, max_iterations=3)
    grade = SimpleNamespace(score=0.846154, criteria=[SimpleNamespace(id="has-title", passed=False, reason="no title")])
    text = RevisionLoop.feedback(loop, grade)  # type: ignore[arg-type]
    assert "score 0.846, required 0.850." in text
