"""Issue 21, defect 4: valid JSON with wrong types in a session log, and YAML alias bombs or deep
nesting in a task file or outcome spec: skipped and counted (sessions), a clear exit 2 (YAML), never
an internal error."""

from __future__ import annotations

import json
from pathlib import Path

from dreamcli.sessions.reader import read_events, read_first_and_last
from dreamcli.sessions.summary import list_sessions
from dreamcli.sessions.writer import SessionWriter
from dreamcli.workspace.home import Workspace
from tests.support.playbooks import cli

BAD_LINE = {"v": 1, "type": "session.start", "session_id": 5, "seq": "x", "ts": 7}


def _good_session(ws: Workspace) -> Path:
    w = SessionWriter(ws)
    w.start(task={"name": "demo", "prompt": "do it"}, model="m", workdir="/tmp/x")
    w.message("user", "hello")
    w.end("completed", totals={"turns": 1})
    return w.path


def _bad_session(ws: Workspace) -> Path:
    good = _good_session(ws)
    bad = good.with_name("01JD0Q8Z3V6M4T2N8K5R7W9XZZ.jsonl")
    lines = [json.dumps(BAD_LINE), json.dumps({**BAD_LINE, "type": "message", "role": 3, "content": 4}),
             json.dumps({"v": 1, "type": "session.end", "session_id": "X", "seq": 2, "ts": "t",
                         "status": "completed", "totals": {"turns": "many"}})]
    bad.write_text("\n".join(lines) + "\n")
    bad.chmod(0o600)
    return bad


def test_wrong_typed_lines_are_skipped_and_counted(ws: Workspace) -> None:
    bad = _bad_session(ws)
    events, stats = read_events(bad)
    assert events == [] and stats.corrupt == 3
    assert any("wrong type" in p for p in stats.problems)
    assert read_first_and_last(bad) == (None, None)
    assert len(list(list_sessions(ws))) == 1


def test_sessions_list_counts_them_and_strict_fails(ws: Workspace) -> None:
    _bad_session(ws)
    res = cli(ws, "sessions", "list")
    assert res.exit_code == 0, res.output
    assert "internal error" not in res.output
    assert "1 session file skipped" in res.output or "1 session file was skipped" in res.output
    res = cli(ws, "sessions", "list", "--strict")
    assert res.exit_code == 1 and "skipped" in res.output
    res = cli(ws, "sessions", "show", "01JD0Q8Z3V6M4T2N8K5R7W9XZZ")
    assert res.exit_code == 2 and "internal error" not in res.output


def test_dream_all_survives_a_wrong_typed_session(ws: Workspace) -> None:
    _bad_session(ws)
    res = cli(ws, "dream", "--all", "--offline")
    assert res.exit_code == 0, res.output
    assert "internal error" not in res.output


BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)) + \
    "name: *i\nprompt: hi\n"
RECURSIVE = "name: &x [*x]\nprompt: hi\n"
DEEP = "name: " + "[" * 5000 + "]" * 5000 + "\nprompt: hi\n"


def _run_task(ws: Workspace, tmp_path: Path, text: str) -> tuple[int, str]:
    task = tmp_path / "task.yaml"
    task.write_text(text)
    res = cli(ws, "run", str(task))
    return res.exit_code, res.output


def test_yaml_alias_bomb_recursion_and_depth_exit_2(ws: Workspace, tmp_path: Path, no_model) -> None:
    for text in (BOMB, RECURSIVE, DEEP):
        code, out = _run_task(ws, tmp_path, text)
        assert code == 2, out
        assert "internal error" not in out
        assert "task.yaml" in out


def test_outcome_spec_with_an_alias_bomb_is_exit_2(tmp_path: Path) -> None:
    import pytest

    from dreamcli.errors import InputError
    from dreamcli.outcomes.spec import load_spec

    spec = tmp_path / "spec.yaml"
    spec.write_text(BOMB)
    with pytest.raises(InputError) as e:
        load_spec(spec)
    assert e.value.exit_code == 2
