"""`export sessions --format parquet` keeps what it can and says what it leaves out. Before: a session whose
`session.start` had wrong types was missing whole, bad lines vanished without a word (while `sessions list`
and `dream` say what they skip), and one lone surrogate escape (`"\\ud800"`, a cut emoji another tool wrote)
stopped every export of the workspace, or of the bucket, with an internal UnicodeEncodeError."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.ids import ulid_at
from dreamcli.sessions.paths import session_path
from dreamcli.workspace.home import Workspace

pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow is not installed (pip install '.[parquet]')")

TS = "2026-12-07T10:00:00.000Z"


def _sid(n: int) -> str:
    return ulid_at(1_796_637_600_000 + n * 1000, n.to_bytes(10, "big"))


def _line(sid: str, seq: Any, etype: str, **fields: Any) -> str:
    return json.dumps({"v": 1, "type": etype, "ts": TS, "session_id": sid, "seq": seq, **fields})


def _write(ws: Workspace, sid: str, lines: list[str], *, end: str = "\n") -> Path:
    path = session_path(ws, sid)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + end, encoding="utf-8")
    return path


def _start(sid: str, **fields: Any) -> str:
    return _line(sid, 0, "session.start", **{"task": {"name": "odd", "prompt": "p"}, "tags": [], "source": "dreamcli",
                                             **fields})


def _export(ws: Workspace, out: Path, *args: str) -> Any:
    r = CliRunner().invoke(app, ["--home", str(ws.root), "export", "sessions", "--format", "parquet", str(out),
                                 *args])
    assert r.exit_code == 0, r.output
    return r


def _rows(out: Path, sid: str) -> list[dict[str, Any]]:
    return [r for r in pq.read_table(out).to_pylist() if r["session_id"] == sid]


def test_wrong_typed_lines_are_rows_and_what_is_left_out_is_counted(ws: Workspace, tmp_path: Path) -> None:
    typed, bad, empty = _sid(1), _sid(2), _sid(3)
    _write(ws, typed, [_start(typed, tags="notalist", task="plain string", model=5),
                       _line(typed, "1", "message", role="assistant", content="hi", usage="many"),
                       _line(typed, 2, "session.end", status=None)])
    bad_file = _write(ws, bad, [_start(bad), "{not json", "[1, 2]", json.dumps({"v": 1, "seq": 2}),
                                _line(bad, 3, "message", role="user", content="new").replace('"v": 1', '"v": 99'),
                                "[" * 5000 + "]" * 5000, _line(bad, 4, "session.end", status="completed"),
                                '{"v": 1, "type": "mess'], end="")
    _write(ws, empty, ["nothing an export can read"])

    got = json.loads(_export(ws, tmp_path / "lake", "--json").stdout)
    assert (got["sessions"], got["events"]) == (2, 5)
    assert got["left_out"] == {"sessions": 1, "lines": 7, "example": f"{bad_file}:2",
                               "lines_by_reason": {"corrupt": 5, "truncated": 1, "unsupported": 1}}

    by_type = {r["type"]: r for r in _rows(tmp_path / "lake", typed)}
    start, message, end = by_type["session.start"], by_type["message"], by_type["session.end"]
    assert (start["type"], start["model"], start["task"], start["tags"]) == ("session.start", None, None, None)
    assert '"tags":"notalist"' in start["event"] and '"model":5' in start["event"]  # the value stays in `event`
    assert (message["type"], message["seq"], message["role"]) == ("message", None, "assistant")
    assert (end["type"], end["seq"], end["session_status"]) == ("session.end", 2, "incomplete")
    assert [r["type"] for r in sorted(_rows(tmp_path / "lake", bad), key=lambda r: r["seq"])] == \
        ["session.start", "session.end"]

    r = _export(ws, tmp_path / "lake2")  # said on stderr too, with a place to look
    assert r.stderr.splitlines()[-1] == (
        "note: left out of the dataset: 7 lines (5 not JSON or not an event, 1 cut off at the end, 1 of a newer "
        f"schema version); 1 session with no event to export, e.g. {bad_file}:2")


def test_a_clean_export_says_nothing_more(ws: Workspace, tmp_path: Path) -> None:
    sid = _sid(1)
    _write(ws, sid, [_start(sid), _line(sid, 1, "session.end", status="completed")])
    r = _export(ws, tmp_path / "lake")
    assert "note:" not in r.stderr and r.stderr.startswith("Exported 2 events of 1 sessions")
    got = json.loads(_export(ws, tmp_path / "lake2", "--json").stdout)
    assert got["left_out"] == {"sessions": 0, "lines": 0, "example": None,
                               "lines_by_reason": {"corrupt": 0, "truncated": 0, "unsupported": 0}}


START, MESSAGE, END = ('"v":1,"type":"session.start","seq":0,"task":{"name":"\\ud800lone","prompt":"p"},'
                       '"tags":["a\\udfff"],"source":"dreamcli"',
                       '"v":1,"type":"message","seq":1,"role":"user","content":"x\\udfff","cost_usd":NaN',
                       '"v":1,"type":"session.end","seq":2,"status":"completed"')
LONE = ["{" + fields + f',"ts":"{TS}","session_id":"SID"}}' for fields in (START, MESSAGE, END)]


def _assert_replaced(out: Path, sid: str) -> None:
    rows = sorted(_rows(out, sid), key=lambda r: r["seq"])
    assert [r["seq"] for r in rows] == [0, 1, 2]
    assert rows[0]["task"] == "\ufffdlone" and rows[0]["tags"] == ["a\ufffd"]
    assert json.loads(rows[1]["event"]) == {"v": 1, "type": "message", "ts": TS, "session_id": sid, "seq": 1,
                                            "role": "user", "content": "x\ufffd", "cost_usd": None}


def test_a_lone_surrogate_escape_is_written_as_the_replacement_character(ws: Workspace, tmp_path: Path) -> None:
    sid = _sid(4)
    _write(ws, sid, [line.replace("SID", sid) for line in LONE])
    got = json.loads(_export(ws, tmp_path / "lake", "--json").stdout)
    assert (got["sessions"], got["events"], got["left_out"]["lines"]) == (1, 3, 0)
    _assert_replaced(tmp_path / "lake", sid)


def test_a_lone_surrogate_in_the_bucket_is_written_as_the_replacement_character(tmp_path: Path, s3_env: str) -> None:
    """Read from the bucket by a workspace with no file of it, with a line left out: named by id."""
    from dreamcli.portability.arrivals import send_waiting
    from dreamcli.store.uploads import mark_waiting

    runner, dreamer = (Workspace(tmp_path / name, "option").ensure_layout() for name in ("runner", "dreamer"))
    for w in (runner, dreamer):
        w.config_path.write_text(f"sessions:\n  url: {json.dumps(s3_env)}\n")
    sid = _sid(5)
    _write(runner, sid, [LONE[0].replace("SID", sid), "{cut", *(line.replace("SID", sid) for line in LONE[1:])])
    mark_waiting(runner.sessions_dir, sid)
    assert send_waiting(runner, s3_env).sent == [sid]

    got = json.loads(_export(dreamer, tmp_path / "lake", "--json").stdout)
    assert (got["sessions"], got["events"]) == (1, 3)
    assert got["left_out"]["lines"] == 1 and got["left_out"]["example"] == f"{sid} in the bucket:2"
    _assert_replaced(tmp_path / "lake", sid)
