"""Helpers for the multi-agent tests (no tests here): telling lead, sub-agent and grader requests
apart in a fake-server responder, overlap of request intervals, session logs by parent."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dreamcli.orchestration.subagents import SUBAGENT_PREAMBLE
from dreamcli.testing import RecordedRequest, Reply, content_text, text_reply


def first_text(req: RecordedRequest) -> str:
    msgs = req.messages
    return content_text(msgs[0].get("content")) if msgs else ""


def is_grader(req: RecordedRequest) -> bool:
    choice = req.body.get("tool_choice") if isinstance(req.body, dict) else None
    return isinstance(choice, dict) and choice.get("name") == "record_verdicts"


def is_child(req: RecordedRequest) -> bool:
    return first_text(req).startswith(SUBAGENT_PREAMBLE)


def brief_of(req: RecordedRequest) -> str:
    return first_text(req)[len(SUBAGENT_PREAMBLE):]


def turn_of(req: RecordedRequest) -> int:
    """0 for the first model call of a session, 1 for the second, ..."""
    return sum(1 for m in req.messages if m.get("role") == "assistant")


def responder(lead: Callable[[RecordedRequest, int], Reply],
              child: Callable[[str, int, RecordedRequest], Reply],
              grader: Callable[[RecordedRequest], Reply] | None = None) -> Callable[[RecordedRequest], Reply]:
    """A thread-safe, order-independent responder: lead(req, turn), child(brief, turn, req), grader(req)."""

    def respond(req: RecordedRequest) -> Reply:
        if is_grader(req):
            if grader is None:
                raise AssertionError("unexpected grader request")
            return grader(req)
        if is_child(req):
            return child(brief_of(req), turn_of(req), req)
        return lead(req, turn_of(req))

    return respond


def answer(text: str, **usage: int) -> Reply:
    return text_reply(text, usage=usage or {"input_tokens": 100, "output_tokens": 20})


def max_overlap(reqs: list[RecordedRequest]) -> int:
    """The largest number of requests in flight at the same moment (from t_start/t_end)."""
    points = sorted([(r.t_start, 1) for r in reqs] + [(r.t_end or r.t_start, -1) for r in reqs],
                    key=lambda p: (p[0], p[1]))
    live = best = 0
    for _, step in points:
        live += step
        best = max(best, live)
    return best


def read_log(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def logs_by_role(home: Path) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """(the lead's events, {child session id: events}) from every session file under home."""
    lead: list[dict[str, Any]] | None = None
    children: dict[str, list[dict[str, Any]]] = {}
    for path in sorted((home / "sessions").rglob("*.jsonl")):
        events = read_log(path)
        if events[0].get("parent_session_id"):
            children[events[0]["session_id"]] = events
        else:
            assert lead is None, "more than one lead session"
            lead = events
    assert lead is not None, "no lead session"
    return lead, children


def sleep_marker(tag: str) -> str:
    """A `sleep` argument (61 s and a fraction) that marks this test's commands: this process's id at a
    fixed width, so no marker of another pytest-xdist worker contains it, then `tag`."""
    import os

    return f"61.{os.getpid():07d}{tag}"


def pids_running(marker: str) -> list[int]:
    """Live processes whose command line contains `marker` (zombies have none, so they don't count)."""
    import os

    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = Path(entry.path, "cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline.replace(b"\0", b" "):
            found.append(int(entry.name))
    return found


def wait_for_pids(marker: str, count: int, timeout: float = 20.0) -> list[int]:
    """Poll until at least `count` processes carry `marker` (or the timeout); returns them."""
    import time

    deadline = time.monotonic() + timeout
    pids = pids_running(marker)
    while len(pids) < count and time.monotonic() < deadline:
        time.sleep(0.02)
        pids = pids_running(marker)
    return pids


def gone_soon(marker: str, timeout: float = 1.0) -> list[int]:
    """The processes still carrying `marker` after up to `timeout` seconds ([] once all are gone)."""
    import time

    deadline = time.monotonic() + timeout
    pids = pids_running(marker)
    while pids and time.monotonic() < deadline:
        time.sleep(0.02)
        pids = pids_running(marker)
    return pids


def kill_leftovers(marker: str) -> None:
    """Test cleanup: SIGKILL what a failing test left running (found by its unique marker)."""
    import contextlib
    import os
    import signal

    for pid in pids_running(marker):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
