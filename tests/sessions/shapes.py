"""Helpers for the per-shape import tests: write a transcript of given lines, import it, read back the
one session it became (checked against the session-log JSON Schema). No tests in this module."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema

from dreamcli.sessions.importers.runner import ImportSummary, import_transcripts
from dreamcli.sessions.paths import iter_session_files
from dreamcli.sessions.reader import read_events
from dreamcli.sessions.schema import schema_path
from dreamcli.workspace.home import Workspace

VALIDATOR = jsonschema.Draft202012Validator(json.loads(Path(schema_path()).read_text()))
T0 = datetime(2026, 6, 1, 9, tzinfo=UTC)
THREAD = "0199b000-0000-7000-8000-00000000c0de"


def ts(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def write_lines(path: Path, lines: list[Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))
    return path


def imported(ws: Workspace, source: str, path: Path) -> tuple[ImportSummary, dict[str, list[dict]]]:
    """Import `path`; return the summary and source_id -> events of every session written."""
    s = import_transcripts(ws, source, path, workers=1)
    out = {}
    for p in iter_session_files(ws):
        events, stats = read_events(p)
        assert stats.skipped == 0
        for e in events:
            VALIDATOR.validate(e)
        out[events[0]["import"]["source_id"]] = events
    return s, out


def of_type(events: list[dict], kind: str) -> list[dict]:
    return [e for e in events if e["type"] == kind]


def tools(events: list[dict]) -> dict[str, dict]:
    return {e["tool_use_id"]: e for e in of_type(events, "tool")}


def results(events: list[dict]) -> dict[str, dict]:
    return {b["tool_use_id"]: b for e in of_type(events, "message") if e["role"] == "user"
            for b in e["content"] if isinstance(b, dict) and b.get("type") == "tool_result"}


def uses(events: list[dict]) -> list[dict]:
    return [b for e in of_type(events, "message") if e["role"] == "assistant"
            for b in e["content"] if isinstance(b, dict) and b.get("type") == "tool_use"]


def check_totals_equal_events(events: list[dict]) -> None:
    """tool_calls = tool events; tool_errors = those with an error kind; tool_unanswered = unanswered."""
    totals = events[-1]["totals"]
    facts = of_type(events, "tool")
    assert totals["tool_calls"] == len(facts)
    assert totals["tool_errors"] == sum(1 for e in facts if e["error_kind"])
    assert totals["tool_unanswered"] == sum(1 for e in facts if e.get("unanswered"))
    assert {u["id"] for u in uses(events)} <= {e["tool_use_id"] for e in facts}


# ---------------------------------------------------------------- Codex


def rollout(path: Path, items: list[tuple[str, dict]], *, version: str = "0.129.0") -> Path:
    """A rollout: session_meta, then (envelope type, payload) lines one second apart."""
    lines: list[Any] = [{"timestamp": ts(0), "type": "session_meta",
                         "payload": {"id": THREAD, "timestamp": ts(0), "cwd": "/w", "originator": "codex_cli_rs",
                                     "cli_version": version, "source": "cli"}}]
    for i, (kind, payload) in enumerate(items):
        lines.append({"timestamp": ts(i + 1), "type": kind, "payload": payload})
    return write_lines(path, lines)


def user(text: str) -> tuple[str, dict]:
    return ("response_item", {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]})


def say(text: str) -> tuple[str, dict]:
    return ("response_item", {"type": "message", "role": "assistant",
                              "content": [{"type": "output_text", "text": text}]})


def call(call_id: str, name: str = "exec_command", args: dict | None = None) -> tuple[str, dict]:
    return ("response_item", {"type": "function_call", "name": name, "call_id": call_id,
                              "arguments": json.dumps(args if args is not None else {"cmd": "make test"})})


def output(call_id: str, text: Any) -> tuple[str, dict]:
    return ("response_item", {"type": "function_call_output", "call_id": call_id, "output": text})


def event(kind: str, **fields: Any) -> tuple[str, dict]:
    return ("event_msg", {"type": kind, **fields})


# ---------------------------------------------------------------- Claude Code


class Claude:
    """Claude Code lines, one second apart, chained by parentUuid."""

    def __init__(self, session_id: str = "cc-shape", version: str = "2.1.20") -> None:
        self.sid, self.version = session_id, version
        self.lines: list[dict] = []
        self.n = 0

    def _base(self, kind: str, **extra: Any) -> dict:
        self.n += 1
        d = {"type": kind, "uuid": f"u{self.n}", "parentUuid": f"u{self.n - 1}" if self.n > 1 else None,
             "isSidechain": False, "userType": "external", "cwd": "/w", "sessionId": self.sid,
             "version": self.version, "timestamp": ts(self.n)}
        d.update(extra)
        self.lines.append(d)
        return d

    def user(self, content: Any, **extra: Any) -> dict:
        return self._base("user", message={"role": "user", "content": content}, **extra)

    def assistant(self, blocks: list[dict], **extra: Any) -> dict:
        return self._base("assistant", message={
            "id": f"msg_{self.n + 1:04d}", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
            "content": blocks, "stop_reason": None,
            "usage": {"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 0,
                      "cache_creation_input_tokens": 0}}, **extra)

    def tool(self, tid: str, name: str = "Bash", inp: dict | None = None) -> dict:
        return self.assistant([{"type": "tool_use", "id": tid, "name": name, "input": inp or {"command": "ls"}}])

    def result(self, tid: str, content: Any, *, error: bool = False, **extra: Any) -> dict:
        block = {"type": "tool_result", "tool_use_id": tid, "content": content}
        if error:
            block["is_error"] = True
        return self.user([block], **extra)

    def line(self, obj: dict) -> None:
        self.lines.append(obj)

    def write(self, path: Path) -> Path:
        return write_lines(path, self.lines)
