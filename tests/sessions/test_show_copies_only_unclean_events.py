"""`sessions show` reads lone surrogates as U+FFFD without copying the clean events: only an event (grade,
child) that cannot be written as UTF-8 is copied. Before, every event of every session was copied on every
call, which cost a 60 MB session ~75% more time and ~95 MB more memory."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

import dreamcli.sessions.reader as reader
from dreamcli.ids import ulid_at
from dreamcli.store.tree import read_session
from dreamcli.workspace.home import Workspace

TS = "2026-12-07T10:00:00.000Z"


def _session(ws: Workspace, n: int, *lines: str) -> str:
    """A session written by hand as another tool would: `lines` are the bodies of its events after
    session.start (the escapes kept as they are)."""
    ms = int(time.time() * 1000) - 3_600_000 + n * 1000
    sid = ulid_at(ms, bytes([n]) * 10)
    day = ws.sessions_dir / time.strftime("%Y/%m/%d", time.gmtime(ms / 1000))
    day.mkdir(parents=True, exist_ok=True)
    head = f'"v":1,"ts":"{TS}","session_id":"{sid}"'
    body = [f'"seq":0,"type":"session.start","task":{{"name":"t{n}","prompt":"p"}}', *lines]
    text = "".join(f"{{{head},{b}}}\n" if i == 0 else f'{{{head},"seq":{i},{b}}}\n' for i, b in enumerate(body))
    (day / f"{sid}.jsonl").write_text(text, encoding="ascii")
    return sid


@pytest.fixture
def read(monkeypatch: pytest.MonkeyPatch) -> list[list[dict[str, Any]]]:
    """The event lists the reader returned, in call order."""
    seen: list[list[dict[str, Any]]] = []
    original = reader.read_events

    def spy(path: Path) -> tuple[list[dict[str, Any]], reader.ReadStats]:
        events, stats = original(path)
        seen.append(events)
        return events, stats

    monkeypatch.setattr(reader, "read_events", spy)
    return seen


def test_a_clean_session_is_shown_as_read_not_copied(ws: Workspace, read: list[list[dict[str, Any]]]) -> None:
    sid = _session(ws, 1, '"type":"message","role":"user","content":"hello \\u00e9"',
                   '"type":"session.end","status":"completed","totals":{"turns":1}')
    shown = read_session(ws, sid)
    assert shown.events is read[0] and shown.stats.corrupt == 0
    assert [e.get("content") for e in shown.events][1] == "hello \u00e9"


def test_only_the_event_with_a_lone_surrogate_is_copied(ws: Workspace, read: list[list[dict[str, Any]]]) -> None:
    child = _session(ws, 2, '"type":"message","role":"assistant","content":"done \\ud83d"')
    sid = _session(ws, 3, '"type":"message","role":"user","content":"cut \\udfff here"',
                   f'"type":"subagent","event":"started","child_session_id":"{child}","brief":"b"',
                   '"type":"message","role":"assistant","content":"fine"')
    shown = read_session(ws, sid)
    events = read[0]
    assert shown.events[1]["content"] == "cut \ufffd here"
    assert events[1]["content"] == "cut \udfff here"  # the reader's own event is left as it was
    assert all(shown.events[i] is events[i] for i in (0, 2, 3))
    assert shown.children[0]["session_id"] == child and shown.children[0]["final_text"] == "done \ufffd"
