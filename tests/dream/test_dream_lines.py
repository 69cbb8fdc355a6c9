"""Deciding a line's worth from its head (dreamcli.dream.lines): what is decoded lightly, what in full."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dreamcli.dream.aggregates import Aggregates
from dreamcli.dream.lines import is_quiet, maybe_successes, quiet_ts, success_ids
from dreamcli.dream.signals import scan_session
from dreamcli.sessions.reader import ReadStats
from dreamcli.sessions.writer import SessionWriter
from dreamcli.workspace.home import Workspace

ENVELOPE = {"ts": "2026-10-01T10:00:00.000Z", "session_id": "01K0000000000000000000000A", "seq": 3}


def line(etype: str, **fields: Any) -> bytes:
    return json.dumps({"v": 1, "type": etype, **ENVELOPE, **fields}, separators=(",", ":")).encode() + b"\n"


def results(*blocks: dict[str, Any]) -> bytes:
    return line("message", role="user", content=list(blocks))


def ok(tid: str, content: Any = "fine") -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": tid, "is_error": False, "content": content}


def test_successful_results_give_their_ids_without_reading_the_outputs() -> None:
    raw = results(ok("toolu_1", "x" * 5000), ok("toolu_2"))
    assert maybe_successes(raw)
    assert success_ids(raw) == ["toolu_1", "toolu_2"]


def test_lines_that_matter_are_read_in_full() -> None:
    failed = {"type": "tool_result", "tool_use_id": "toolu_3", "is_error": True, "content": "boom"}
    assert success_ids(results(ok("toolu_1"), failed)) is None  # a failure: its message is mined
    assert success_ids(results(ok("toolu_1"), {"type": "text", "text": "no, use pathlib"})) is None  # words
    assert success_ids(results({"type": "tool_result", "tool_use_id": "toolu_1", "content": "?"})) is None
    assert not maybe_successes(line("message", role="user", content="hello"))
    assert not maybe_successes(results(ok("toolu_1"))[:-1])  # a last line cut off mid-write
    nested_text = results(ok("toolu_1", [{"type": "text", "text": "out"}]))
    assert success_ids(nested_text) is None  # a result made of text blocks: as before, read in full


def test_nested_blocks_and_broken_json_are_judged_by_their_bytes_as_before() -> None:
    assert success_ids(results(ok("toolu_1", [{"type": "image", "source": {"data": "AA"}}]))) == ["toolu_1"]
    broken = results(ok("toolu_9")).replace(b"}]}", b"} junk]}")
    assert success_ids(broken) == ["toolu_9"]


def test_quiet_tool_and_subagent_events_give_only_their_time() -> None:
    quiet = line("tool", tool_use_id="toolu_1", name="bash", duration_ms=3.5, exit_code=0, error_kind=None,
                 truncated=False)
    assert is_quiet(quiet_ts(quiet)) and quiet_ts(quiet) == ENVELOPE["ts"]
    sub = line("subagent", event="start", child_session_id="01K0000000000000000000000B")
    assert quiet_ts(sub) == ENVELOPE["ts"]
    for loud in (line("tool", tool_use_id="toolu_1", name="bash", error_kind="exit_nonzero", truncated=False),
                 line("tool", tool_use_id="toolu_1", name="bash", error_kind=None, truncated=True),
                 line("tool", tool_use_id="toolu_1", name="bash", error_kind=None, truncated=False,
                      seq="x"),  # a wrong type: the reader counts it corrupt
                 line("tool", tool_use_id="toolu_1", error_kind=None),  # no name
                 line("message", role="assistant", content="hi")):
        assert not is_quiet(quiet_ts(loud))


def test_a_quiet_tool_event_still_moves_the_session_clock(tmp_path: Path) -> None:
    ws = Workspace(root=tmp_path / "ws", source="option")
    w = SessionWriter(ws)
    w.start(task={"name": "t", "prompt": "p"}, model=None, workdir=None)
    w.message("assistant", [{"type": "tool_use", "id": "tu1", "name": "bash", "input": {"command": "ls"}}])
    w.tool(tool_use_id="tu1", name="bash", ts="2026-10-01T10:00:09.000Z")
    w.close()
    stats = ReadStats()
    info = scan_session(w.path, Aggregates(), playbook="default", stats=stats)
    assert info is not None and info.last_ts == "2026-10-01T10:00:09.000Z"
    assert (stats.lines, stats.events, stats.corrupt) == (3, 3, 0)
