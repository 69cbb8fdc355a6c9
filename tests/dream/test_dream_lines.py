"""One typed decode per line (dreamcli.dream.lines): what the scan takes from a line, and what it leaves
to the reader."""

from __future__ import annotations

import json
import math
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as hs

from dreamcli.dream.aggregates import Aggregates
from dreamcli.dream.lines import (
    UNSET,
    Block,
    End,
    Message,
    Subagent,
    Tool,
    block_output,
    block_text,
    decode_event,
    typed_event,
)
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


def test_tool_outputs_stay_undecoded_until_a_call_fails() -> None:
    event = decode_event(results(ok("toolu_1", "x" * 5000), ok("toolu_2", [{"type": "text", "text": "out"}])))
    assert isinstance(event, Message) and not isinstance(event.content, str)
    first, second = event.content
    assert isinstance(first.content, msgspec.Raw) and bytes(first.content) == b'"' + b"x" * 5000 + b'"'
    assert block_output(first) == "x" * 5000
    assert block_output(second) == [{"type": "text", "text": "out"}]
    assert block_output(Block(type="tool_result")) is None  # a result without output


def test_a_block_without_text_reads_as_empty_and_a_null_text_as_the_reader_gives_it() -> None:
    event = decode_event(line("message", role="user", content=[{"type": "text"}, {"type": "text", "text": None}]))
    assert isinstance(event, Message) and not isinstance(event.content, str)
    assert [block_text(b) for b in event.content] == ["", "None"]  # str(block.get("text", "")), as before


def test_tool_subagent_and_end_events_are_typed() -> None:
    tool = decode_event(line("tool", tool_use_id="toolu_1", name="bash", duration_ms=3, exit_code=2,
                             error_kind="exit_nonzero", truncated=True))
    assert isinstance(tool, Tool) and (tool.error_kind, tool.truncated, tool.ts) == ("exit_nonzero", True,
                                                                                       ENVELOPE["ts"])
    bare = decode_event(line("tool", name="read"))
    assert isinstance(bare, Tool) and bare.tool_use_id is UNSET and bare.truncated is False
    sub = decode_event(line("subagent", event="start", child_session_id="01K0000000000000000000000B"))
    assert isinstance(sub, Subagent)
    end = decode_event(line("session.end", status="completed", totals={"cost_usd": 0.25}))
    assert isinstance(end, End) and end.totals == {"cost_usd": 0.25}


def test_what_the_reader_refuses_is_left_to_the_reader() -> None:
    refused = [
        line("message", role="user", content="x", seq="3"),  # the envelope's types
        line("message", role="user", content="x", usage={"output_tokens": "12"}),
        line("message", role="user", content="x", totals={"cost_usd": "1"}),  # checked on any event
        line("tool", name="bash", totals={"turns": "2"}),
        line("message", role="user", content=[{"text": "a block without its type"}]),
        line("message", role="user", content=["not a block"]),
        line("message", role="user"),  # no content
        line("message", role="user", content="x", cost_usd=True),
        line("message", role="user", content="x")[:-2] + b',"v":2}\n',  # a duplicate key: the last one counts
        line("tool", tool_use_id="toolu_1", error_kind=None),  # no name
        line("tool", name="bash", truncated=None),
        line("tool", name="bash", tool_use_id=None),
        line("subagent", event="start"),  # no child
        line("session.end", status="completed", totals=None),
        b'{"v":1,"type":"message","type":"tool","role":"user","content":"x"}\n',  # two types
        b'{"v":1,"type":"message","role":"user","content":"x","cost_usd":NaN}\n',  # the reader's own fallback
        b'{"v":1,"type":"message","role":"user","content":"x"',  # cut off
        results(ok("toolu_9")).replace(b"}]}", b"} junk]}"),  # broken JSON that looks like results
    ]
    for raw in refused:
        assert decode_event(raw) is None, raw
    assert [parse_line(raw) is None for raw in refused] == [True] * 15 + [False, True, True]


def test_other_event_types_go_the_full_way() -> None:
    for raw in (line("session.start", task={"name": "t", "prompt": "p"}),
                line("outcome.evaluation", outcome="o", iteration=1, result="satisfied", criteria=[]),
                line("memory.note", text="kept")):
        assert decode_event(raw) is None and parse_line(raw) is not None


def test_an_event_the_reader_took_in_full_gets_the_same_struct() -> None:
    """A `NaN` cost: msgspec refuses the line, the reader's standard-library fallback takes it."""
    raw = b'{"v":1,"type":"message","role":"assistant","cost_usd":NaN,"content":[{"type":"tool_use",' \
          b'"id":"tu1","name":"bash","input":{"command":"ls"}}]}\n'
    event = parse_line(raw)
    assert event is not None
    typed = typed_event(event)
    assert isinstance(typed, Message) and math.isnan(typed.cost_usd or 0) and not isinstance(typed.content, str)
    assert typed.content[0].input == {"command": "ls"}
    assert typed_event({"v": 1, "type": "outcome.evaluation"}) is None
    lone = parse_line(b'{"v":1,"type":"message","role":"user","content":"no \\ud800"}\n')  # JSON, not UTF-8
    assert lone is not None
    typed = typed_event(lone)
    assert isinstance(typed, Message) and typed.content == "no \ud800"


def test_lines_nested_past_what_msgspec_decodes_go_the_full_way() -> None:
    """msgspec raises RecursionError (not DecodeError) on deep nesting; the reader counts such a line corrupt."""
    deep = "[" * 3000 + "]" * 3000
    for raw in (line("message", role="assistant", content="x")[:-2] + f',"extra":{deep}}}\n'.encode(),
                results(ok("toolu_1", json.loads("[" * 400 + "]" * 400)))[:-2] + f',"x":{deep}}}\n'.encode(),
                line("tool", tool_use_id="toolu_1", name="bash")[:-2] + f',"extra":{deep}}}\n'.encode()):
        assert decode_event(raw) is None and parse_line(raw) is None


def agrees_with_the_reader(raw: bytes) -> Any:
    """decode_event takes a line only when the reader takes it too, with the same values."""
    typed, full = decode_event(raw), parse_line(raw)
    if typed is None:
        return None
    assert full is not None, raw
    assert full["type"] == type(typed).__struct_config__.tag and full["v"] == typed.v == 1
    defaults = {f.name: f.default for f in msgspec.structs.fields(typed)}
    for name in typed.__struct_fields__:
        value = getattr(typed, name)
        if name not in full:  # a field the line has not: the struct's default
            assert value is defaults[name], (name, raw)
        elif value is UNSET:
            assert name not in full, (name, raw)
        elif name == "content" and isinstance(value, list):
            for block, whole in zip(value, full["content"], strict=True):
                assert block.type == whole["type"] and block.input == whole.get("input")
                assert block_output(block) == whole.get("content")
                assert block_text(block) == str(whole.get("text", ""))
        else:
            assert full[name] == value and type(full[name]) in (type(value), int), (name, raw)
    return typed


def test_a_message_is_typed_with_what_the_signals_read() -> None:
    raw = line("message", role="user", content=[{"type": "text", "text": "no, use pathlib"}], cost_usd=0.5,
               origin="harness", usage={"input_tokens": 3}, model=None, extra={"kept": "by the reader only"})
    typed = agrees_with_the_reader(raw)
    assert isinstance(typed, Message) and (typed.role, typed.origin, typed.cost_usd) == ("user", "harness", 0.5)


_VALUES = hs.one_of(hs.none(), hs.booleans(), hs.integers(-5, 5), hs.floats(allow_nan=False), hs.text(max_size=4),
                    hs.lists(hs.integers(), max_size=2), hs.dictionaries(hs.sampled_from(["type", "input_tokens"]),
                                                                         hs.integers() | hs.text(max_size=2)))
_BLOCKS = hs.lists(hs.fixed_dictionaries({"type": hs.sampled_from(["text", "tool_use", "tool_result"])},
                                         optional={"text": _VALUES, "input": _VALUES, "content": _VALUES,
                                                   "is_error": _VALUES, "id": _VALUES}), max_size=2)
_FIELDS = {"message": ["role", "content", "model", "stop_reason", "usage", "latency_ms", "cost_usd", "origin"],
           "tool": ["tool_use_id", "name", "duration_ms", "exit_code", "error_kind", "truncated"],
           "subagent": ["event", "child_session_id", "brief", "status"],
           "session.end": ["status", "error", "totals", "outcome"]}
_BASE = {"message": {"role": "user", "content": "x"}, "tool": {"name": "bash"},
         "subagent": {"child_session_id": "c"}, "session.end": {"status": "completed"}}


@settings(max_examples=400, deadline=None)
@given(hs.sampled_from(sorted(_FIELDS)).flatmap(lambda etype: hs.tuples(hs.just(etype), hs.dictionaries(
    hs.sampled_from([*_FIELDS[etype], "ts", "session_id", "seq", "v", "type", "totals", "usage"]),
    _VALUES | _BLOCKS, max_size=6))))
def test_typed_events_never_take_a_line_the_reader_refuses(case: tuple[str, dict[str, Any]]) -> None:
    etype, fields = case
    agrees_with_the_reader(line(etype, **{**_BASE[etype], **fields}))


_SAMPLES = [results(ok("toolu_1", "caf\u00e9 " * 3), ok("toolu_2")),
            line("message", role="assistant", content=[{"type": "tool_use", "id": "tu1", "name": "bash",
                                                        "input": {"command": "ls \u00e9"}}], usage={"input_tokens": 3}),
            line("tool", tool_use_id="toolu_1", name="bash", error_kind="exit_nonzero", extra="\u00e9"),
            line("session.end", status="completed", totals={"cost_usd": 0.5})]


@settings(max_examples=600, deadline=None)
@given(hs.sampled_from(_SAMPLES), hs.integers(0, 10_000), hs.binary(min_size=1, max_size=2))
def test_a_damaged_byte_never_makes_the_typed_path_take_what_the_reader_refuses(
        sample: bytes, at: int, junk: bytes) -> None:
    at %= len(sample) - 1
    agrees_with_the_reader(sample[:at] + junk + sample[at + 1:])


def scanned(tmp_path: Path, *lines: bytes) -> tuple[Aggregates, ReadStats]:
    ws = Workspace(root=tmp_path / "ws", source="option")
    w = SessionWriter(ws)
    w.start(task={"name": "t", "prompt": "p"}, model=None, workdir=None)
    w.close()
    with open(w.path, "ab") as f:
        f.writelines(lines)
    agg, stats = Aggregates(), ReadStats()
    scan_session(w.path, agg, playbook="default", stats=stats)
    return agg, stats


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


def test_a_result_whose_tool_event_said_it_failed_is_a_failure(tmp_path: Path) -> None:
    """The runner's tool event is the word on failure even when the result says `is_error: false` (the
    old fast path for successful results skipped such a result altogether)."""
    call = line("message", role="assistant", content=[{"type": "tool_use", "id": "tu1", "name": "bash",
                                                       "input": {"command": "make"}}])
    event = line("tool", tool_use_id="tu1", name="bash", error_kind="timeout", truncated=False)
    agg, stats = scanned(tmp_path, call, event, results(ok("tu1", "make: waiting")))
    assert [p.key for p in agg.patterns.values() if p.kind == "error"] == ["error|bash:make|make: waiting"]
    assert stats.events == 4


def test_a_broken_line_is_corrupt_whatever_it_looks_like(tmp_path: Path) -> None:
    broken = results(ok("toolu_9")).replace(b"}]}", b"} junk]}")
    _agg, stats = scanned(tmp_path, broken, line("message", role="assistant", content="done"))
    assert (stats.lines, stats.events, stats.corrupt) == (3, 2, 1)


def test_a_line_only_the_reader_takes_still_counts_for_the_signals(tmp_path: Path) -> None:
    nan_call = (b'{"v":1,"type":"message","role":"assistant","cost_usd":NaN,"content":[{"type":"tool_use",'
                b'"id":"tu1","name":"bash","input":{"command":"make"}}]}\n')
    fail = results({"type": "tool_result", "tool_use_id": "tu1", "is_error": True, "content": "make: no rule"})
    agg, stats = scanned(tmp_path, nan_call, fail)
    assert (stats.events, stats.corrupt) == (3, 0)
    assert [p.key for p in agg.patterns.values()] == ["error|bash:make|make: no rule"]


# --- found in review: lines the reader refuses or reads only by its json fallback ---------------------

CALL = line("message", role="assistant", content=[{"type": "tool_use", "id": "tu1", "name": "bash",
                                                   "input": {"command": "npm test"}}])


def failed(output: bytes) -> bytes:
    return (b'{"v":1,"type":"message","role":"user","content":[{"type":"tool_result","tool_use_id":"tu1",'
            b'"is_error":true,"content":' + output + b'}]}\n')


def test_invalid_utf8_where_msgspec_does_not_look_is_left_to_the_reader() -> None:
    """msgspec checks UTF-8 only in what it decodes: a raw output or a skipped field was taken unchecked,
    and the dream crashed decoding the output of a failed call."""
    for raw in (failed(b'"caf\xc3"'), results(ok("toolu_1")).replace(b'"fine"', b'"caf\xc3"'),
                line("tool", name="bash")[:-2] + b',"extra":"\xff"}\n'):
        assert decode_event(raw) is None and parse_line(raw) is None


def test_a_failed_output_only_the_reader_reads_still_counts(tmp_path: Path) -> None:
    """A number past a float's range inside a failed call's output: msgspec takes the line, not the number."""
    agg, stats = scanned(tmp_path, CALL, failed(b'{"error":"boom","code":1e400}'))
    assert (stats.events, stats.corrupt) == (3, 0)
    assert [p.kind for p in agg.patterns.values()] == ["error"]


def test_a_torn_character_in_a_failed_output_is_one_corrupt_line(tmp_path: Path) -> None:
    agg, stats = scanned(tmp_path, CALL, failed(b'"caf\xc3"'), line("message", role="assistant", content="ok"))
    assert (stats.events, stats.corrupt) == (3, 1) and not agg.patterns


def test_a_lone_surrogate_keeps_its_message_in_the_signals(tmp_path: Path) -> None:
    """The reader takes `\\ud83d` by its json fallback; the message must reach the signals, not only the count."""
    prompt = line("message", role="user", content="run the tests")
    correction = line("message", role="user", content="no, always use pnpm instead \ud83d")  # escaped: JSON
    assert decode_event(correction) is None and parse_line(correction) is not None
    agg, stats = scanned(tmp_path, prompt, CALL, failed(b'"Error: no vitest \\ud83d"'), correction)
    assert (stats.events, stats.corrupt) == (5, 0)
    assert sorted(p.kind for p in agg.patterns.values()) == ["correction", "error"]


# --- found in the second review: valid lines the handlers could not take (each stopped every dream) ---


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_inputs_nested_near_the_recursion_limit_never_stop_the_scan(tmp_path: Path) -> None:
    """msgspec and the reader take nesting a few levels short of the limit; the handlers, a few frames
    deeper, could not walk it again (`repr` in input_key, json in the call's display). Such a line is
    corrupt at worst, wherever the limit falls for this stack."""
    limit = sys.getrecursionlimit()
    lines: list[bytes] = []
    for depth in range(max(1, limit - 200), limit, 2):
        call = (f'{{"v":1,"type":"message","role":"assistant","content":[{{"type":"tool_use","id":"d{depth}",'
                f'"name":"edit","input":{{"k":{nested(depth)}}}}}]}}\n').encode()
        lines += [call, call, call, failed(b'"boom"').replace(b'"tu1"', f'"d{depth}"'.encode())]
    _agg, stats = scanned(tmp_path, *lines)  # display of failures, and of loops at the session's end
    assert stats.lines == len(lines) + 1 and stats.events + stats.corrupt == stats.lines


def test_odd_values_the_reader_allows_never_stop_the_scan(tmp_path: Path) -> None:
    named = line("message", role="assistant", content=[{"type": "tool_use", "id": "t1", "name": "bash:ls",
                                                        "input": ["x"]}])  # a tool named like a shell label
    _agg, stats = scanned(tmp_path, named, results(ok("t1")))
    assert stats.events == 3
    ws = Workspace(root=tmp_path / "odd", source="option")
    w = SessionWriter(ws)
    w.start(task={"name": "t", "prompt": "p"}, model=None, workdir=None)
    w.close()
    start = json.loads(w.path.read_bytes().splitlines()[0])
    start["playbooks"] = [{"playbook": "default", "entry_ids": 5}]  # the reader checks only the list
    naive = {"v": 1, "type": "message", "role": "user", "content": "hi", "ts": "2026-10-01T10:00:00"}  # no offset
    w.path.write_bytes(json.dumps(start).encode() + b"\n" + json.dumps(naive).encode() + b"\n")
    info = scan_session(w.path, Aggregates(), playbook="default", stats=ReadStats(),
                        now=datetime(2026, 10, 1, 10, 5, tzinfo=UTC))  # no end: is it still running?
    assert info is not None and info.entry_ids == [] and not info.deferred
