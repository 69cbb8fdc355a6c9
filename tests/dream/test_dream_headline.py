"""The dream's one-line summary tells the truth about what was held back: "Nothing recurred often enough
to propose." only when nothing did; when patterns recurred but were not proposed (conflicting corrections,
a candidate still awaiting review, ...) the terminal, report.md and --json say how many, by reason
(acceptance defect: a cron log said "Nothing recurred" while the report listed a conflict). A dream that
proposes something says so too, on a line of its own, and dream.log adds `held=N`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.workspace.home import Workspace
from tests.dream.correction_sessions import correction_session

pytestmark = pytest.mark.usefixtures("no_model")  # dreams run offline

ALWAYS = ["No, always cite the page number for each clause.", "Always cite the page number, please.",
          "Again, cite the page number for every clause."]
NEVER = ["Don't cite the page number for each clause; cite the section number.",
         "Never cite the page number, cite the section.",
         "No page numbers please, cite the section number for every clause."]
NOTHING = "Nothing recurred often enough to propose."


def _home(tmp_path: Path, corrections: list[str]) -> Path:
    ws = Workspace(root=tmp_path / "ws", source="option").ensure_layout()
    for text in corrections:
        correction_session(ws, text)
    return ws.root


def _dream(home: Path, *args: str):
    r = CliRunner().invoke(app, ["--home", str(home), "dream", "--offline", *args], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r


def _report(home: Path, stdout_json: str) -> str:
    return Path(json.loads(stdout_json)["report_path"]).read_text()


def test_conflicting_corrections_are_counted_not_called_nothing(tmp_path: Path) -> None:
    home = _home(tmp_path, ALWAYS + NEVER)
    r = _dream(home)
    line = "1 pattern recurred but was not proposed (1 conflicting)."
    assert line in r.stderr.splitlines() and NOTHING not in r.stderr
    assert all(len(x) <= 80 for x in r.stderr.splitlines() if not x.startswith("  /"))  # a path is kept whole
    (dream_dir,) = (home / "dreams").iterdir()
    report = (dream_dir / "report.md").read_text()
    assert NOTHING not in report
    assert f"{line} Nothing changes; see \"Not proposed\" below." in report.splitlines()
    assert json.loads((dream_dir / "dream.json").read_text())["stats"]["not_proposed"] == {"conflicting": 1}


def test_a_candidate_awaiting_review_is_counted_by_a_dream_over_all_sessions(tmp_path: Path) -> None:
    home = _home(tmp_path, ALWAYS)
    first = _dream(home, "--json")
    assert json.loads(first.stdout)["status"] == "pending"
    assert json.loads(first.stdout)["stats"]["not_proposed"] == {}
    again = _dream(home, "--all", "--json")
    data = json.loads(again.stdout)
    assert data["status"] == "empty" and data["operations"] == []
    assert data["stats"]["not_proposed"] == {"awaiting_review": 1}
    report = _report(home, again.stdout)
    assert "1 pattern recurred but was not proposed (1 awaiting review)." in report and NOTHING not in report
    text = _dream(home, "--all")
    assert "1 pattern recurred but was not proposed (1 awaiting review)." in text.stderr.splitlines()
    assert NOTHING not in text.stderr


def test_nothing_recurred_is_said_only_when_true(tmp_path: Path) -> None:
    said_once = [ALWAYS[0], NEVER[1]]  # nothing recurs
    r = _dream(_home(tmp_path / "a", said_once), "--json")
    data = json.loads(r.stdout)
    assert data["operations"] == [] and data["stats"]["not_proposed"] == {}
    assert f"{NOTHING} Nothing changes." in _report(tmp_path / "a", r.stdout).splitlines()
    assert NOTHING in _dream(_home(tmp_path / "b", said_once)).stderr.splitlines()


def test_the_line_counts_each_reason_in_a_fixed_order_within_80_columns() -> None:
    from dreamcli.dream.report import not_proposed_counts, not_proposed_line

    reasons = [("a", "awaiting_review"), ("b", "conflicting"), ("c", "awaiting_review"), ("c", "awaiting_review")]
    dropped = [{"key": k, "why": "x", "reason": r} for k, r in reasons]
    dropped.append({"key": "d", "why": "x"})  # a duplicate key counts once; no reason: "other"
    counts = not_proposed_counts(dropped)
    assert counts == {"conflicting": 1, "awaiting_review": 2, "other": 1}
    assert list(counts) == ["conflicting", "awaiting_review", "other"]
    line = not_proposed_line(counts)
    assert line == "4 patterns recurred but were not proposed (1 conflicting, 2 awaiting review, 1 other)."
    assert not_proposed_line({}) is None
    two = not_proposed_line({"conflicting": 1, "awaiting_review": 1})
    assert two == "2 patterns recurred but were not proposed (1 conflicting, 1 awaiting review)."
    assert len(two) <= 80


CSV = ["No, always write the csv files as UTF-8.", "Always write the csv files as UTF-8, please."]
HELD = "1 pattern recurred but was not proposed (1 conflicting)."


def _log(home: Path) -> list[str]:
    return (home / "state" / "logs" / "dream.log").read_text().splitlines()


def test_a_dream_that_proposes_also_counts_what_it_held_back(tmp_path: Path) -> None:
    home = _home(tmp_path, ALWAYS + NEVER + CSV)  # the csv correction is proposed, the page one conflicts
    dry = _dream(home, "--dry-run")
    assert HELD in dry.stderr.splitlines()
    r = _dream(home)
    lines = r.stderr.splitlines()
    proposed = next(i for i, x in enumerate(lines) if x.startswith("Proposed 1 operations"))
    assert HELD in lines[proposed:proposed + 3] and NOTHING not in r.stderr  # the Proposed line may wrap
    assert len(HELD) <= 80  # one line of its own, whole (the commands to copy after it are kept whole too)
    (dream_dir,) = (home / "dreams").iterdir()
    report = (dream_dir / "report.md").read_text().splitlines()
    at = report.index("**Proposed:** 1 new entry.")
    assert report[at + 1:at + 4] == ["", HELD, ""]
    assert json.loads((dream_dir / "dream.json").read_text())["stats"]["not_proposed"] == {"conflicting": 1}
    (line,) = _log(home)
    assert " ops=1 status=pending held=1 " in line


def test_the_log_line_counts_held_back_patterns_only_when_there_are_some(tmp_path: Path) -> None:
    held = _home(tmp_path / "a", ALWAYS + NEVER)
    _dream(held)
    assert " ops=0 status=empty held=1 " in _log(held)[0]
    proposed = _home(tmp_path / "b", CSV)
    r = _dream(proposed)
    assert "recurred but" not in r.stderr
    (dream_dir,) = (proposed / "dreams").iterdir()
    assert "recurred but" not in (dream_dir / "report.md").read_text()
    assert " ops=1 status=pending offline=" in _log(proposed)[0] and "held=" not in _log(proposed)[0]
