"""A lone surrogate in an event (a file name that is not UTF-8, read with surrogateescape; model text
holding `\\ud800`) is written as U+FFFD: the line is valid UTF-8 JSON, the log is never left empty,
and the writer hands back the cleaned event. Clean events never take the slow path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import dreamcli.sessions.writer as writer_mod
from dreamcli import codec
from dreamcli.sessions.writer import SessionWriter
from dreamcli.workspace.home import Workspace


def lines(path: Path) -> list[dict]:
    raw = path.read_bytes()
    raw.decode("utf-8")  # strict: no surrogate made it to disk
    return [json.loads(line) for line in raw.splitlines()]


def test_a_surrogate_in_session_start_still_starts_the_log(bare_ws: Workspace) -> None:
    w = SessionWriter(bare_ws)
    w.start(task={"name": None, "prompt": "x"}, model="m", workdir="/work/proj\udcff")
    w.end("completed")
    start, end = lines(w.path)
    assert start["workdir"] == "/work/proj\ufffd" and end["status"] == "completed"


def test_surrogates_anywhere_are_replaced_and_the_clean_event_is_returned(bare_ws: Workspace) -> None:
    w = SessionWriter(bare_ws)
    content = [{"type": "text", "text": "hello \ud800 world"},
               {"type": "tool_result", "tool_use_id": "t1", "content": "bad\udcffname.txt\n", "is_error": False},
               {"type": "tool_use", "id": "t2", "name": "x", "input": {"k\udcff": ["a", ("b\udfff",)]}}]
    event = w.message("user", content)
    w.end("completed")
    logged, _ = lines(w.path)
    assert logged["content"] == event["content"]
    assert event["content"][0]["text"] == "hello \ufffd world"
    assert event["content"][1]["content"] == "bad\ufffdname.txt\n"
    assert event["content"][2]["input"] == {"k\ufffd": ["a", ["b\ufffd"]]}


def test_a_surrogate_deep_down_is_replaced_too(bare_ws: Workspace) -> None:
    deep: object = "x\ud800"
    for _ in range(300):
        deep = [deep]
    w = SessionWriter(bare_ws)
    w.write("note", value=deep)
    w.end("completed")
    value = lines(w.path)[0]["value"]
    for _ in range(300):
        value = value[0]
    assert value == "x\ufffd"


def test_a_surrogate_with_a_non_string_key_is_written(bare_ws: Workspace) -> None:
    w = SessionWriter(bare_ws)
    w.write("note", value={True: "a\udcff", None: 1})
    w.end("completed")
    assert lines(w.path)[0]["value"] == {"true": "a\ufffd", "null": 1}


def test_clean_events_never_take_the_slow_path(bare_ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(obj: object) -> object:
        raise AssertionError("a clean event was walked for surrogates")

    monkeypatch.setattr(writer_mod, "without_lone_surrogates", boom, raising=False)
    monkeypatch.setattr(codec, "without_lone_surrogates", boom, raising=False)
    w = SessionWriter(bare_ws)
    w.start(task={"name": "t", "prompt": "über ☃ 𝄞"}, model="m", workdir="/tmp")
    w.end("completed")
    assert len(lines(w.path)) == 2


def test_without_lone_surrogates_keeps_clean_data_and_pairs() -> None:
    fix = codec.without_lone_surrogates
    assert fix("𝄞 ok") == "𝄞 ok"
    assert fix({"a": [1, 2.5, None, True, "\ud83d"]}) == {"a": [1, 2.5, None, True, "\ufffd"]}
