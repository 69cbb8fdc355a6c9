"""Deciding a line's worth from its head (dreamcli.dream.lines): what is decoded lightly, what in full."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as hs

from dreamcli.dream.aggregates import Aggregates
from dreamcli.dream.lines import is_quiet, maybe_successes, message_event, quiet_ts, success_ids
from dreamcli.dream.signals import scan_session
from dreamcli.sessions.reader import ReadStats, parse_line
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


def agrees_with_the_reader(raw: bytes) -> dict[str, Any] | None:
    """message_event takes a line only when the reader takes it too, with the same values."""
    typed, full = message_event(raw), parse_line(raw)
    if typed is not None:
        assert full is not None, raw
        for key, value in typed.items():
            assert full[key] == value and type(full[key]) in (type(value), int), (key, raw)
    return typed


def test_a_message_is_typed_in_one_pass_with_what_the_signals_read() -> None:
    raw = line("message", role="user", content=[{"type": "text", "text": "no, use pathlib"}], cost_usd=0.5,
               origin="harness", usage={"input_tokens": 3}, model=None, extra={"kept": "by the reader only"})
    assert agrees_with_the_reader(raw) == {"v": 1, "type": "message", "role": "user", "ts": ENVELOPE["ts"],
                                           "seq": 3, "cost_usd": 0.5, "origin": "harness",
                                           "content": [{"type": "text", "text": "no, use pathlib"}]}


def test_what_the_reader_refuses_is_left_to_the_reader() -> None:
    refused = [
        line("message", role="user", content="x", seq="3"),  # the envelope's types
        line("message", role="user", content="x", usage={"output_tokens": "12"}),
        line("message", role="user", content="x", totals={"cost_usd": "1"}),  # checked on any event
        line("message", role="user", content=[{"text": "a block without its type"}]),
        line("message", role="user", content=["not a block"]),
        line("message", role="user"),  # no content
        line("message", role="user", content="x", cost_usd=True),
        line("message", role="user", content="x")[:-2] + b',"v":2}\n',  # a duplicate key: the last one counts
        b'{"v":1,"type":"message","role":"user","content":"x","cost_usd":NaN}\n',  # the reader's own fallback
        b'{"v":1,"type":"message","role":"user","content":"x"',  # cut off
    ]
    for raw in refused:
        assert message_event(raw) is None, raw
    assert [parse_line(raw) is None for raw in refused] == [True] * 8 + [False, True]


_VALUES = hs.one_of(hs.none(), hs.booleans(), hs.integers(-5, 5), hs.floats(allow_nan=False), hs.text(max_size=4),
                    hs.lists(hs.integers(), max_size=2), hs.dictionaries(hs.sampled_from(["type", "input_tokens"]),
                                                                         hs.integers() | hs.text(max_size=2)))
_FIELDS = ["role", "content", "ts", "session_id", "seq", "model", "stop_reason", "usage", "latency_ms", "cost_usd",
           "origin", "totals", "v", "type"]


@settings(max_examples=300, deadline=None)
@given(hs.dictionaries(hs.sampled_from(_FIELDS), _VALUES, max_size=6))
def test_typed_messages_never_take_a_line_the_reader_refuses(fields: dict[str, Any]) -> None:
    raw = line("message", **{"role": "user", "content": "x", **fields})
    agrees_with_the_reader(raw)


def test_lines_nested_past_what_msgspec_decodes_go_the_full_way() -> None:
    """Found in review: msgspec raises RecursionError (not DecodeError) on deep nesting, and the dream
    stopped with an internal error where the reader counts the line corrupt."""
    deep = "[" * 3000 + "]" * 3000
    for raw in (line("message", role="assistant", content="x")[:-2] + f',"extra":{deep}}}\n'.encode(),
                results(ok("toolu_1"))[:-2] + f',"extra":{deep}}}\n'.encode(),
                line("tool", tool_use_id="toolu_1", name="bash")[:-2] + f',"extra":{deep}}}\n'.encode()):
        assert message_event(raw) is None and parse_line(raw) is None
        success_ids(raw)
        quiet_ts(raw)
