"""A session whose workdir is not a folder here (moved, removed, or another machine's: the bundled samples'
`/home/ana/…`) has every check that reads the workdir say so. It said `summary.md does not exist` (a
`file_exists` check failed as if the run had not written it) or `summary.md: not found`, and the tour's
grade of the samples read as eleven failed runs. Checks of the answer and of the totals still run."""

from __future__ import annotations

from pathlib import Path

from dreamcli.outcomes.checks import run_check
from dreamcli.outcomes.evidence import RunView
from dreamcli.outcomes.spec import Check


def _run(workdir: str | None) -> RunView:
    return RunView(session_id="01M64XSYBDF84WRFFW93BKJR9C", final_answer="done: summary.md written",
                   workdir=workdir, turns=3)


def _check(**fields: object) -> Check:
    return Check.model_validate(fields)


def test_checks_that_read_the_workdir_say_it_is_not_here(tmp_path: Path) -> None:
    gone = str(tmp_path / "elsewhere")
    for check in (_check(type="file_exists", **{"in": "summary.md"}),
                  _check(type="contains", value="# Termination", **{"in": "summary.md"}),
                  _check(type="regex", value="x+", **{"in": "summary.md"}),
                  _check(type="command", run="true"),
                  _check(type="file_exists", negate=True, **{"in": "summary.md"})):
        passed, reason, evidence = run_check(check, _run(gone))
        assert passed is False and evidence == "", check
        assert reason.endswith(f"the session's workdir {gone} is not here (moved, removed, or another "
                               "machine's): cannot check"), (check, reason)


def test_the_answer_and_the_totals_are_still_checked(tmp_path: Path) -> None:
    gone = str(tmp_path / "elsewhere")
    assert run_check(_check(type="contains", value="summary.md", **{"in": "answer"}), _run(gone))[0] is True
    assert run_check(_check(type="max_turns", value=5), _run(gone))[0] is True


def test_a_workdir_that_is_here_is_read(tmp_path: Path) -> None:
    (tmp_path / "summary.md").write_text("# Termination clauses\n")
    passed, reason, _ = run_check(_check(type="file_exists", **{"in": "summary.md"}), _run(str(tmp_path)))
    assert passed is True and reason == "summary.md exists"
    passed, reason, _ = run_check(_check(type="file_exists", **{"in": "other.md"}), _run(str(tmp_path)))
    assert passed is False and reason == "other.md: not found"
