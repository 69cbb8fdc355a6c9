"""The session log's hot path on dreamcli.codec: the reader reads exactly the lines the standard library
read, the fast typed boundary agrees with the straightforward one, and the writer's lines are what
`json.dumps` wrote."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from dreamcli.sessions.reader import ReadStats, iter_events, parse_line, read_first_and_last
from dreamcli.sessions.summary import SessionSummary
from dreamcli.sessions.validate import _FIELDS, _NUMBERS, _REQUIRED, counts_problem, type_problem
from dreamcli.sessions.writer import SessionWriter
from dreamcli.workspace.home import Workspace

ENV = {"v": 1, "session_id": "01JD0000000000000000000000", "ts": "2026-11-24T03:00:00.000Z", "seq": 0}


def _reference(event: dict[str, Any]) -> str | None:
    """The typed boundary as first written (isinstance per allowed kind): the spec the fast one must match."""
    def is_(value: Any, kind: str) -> bool:
        return {"string": lambda: isinstance(value, str),
                "integer": lambda: isinstance(value, int) and not isinstance(value, bool),
                "number": lambda: isinstance(value, int | float) and not isinstance(value, bool),
                "boolean": lambda: isinstance(value, bool), "array": lambda: isinstance(value, list),
                "object": lambda: isinstance(value, dict), "null": lambda: value is None}[kind]()

    for name, kind in (("session_id", "string"), ("ts", "string"), ("seq", "integer")):
        if name in event and not is_(event[name], kind):
            return f"wrong type for {name!r}"
    etype = event["type"]
    for name in _REQUIRED.get(etype, ()):
        if name not in event:
            return f"{etype} without {name!r}"
    for name, kinds in _FIELDS.get(etype, {}).items():
        if name in event and not any(is_(event[name], k) for k in kinds):
            return f"wrong type for {name!r}"
    if etype == "message" and isinstance(event.get("content"), list) and not all(
            isinstance(b, dict) and isinstance(b.get("type"), str) for b in event["content"]):
        return "wrong type for 'content' blocks"
    if etype == "session.start" and isinstance(event.get("task"), dict):
        task = event["task"]
        if any(task.get(k) is not None and not isinstance(task.get(k), str) for k in ("name", "prompt")):
            return "wrong type for 'task'"
    for name in ("totals", "usage"):
        block = event.get(name)
        if isinstance(block, dict) and any(v is not None and not is_(v, "number") for k, v in block.items()
                                           if k in _NUMBERS or k.endswith("_tokens")):
            return f"wrong type in {name!r}"
    return None


_json = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=3)
_value = st.recursive(_json, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.sampled_from(["type", "name", "prompt", "turns", "x_tokens", "cost_usd", "other"]), inner, max_size=3),
    max_leaves=6)
_names = sorted({n for f in _FIELDS.values() for n in f} | {"session_id", "ts", "seq", "totals", "usage", "x"})


@settings(max_examples=600, deadline=None)
@given(st.sampled_from([*_FIELDS, "custom.event"]), st.dictionaries(st.sampled_from(_names), _value, max_size=6))
def test_the_fast_boundary_agrees_with_the_reference(etype: str, fields: dict[str, Any]) -> None:
    event = {**ENV, **fields, "type": etype}
    assert type_problem(event) == _reference(event)


def test_known_wrong_types_are_still_refused() -> None:
    assert type_problem({**ENV, "type": "message", "role": "user", "content": "hi"}) is None
    assert type_problem({**ENV, "seq": True, "type": "custom"}) == "wrong type for 'seq'"
    assert type_problem({**ENV, "type": "tool", "name": "bash", "exit_code": 1.5}) == "wrong type for 'exit_code'"
    assert type_problem({**ENV, "type": "session.end", "status": "completed",
                         "totals": {"turns": "3"}}) == "wrong type in 'totals'"
    assert type_problem({**ENV, "seq": "x", "type": "message"}) == "wrong type for 'seq'"  # before the required


def test_lines_msgspec_refuses_are_read_as_the_standard_library_read_them(tmp_path: Path) -> None:
    good = {**ENV, "type": "message", "role": "user", "content": "hi"}
    lines = [
        b'{"v":1,"type":"message","role":"user","content":"a","cost_usd":NaN,"seq":1}\n',  # older writers
        b'{"v":1,"type":"message","role":"user","content":"\\ud800","seq":2}\n',  # lone surrogate escape
        b'{"v":1,"type":"message","role":"user","content":"b","latency_ms":1e400,"seq":3}\n',
        b"\xef\xbb\xbf" + json.dumps(good).encode() + b"\n",  # a byte-order mark
        b"not json\n", b"[1,2]\n", b'{"v":1,"type":"message","role":"user","content":"c"', ]
    path = tmp_path / "s.jsonl"
    path.write_bytes(b"".join(lines))
    stats = ReadStats()
    events = list(iter_events(path, stats))
    assert [e.get("seq") for e in events] == [1, 2, 3, 0]
    assert [json.loads(raw) if parse_line(raw) else None for raw in lines[:4]] == events
    assert (stats.events, stats.corrupt, stats.truncated) == (4, 2, 1)


def test_newer_versions_are_counted_apart(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(b'{"v":1,"type":"session.start","task":{}}\n{"v":9,"type":"message"}\n\n  \n'
                     b'{"v":1,"type":"session.end","status":"completed"}\n')
    stats = ReadStats()
    assert [e["type"] for e in iter_events(path, stats)] == ["session.start", "session.end"]
    assert (stats.unsupported, stats.corrupt, stats.lines) == (1, 0, 5)
    first, last = read_first_and_last(path)
    assert first is not None and last is not None and last["status"] == "completed"


def test_the_writer_writes_what_json_dumps_wrote(bare_ws: Workspace) -> None:
    w = SessionWriter(bare_ws, fsync=False)
    w.message("user", [{"type": "text", "text": "é \u2028 \U0001f600 \"q\" \\ \n"}], usage={1: 2})
    w.write("custom", odd={True: 1, None: 2}, nan=float("nan"))  # keys msgspec refuses: the slow way
    w.close()
    first, second = w.path.read_bytes().splitlines(keepends=True)
    e1 = json.loads(first)
    assert first == (json.dumps(e1, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
    assert e1["usage"] == {"1": 2}
    assert json.loads(second)["odd"] == {"true": 1, "null": 2}


def test_summary_json_is_what_asdict_gave() -> None:
    s = SessionSummary(session_id="S", path="/p", started=None, task="t", source=None, model=None,
                       parent_session_id=None, tags=["a"], input_tokens=3, output_tokens=4)
    data = s.to_json()
    # but the transcript ids of an imported session (how the listing finds a sub-agent's lead), never printed
    shown = {k: v for k, v in asdict(s).items() if k not in ("import_source_id", "import_parent_source_id")}
    assert data == {**shown, "tokens": 7} and list(data) == [*shown, "tokens"]
    data["tags"].append("b")
    assert s.tags == ["a"]  # a copy, as asdict made


def test_counts_are_numbers_whatever_else_usage_holds() -> None:
    assert not counts_problem({"input_tokens": 3, "cost_usd": 0.5, "tool_errors": None})  # numbers only
    assert not counts_problem({"input_tokens": 3, "service_tier": "standard", "cache_creation": {"x": 1}})
    assert counts_problem({"input_tokens": "3"})
    assert counts_problem({"service_tier": "standard", "output_tokens": True})  # a boolean is no count
    assert counts_problem({"turns": [1]}) and not counts_problem(["not", "a", "dict"])
