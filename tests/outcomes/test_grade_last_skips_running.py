"""`grade --last N`, `--since` and `--task` leave out sessions that look still running (no session.end, active in
the last 30 minutes: the rule a dream defers them by, `dreamcli.sessions.running`). Acceptance finding: a CI
step's `grade --last 1` run alongside a 15 s `dreamcli run` graded that run `failed` (no session.end yet),
stored it and exited 1, while the run went on to succeed. A session named by id is graded all the same, with a
warning (docs/outcomes.md)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.dream.aggregates import Aggregates
from dreamcli.dream.signals import scan_session
from dreamcli.outcomes.store import iter_grades
from dreamcli.sessions import running as running_module
from dreamcli.sessions.paths import find_session
from dreamcli.sessions.reader import ReadStats
from dreamcli.sessions.running import FUTURE_SKEW_S, RUNNING_GRACE_S, still_running
from dreamcli.sessions.writer import SessionWriter
from dreamcli.workspace.home import Workspace
from tests.support.outcomes import CHECKS_SPEC, write_spec

BIG = 2_000_000  # a logged image: past what a look at a log's last lines reads (16 x 64 KB)


def iso(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def session(ws: Workspace, spec: Path, *, ended: bool = True, ago: float = 0.0, big: bool = False) -> str:
    """A session whose every line was written `ago` seconds before now (a negative `ago`: in the future, a clock
    ahead); without `ended`, no session.end. `big`: it goes on with a 2 MB tool result (a screenshot read), the
    last line unless it ended."""
    ts = iso(datetime.now(UTC) - timedelta(seconds=ago))
    w = SessionWriter(ws)
    w.start(task={"name": "contract-review", "prompt": "Sum up.", "outcome": str(spec)},
            model="claude-sonnet-5-5", workdir=None, ts=ts)
    w.message("user", [{"type": "text", "text": "Sum up."}], ts=ts)
    w.message("assistant", [{"type": "text", "text": "Done: 3 clauses." if ended else "Reading..."}], ts=ts,
              stop_reason="end_turn")
    if big:
        w.message("assistant", [{"type": "tool_use", "id": "tu1", "name": "view", "input": {"path": "s.png"}}],
                  ts=ts)
        w.message("user", [{"type": "tool_result", "tool_use_id": "tu1", "content": "A" * BIG}], ts=ts)
    if ended:
        w.end("completed", totals={"turns": 1, "cost_usd": 0.01}, ts=ts)
    else:
        w.close()
    return w.session_id


def grade(ws: Workspace, *args: str) -> Any:
    return CliRunner().invoke(app, ["--home", str(ws.root), "grade", *args])


def graded(r: Any) -> list[str]:
    return [x["session_id"] for x in json.loads(r.stdout)["results"]]


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    return write_spec(tmp_path / "checks.yaml", CHECKS_SPEC)


def test_last_1_grades_the_newest_finished_session_not_the_running_one(ws: Workspace, spec: Path) -> None:
    done = session(ws, spec)
    running = session(ws, spec, ended=False)
    r = grade(ws, "--last", "1", "--json")
    assert r.exit_code == 0, r.output
    assert graded(r) == [done]
    assert json.loads(r.stdout)["skipped_running"] == [running]
    assert "left out 1 session(s) still running" in r.stderr
    assert [g["session_id"] for g in iter_grades(ws)] == [done]  # no `failed` grade stored for the running one


def test_since_and_task_leave_it_out_too(ws: Workspace, spec: Path) -> None:
    done = session(ws, spec)
    running = session(ws, spec, ended=False)
    for args in (["--since", "7d"], ["--task", "contract-review"]):
        r = grade(ws, *args, "--json")
        assert r.exit_code == 0, r.output
        assert graded(r) == [done] and json.loads(r.stdout)["skipped_running"] == [running]


def test_a_session_quiet_for_longer_than_the_grace_is_graded_failed_as_before(ws: Workspace, spec: Path) -> None:
    """Killed, not running: no session.end and nothing written for 31 minutes is a failure, as the docs say."""
    killed = session(ws, spec, ended=False, ago=RUNNING_GRACE_S + 60)
    r = grade(ws, "--last", "1", "--json")
    assert r.exit_code == 1, r.output
    assert graded(r) == [killed] and json.loads(r.stdout)["results"][0]["result"] == "failed"
    assert json.loads(r.stdout)["skipped_running"] == [] and "still running" not in r.stderr


def test_a_running_session_named_by_id_is_graded_with_a_warning(ws: Workspace, spec: Path) -> None:
    session(ws, spec)
    running = session(ws, spec, ended=False)
    r = grade(ws, running, "--json")
    assert r.exit_code == 1, r.output
    assert graded(r) == [running]
    assert f"session {running} looks still running" in r.stderr
    assert len([ln for ln in r.stderr.splitlines() if "still running" in ln]) == 1
    assert json.loads(r.stdout)["skipped_running"] == []


def test_only_running_sessions_is_nothing_to_grade(ws: Workspace, spec: Path) -> None:
    session(ws, spec, ended=False)
    r = grade(ws, "--last", "5")
    assert r.exit_code == 2
    assert r.stderr.strip() == ("error: no sessions to grade match the selection (1 session(s) still running left "
                                "out: name one by id to grade it)")
    assert list(iter_grades(ws)) == []


@pytest.mark.parametrize("big", [False, True], ids=["", "2MB-last-line"])
@pytest.mark.parametrize("ago", [-3 * 86400, -FUTURE_SKEW_S - 60, -60, 0, 60, RUNNING_GRACE_S - 60,
                                 RUNNING_GRACE_S + 60, 86400])
@pytest.mark.parametrize("ended", [True, False])
def test_grade_and_dream_agree_on_what_is_still_running(ws: Workspace, spec: Path, ago: int, ended: bool,
                                                        big: bool) -> None:
    """One rule: the dream defers exactly the sessions `grade` leaves out, whatever the length of the last line
    (review finding: `grade` graded a running session whose last line was a 2 MB tool result `failed`), and a
    last event more than FUTURE_SKEW_S ahead of now (a clock set wrong) is not activity: such a session would
    otherwise count as running until the clock caught up, days perhaps."""
    path = find_session(ws, session(ws, spec, ended=ended, ago=ago, big=big))
    now = datetime.now(UTC)
    info = scan_session(path, Aggregates(), playbook="default", stats=ReadStats(), now=now)
    assert info is not None
    assert still_running(path, now) is info.deferred is (not ended and -FUTURE_SKEW_S <= ago < RUNNING_GRACE_S)


def test_last_1_leaves_out_a_running_session_whose_last_line_is_2_mb(ws: Workspace, spec: Path) -> None:
    done = session(ws, spec)
    running = session(ws, spec, ended=False, big=True)
    r = grade(ws, "--last", "1", "--json")
    assert r.exit_code == 0, r.output
    assert graded(r) == [done] and json.loads(r.stdout)["skipped_running"] == [running]


def test_a_last_line_too_long_to_read_back_is_judged_by_the_time_the_file_was_written(
        ws: Workspace, spec: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past LONG_LINE_MAX no event is decoded from the end: running when the file was written within the grace
    (a session ends with a short session.end line, never a long one)."""
    monkeypatch.setattr(running_module, "LONG_LINE_MAX", BIG // 2)
    path = find_session(ws, session(ws, spec, ended=False, big=True))
    now = datetime.now(UTC)
    assert still_running(path, now)
    old = now.timestamp() - RUNNING_GRACE_S - 60
    os.utime(path, (old, old))
    assert not still_running(path, now)
