"""Untrusted text that reached the terminal raw: a pilot task's name, a workspace path (`init`,
`schedule show`, `config show`), a bidi override in a session (`sessions show`), and the other views
that print a name, a path or text from files."""

from __future__ import annotations

import io
import os
import re
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.ui import console

EVIL = "x\x1b]0;PWNED\x07\x1b[31mred"


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _no_raw_controls(text: str) -> None:
    """No control character but newline survives (Rich's own colour codes aside), nor a bidi override."""
    bare = re.sub(r"\x1b\[[0-9;]*m", "", text)
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", bare), repr(bare)


def test_neutralise_controls_shows_bidi_overrides() -> None:
    assert console.neutralise_controls("abc\u202edcba") == "abc\\u202edcba"
    assert console.neutralise_controls("\u2066x\u2069", one_line=True) == "\\u2066x\\u2069"
    assert console.neutralise_controls("שלום, مرحبا") == "שלום, مرحبا"  # right-to-left letters stay


def _pilot_view(monkeypatch: pytest.MonkeyPatch) -> Any:
    from dreamcli.ui.pilot_view import PilotView

    monkeypatch.setenv("NO_COLOR", "1")
    arm = SimpleNamespace(name="candidate")
    prep = SimpleNamespace(plan=SimpleNamespace(arms=[arm]), done={},
                           todo=[SimpleNamespace(arm=arm)])
    return PilotView(prep), arm  # type: ignore[arg-type]


def test_pilot_progress_line_neutralises_the_task_name(monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    view, arm = _pilot_view(monkeypatch)
    ref = SimpleNamespace(arm=arm, task=SimpleNamespace(label=EVIL), index=0)
    view.trial_done(ref, {"passed": True, "scored": True, "outcome": "satisfied\x1b[2J", "cost_usd": 0.01,
                          "wall_s": 1.0})
    err = capsys.readouterr().err
    _no_raw_controls(err)
    assert "\\x1b]0;PWNED" in err and err.count("\n") == 1


def test_pilot_plan_and_result_neutralise_names(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from dreamcli.ui.pilot_view import render_plan, render_result

    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setattr(console, "_cache", {})
    plan = SimpleNamespace(arms=[SimpleNamespace(name=f"without:{EVIL}")], dream_id="D\x1b[2J", playbook=EVIL,
                           entry_ids=[EVIL], tasks=[1], trials=1)
    est = SimpleNamespace(basis={"a": "b"}, total_usd=0.0, trials=1)
    render_plan(SimpleNamespace(plan=plan, estimate=est, pilot_id="P", resumed=0, todo=[],  # type: ignore[arg-type]
                                warnings=[EVIL]), parallel=1, max_cost=None)
    lift = {"delta": 0.1, "ci95": [0.0, 0.2], "p_value": 0.5, "pairs": 2, "verdict": EVIL,
            "discordant": {"baseline_only": 0, "candidate_only": 1}}
    arm = {"name": f"without:{EVIL} [bold]", "passed": 1, "trials": 1, "ci95": [0.0, 1.0], "pass_rate": 1.0,
           "score_mean": None, "cost_usd_per_trial": None, "tokens_per_trial": None, "turns_per_trial": None,
           "wall_s_per_trial": None}
    render_result({"tasks": [1], "pilot_id": "P\x1b[2J", "dream_id": EVIL, "entries": [EVIL], "trials": 1,
                   "arms": [arm], "deltas": {"cost_usd": None, "tokens": None, "turns": None, "wall_s": None},
                   "lift": lift, "score": {"delta": None},
                   "per_entry": {EVIL: {"lift": {"delta": 0.0, "ci95": [0.0, 0.0], "p_value": 1.0}}},
                   "cost": {"total_usd": 0.0, "this_run_usd": 0.0}, "path": f"/tmp/{EVIL}"})
    captured = capsys.readouterr()
    _no_raw_controls(captured.err)
    _no_raw_controls(captured.out)
    assert "[bold]" in captured.out  # an arm name is not read as markup


@pytest.fixture
def evil_dir(tmp_path: Path) -> Path:
    d = tmp_path / "ev\x1b]0;PWNED\x07"
    d.mkdir()
    return d


def test_init_prints_a_workspace_path_neutralised(evil_dir: Path) -> None:
    r = CliRunner().invoke(app, ["init", str(evil_dir), "--with-samples"], env={"NO_COLOR": "1"})
    assert r.exit_code == 0, r.output
    _no_raw_controls(r.output)
    assert "ev\\x1b]0;PWNED\\x07" in r.output


def test_schedule_show_prints_a_workspace_path_neutralised(evil_dir: Path, tmp_path: Path) -> None:
    assert CliRunner().invoke(app, ["init", str(evil_dir)]).exit_code == 0
    r = CliRunner().invoke(app, ["--home", str(evil_dir / ".dreamcli"), "schedule", "show"],
                           env={"NO_COLOR": "1", "PATH": str(tmp_path / "nobin"), "HOME": str(tmp_path)})
    assert r.exit_code == 0, r.output
    _no_raw_controls(r.output)
    assert "PWNED" in r.output


def test_config_show_prints_a_workspace_path_neutralised(evil_dir: Path) -> None:
    assert CliRunner().invoke(app, ["init", str(evil_dir)]).exit_code == 0
    r = CliRunner().invoke(app, ["--home", str(evil_dir / ".dreamcli"), "config", "show"],
                           env={"NO_COLOR": "1", "DREAMCLI_CONFIG": ""})
    assert r.exit_code == 0, r.output
    _no_raw_controls(r.output)
    assert "# workspace: " in r.output and "PWNED" in r.output


@pytest.mark.parametrize("tty", [True, False])
def test_sessions_show_neutralises_a_bidi_override(tty: bool, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from dreamcli.ui.sessions_view import render_transcript

    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setattr(console, "_cache", {})
    stream = None
    if tty:
        monkeypatch.delenv("NO_COLOR", raising=False)
        stream = _Tty()
        monkeypatch.setattr(sys, "stdout", stream)
    events = [{"type": "session.start", "session_id": "S", "ts": "t", "source": "run",
               "task": {"name": "t\u202eab"}, "workdir": "/w\u2066"},
              {"type": "message", "role": "user", "content": [{"type": "text", "text": "pay \u202e0001$ now"}]}]
    render_transcript(events, SimpleNamespace(skipped=0), [], [])
    text = stream.getvalue() if stream is not None else capsys.readouterr().out
    _no_raw_controls(text)
    assert "\\u202e0001$" in text


def test_dream_review_command_neutralises_the_home(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from dreamcli.ui.dream_view import render_result

    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setattr(console, "_cache", {})
    op = SimpleNamespace(to_json=lambda: {"op": "add", "entry_id": "e1", "text": "t", "section": "s"})
    result = SimpleNamespace(status="proposed", playbook="p", dream={"inputs": {}, "usage": {}, "offline": True},
                             operations=[op], path=Path("/tmp/d"), dream_id="D")
    render_result(result, cmd=f"dreamcli --home /tmp/{EVIL}")
    _no_raw_controls(capsys.readouterr().err)


def test_grade_table_neutralises_ids_and_results(monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from dreamcli.ui.grade_view import render_results

    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setattr(console, "_cache", {})
    row = SimpleNamespace(session_id=f"S{EVIL}[/]", task="t", outcome="o", result=f"odd{EVIL}[/]", score=0.5,
                          threshold=0.8, failing=[], error=None, skipped=[], flaky=[])
    render_results([row], SimpleNamespace(line=lambda: f"1 graded {EVIL}"))
    captured = capsys.readouterr()
    _no_raw_controls(captured.out + captured.err)


def test_info_and_note_neutralise_what_they_quote(monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setattr(console, "_cache", {})
    console.info(f"Created workspace: /tmp/{EVIL}")
    console.note(f"Trusted in /tmp/{EVIL}")
    err = capsys.readouterr().err
    _no_raw_controls(err)
    assert os.linesep not in err.splitlines()[0]
