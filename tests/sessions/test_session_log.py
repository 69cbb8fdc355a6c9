"""Session log v1: writer, streaming reader, JSON Schema, summaries, id lookup."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from dreamcli.errors import UsageError
from dreamcli.ids import new_ulid, ulid_at, ulid_time_ms
from dreamcli.sessions.paths import find_session
from dreamcli.sessions.reader import ReadStats, iter_events, read_events, read_last_event
from dreamcli.sessions.schema import schema_path
from dreamcli.sessions.summary import SessionFilter, list_sessions, summarize
from dreamcli.sessions.writer import SessionWriter
from dreamcli.workspace.home import Workspace
from tests.support.paths import REPO

ROOT = REPO


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(Path(schema_path()).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def write_session(ws: Workspace, *, task: str = "demo", status: str = "completed", secret: str = "") -> SessionWriter:
    w = SessionWriter(ws)
    w.start(task={"name": task, "prompt": f"do it {secret}"}, model="claude-sonnet-5-5", workdir="/tmp/x",
            playbooks=[{"playbook": "legal", "version": 2, "entry_ids": ["pb-aaaaaaaa"]}], tags=["t"])
    w.message("user", [{"type": "text", "text": "hello"}])
    w.message("assistant", [{"type": "tool_use", "id": "toolu_1", "name": "bash", "input": {"command": "ls"}}],
              model="claude-sonnet-5-5", stop_reason="tool_use",
              usage={"input_tokens": 10, "output_tokens": 5}, latency_ms=12.5, cost_usd=0.0001)
    w.tool(tool_use_id="toolu_1", name="bash", duration_ms=3.0, exit_code=1, error_kind="exit_nonzero")
    w.message("user", [{"type": "tool_result", "tool_use_id": "toolu_1", "is_error": True, "content": "boom"}])
    w.evaluation(outcome="demo", iteration=1, result="satisfied", explanation="ok", score=1.0,
                 criteria=[{"id": "c1", "passed": True, "reason": "fine"}])
    w.subagent(event="started", child_session_id=new_ulid(), brief="look at logs")
    w.end(status, totals={"turns": 2, "input_tokens": 10, "output_tokens": 5, "cost_usd": 0.0001,
                          "tool_calls": 1, "tool_errors": 1},
          outcome={"result": "satisfied", "score": 1.0, "iterations": 1})
    return w


def test_writer_output_validates_and_is_ordered(bare_ws: Workspace, validator: jsonschema.Draft202012Validator) -> None:
    w = write_session(bare_ws)
    events, stats = read_events(w.path)
    assert stats.skipped == 0 and len(events) == 8
    for e in events:
        validator.validate(e)
    assert [e["seq"] for e in events] == list(range(8))
    assert {e["session_id"] for e in events} == {w.session_id}
    assert events[0]["type"] == "session.start" and events[-1]["type"] == "session.end"
    assert stat.S_IMODE(w.path.stat().st_mode) == 0o600
    # path follows sessions/YYYY/MM/DD/<id>.jsonl from the ULID's time
    assert re.search(r"sessions/\d{4}/\d{2}/\d{2}/" + w.session_id + r"\.jsonl$", str(w.path))


def test_documented_example_validates(validator: jsonschema.Draft202012Validator) -> None:
    doc = (ROOT / "docs" / "session-log.md").read_text()
    block = doc.split("```jsonl", 1)[1].split("```", 1)[0]
    lines = [json.loads(line) for line in block.strip().splitlines()]
    assert len(lines) >= 6
    for e in lines:
        validator.validate(e)


def test_schema_rejects_bad_events(validator: jsonschema.Draft202012Validator) -> None:
    good = {"v": 1, "type": "session.end", "ts": "2026-11-24T00:00:00Z", "session_id": new_ulid(), "seq": 3,
            "status": "completed", "totals": {}}
    validator.validate(good)
    for bad in ({**good, "status": "weird"}, {**good, "seq": -1}, {**good, "v": 2},
                {k: v for k, v in good.items() if k != "ts"}):
        with pytest.raises(jsonschema.ValidationError):
            validator.validate(bad)


def test_secrets_are_redacted_before_disk(bare_ws: Workspace) -> None:
    key = "sk-ant-api03-" + "A1b2C3d4E5f6G7h8I9j0" * 4
    w = write_session(bare_ws, secret=key)
    raw = w.path.read_text()
    assert key not in raw and "[REDACTED" in raw


def test_reader_skips_and_counts_bad_lines(bare_ws: Workspace) -> None:
    w = write_session(bare_ws)
    with open(w.path, "ab") as f:
        f.write(b"this is not json\n")
        f.write(b'{"v": 9, "type": "message", "ts": "x", "session_id": "y", "seq": 99}\n')
        f.write(b'["a list"]\n')
        f.write(b'{"v":1,"type":"message","ts":"2026-11-24T0')  # cut off mid-write
    stats = ReadStats()
    events = list(iter_events(w.path, stats))
    assert len(events) == 8
    assert (stats.corrupt, stats.unsupported, stats.truncated) == (2, 1, 1)
    assert stats.skipped == 4 and stats.problems
    # the last *valid* event is still found from the end
    last = read_last_event(w.path)
    assert last is not None and last["type"] == "session.end"


def test_read_last_event_reads_backwards_across_chunks(bare_ws: Workspace) -> None:
    w = SessionWriter(bare_ws)
    w.start(task={"name": "big", "prompt": "p"}, model=None, workdir=None)
    for i in range(300):
        w.message("user", [{"type": "text", "text": f"line {i} " + "x" * 500}])
    w.end("max_turns", totals={"turns": 300})
    last = read_last_event(w.path, chunk=1024)
    assert last is not None and last["status"] == "max_turns"


def test_killed_writer_leaves_a_valid_prefix(bare_ws: Workspace, tmp_path: Path) -> None:
    script = tmp_path / "writer.py"
    script.write_text(
        "import sys, time\n"
        "from dreamcli.workspace.home import Workspace\n"
        "from dreamcli.sessions.writer import SessionWriter\n"
        f"ws = Workspace(__import__('pathlib').Path({str(bare_ws.root)!r}), 'option')\n"
        "w = SessionWriter(ws)\n"
        "w.start(task={'name': 't', 'prompt': 'p'}, model=None, workdir=None)\n"
        "print(w.path, flush=True)\n"
        "i = 0\n"
        "while True:\n"
        "    w.message('user', [{'type': 'text', 'text': 'x' * 2000 + str(i)}]); i += 1\n"
    )
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    path = Path(proc.stdout.readline().strip())  # type: ignore[union-attr]
    while path.stat().st_size < 200_000:
        pass
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    stats = ReadStats()
    events = list(iter_events(path, stats))
    assert len(events) > 50
    assert stats.corrupt == 0 and stats.truncated <= 1
    assert [e["seq"] for e in events] == list(range(len(events)))
    s = summarize(path)
    assert s is not None and s.status == "incomplete"


def test_summaries_and_filters(bare_ws: Workspace) -> None:
    a = write_session(bare_ws, task="alpha")
    b = write_session(bare_ws, task="beta", status="error")
    rows = list(list_sessions(bare_ws))
    assert [r.session_id for r in rows] == [b.session_id, a.session_id]  # newest first
    assert rows[0].status == "error" and rows[1].turns == 2 and rows[1].tokens == 15
    assert rows[1].outcome == "satisfied"
    assert [r.task for r in list_sessions(bare_ws, SessionFilter(task="alpha"))] == ["alpha"]
    assert [r.task for r in list_sessions(bare_ws, SessionFilter(status="error"))] == ["beta"]
    assert len(list(list_sessions(bare_ws, limit=1))) == 1


def test_find_session_by_prefix(bare_ws: Workspace) -> None:
    a = write_session(bare_ws)
    assert find_session(bare_ws, a.session_id) == a.path
    assert find_session(bare_ws, a.session_id.lower()[:20]) == a.path
    b = write_session(bare_ws)
    n = next(i for i, (x, y) in enumerate(zip(a.session_id, b.session_id, strict=True)) if x != y)
    common = a.session_id[:n]
    with pytest.raises(UsageError, match="ambiguous"):
        find_session(bare_ws, common)
    with pytest.raises(UsageError, match="no session matches"):
        find_session(bare_ws, "ZZZZZZ")


def test_ulids_are_monotonic_and_carry_time() -> None:
    ids = [new_ulid() for _ in range(2000)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(len(i) == 26 for i in ids)
    assert ulid_time_ms(ids[-1]) >= ulid_time_ms(ids[0])
    fixed = ulid_at(1_700_000_000_000, b"0123456789")
    assert ulid_time_ms(fixed) == 1_700_000_000_000 and fixed == ulid_at(1_700_000_000_000, b"0123456789")
    assert fixed != ulid_at(1_700_000_000_000, b"0123456780")
