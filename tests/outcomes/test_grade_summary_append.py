"""`grade --summary FILE` appends to FILE ($GITHUB_STEP_SUMMARY holds what the step's earlier commands
wrote): the earlier content and the file's mode are kept, and the whole file stays under the limit."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.outcomes.grading import GradeResult
from dreamcli.outcomes.report import SummaryWriter, Totals
from dreamcli.workspace.home import Workspace
from tests.support.outcomes import CHECKS_SPEC, make_session, write_spec

EARLIER = "## Build step\n\nbuilt in 3 s\n"


def _grade(ws: Workspace, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["--home", str(ws.root), "grade", *args])


def test_grade_appends_to_the_step_summary_and_keeps_its_mode(ws: Workspace, tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "checks.yaml", CHECKS_SPEC)
    make_session(ws)
    make_session(ws)
    step = tmp_path / "step.md"
    step.write_text(EARLIER)
    step.chmod(0o644)
    r = _grade(ws, "--last", "2", "--outcome", str(spec), "--summary", str(step))
    assert r.exit_code == 0, r.output
    text = step.read_text()
    assert text.startswith(EARLIER + "\n## dreamcli grade: 2 session(s)\n"), text
    assert stat.S_IMODE(os.stat(step).st_mode) == 0o644
    # a second grade in the same step appends again
    r = _grade(ws, "--last", "1", "--outcome", str(spec), "--summary", str(step))
    assert r.exit_code == 0, r.output
    again = step.read_text()
    assert again.startswith(text + "\n## dreamcli grade: 1 session(s)\n")
    assert again.count("## dreamcli grade:") == 2 and stat.S_IMODE(os.stat(step).st_mode) == 0o644


def test_a_last_line_without_a_newline_is_not_glued_to_the_heading(tmp_path: Path) -> None:
    path = tmp_path / "s.md"
    path.write_text("earlier, no newline")
    w, totals = SummaryWriter(path), Totals()
    res = GradeResult("S1", "o", "h", "satisfied", 1.0, 1.0)
    totals.add(res)
    w.add(res)
    w.close(totals)
    assert path.read_text().startswith("earlier, no newline\n\n## dreamcli grade: 1 session(s)\n")


def test_a_new_summary_file_is_created(tmp_path: Path) -> None:
    path = tmp_path / "new" / "s.md"
    w, totals = SummaryWriter(path), Totals()
    w.close(totals)
    assert path.read_text().startswith("## dreamcli grade: 0 session(s)\n")


def test_the_rows_leave_room_for_what_the_file_held(tmp_path: Path) -> None:
    path = tmp_path / "s.md"
    earlier = "x" * 9000 + "\n"
    path.write_text(earlier)
    limit = 10_000
    w, totals = SummaryWriter(path, limit=limit), Totals()
    for i in range(100):
        res = GradeResult(f"S{i:05d}", "outcome", "h", "needs_revision", 0.5, 1.0, task="t")
        totals.add(res)
        w.add(res)
    w.close(totals)
    text = path.read_text()
    assert text.startswith(earlier) and "omitted" in text
    rows = [ln for ln in text.splitlines(keepends=True) if ln.startswith("| ❌")]
    assert rows and sum(len(r.encode()) for r in rows) <= limit - len(earlier)


def test_what_others_append_while_grading_runs_counts_too(tmp_path: Path) -> None:
    # the room is measured again when the summary is written: the file stays under 1 MiB
    from dreamcli.outcomes.report import SUMMARY_LIMIT

    path = tmp_path / "s.md"
    w, totals = SummaryWriter(path), Totals()
    for i in range(200):
        res = GradeResult(f"S{i:05d}", "outcome", "h", "needs_revision", 0.5, 1.0, task="t")
        totals.add(res)
        w.add(res)
    path.write_text("y" * (SUMMARY_LIMIT - 2000) + "\n")  # another step wrote meanwhile
    assert w.close(totals) is None
    assert path.stat().st_size <= 1024 * 1024 and "omitted" in path.read_text()[-200:]


def test_a_file_with_no_room_left_gets_nothing_and_a_warning(tmp_path: Path) -> None:
    from dreamcli.outcomes.report import SUMMARY_LIMIT

    path = tmp_path / "s.md"
    w, totals = SummaryWriter(path), Totals()
    full = "z" * (SUMMARY_LIMIT + 10)
    path.write_text(full)
    message = w.close(totals)
    assert message is not None and "no room under 1 MiB" in message
    assert path.read_text() == full
