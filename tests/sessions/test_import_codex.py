"""Codex rollouts -> sessions: generated rollouts in the current and the early format."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from dreamcli.ids import ulid_time_ms
from dreamcli.sessions.importers.codex import default_path
from dreamcli.sessions.importers.common import parse_ts_ms
from dreamcli.sessions.importers.runner import import_transcripts
from dreamcli.sessions.paths import iter_session_files
from dreamcli.sessions.reader import read_events
from dreamcli.sessions.schema import schema_path
from dreamcli.workspace.home import Workspace
from tests.support.transcripts import codex_rollout, utc

VALIDATOR = jsonschema.Draft202012Validator(json.loads(Path(schema_path()).read_text()))
T1 = "0199a213-81c0-7800-8aa1-bbab2a035a53"
T2 = "0199a214-0000-7000-8000-000000000002"


def sessions(ws: Workspace) -> dict[str, list[dict]]:
    out = {}
    for p in iter_session_files(ws):
        events, stats = read_events(p)
        assert stats.skipped == 0
        for e in events:
            VALIDATOR.validate(e)
        out[events[0]["import"]["source_id"]] = events
    return out


def of_type(events: list[dict], kind: str) -> list[dict]:
    return [e for e in events if e["type"] == kind]


def blocks(events: list[dict], role: str) -> list[dict]:
    return [b for e in of_type(events, "message") if e["role"] == role for b in e["content"]]


def test_rollout_becomes_a_session_with_usage_tools_and_errors(new_ws: Workspace, tmp_path: Path) -> None:
    path, exp = codex_rollout(tmp_path / "sessions", thread_id=T1, start=utc(2026, 4, 1, 8), rounds=4)
    s = import_transcripts(new_ws, "codex", tmp_path / "sessions")
    assert (s.transcripts, s.sessions) == (1, 1)
    events = sessions(new_ws)[T1]
    start = events[0]
    assert start["source"] == "codex" and start["import"]["path"] == str(path)
    assert start["model"] == "gpt-5-codex" and start["workdir"] == "/home/dev/proj"
    assert start["task"]["prompt"] == "Fix the failing build number 0"  # not the injected environment context
    assert ulid_time_ms(start["session_id"]) == parse_ts_ms(start["ts"]) == parse_ts_ms("2026-04-01T08:00:00Z")
    totals = events[-1]["totals"]
    assert totals["turns"] == exp.turns  # one per token_count, repeated counts ignored
    assert (totals["input_tokens"], totals["output_tokens"], totals["cache_read_tokens"]) == (
        exp.input_tokens, exp.output_tokens, exp.cache_read_tokens)
    assert (totals["tool_calls"], totals["tool_errors"]) == (exp.tool_calls, exp.tool_errors) == (4, 2)
    uses = [b for b in blocks(events, "assistant") if b["type"] == "tool_use"]
    assert uses[0]["name"] == "shell" and uses[0]["input"]["command"][:2] == ["bash", "-lc"]
    results = [b for b in blocks(events, "user") if b["type"] == "tool_result"]
    assert [r["is_error"] for r in results] == [False, True, False, True]
    assert {r["tool_use_id"] for r in results} == {u["id"] for u in uses}
    assert any(b["type"] == "thinking" and "Running the tests" in b["thinking"] for b in blocks(events, "assistant"))
    assert blocks(events, "assistant")[-1] == {"type": "text", "text": "Fixed: the lockfile was stale."}
    failed = [e for e in of_type(events, "tool") if e["error_kind"]]
    assert [e["exit_code"] for e in failed] == [1, 1] and all(e["error_kind"] == "exit_nonzero" for e in failed)
    assert s.lines.unknown == {"hologram_state": 1}
    assert s.lines.ignored["event_msg:user_message"] == 1 and s.lines.ignored["turn_context"] == 1


def test_each_model_response_is_one_assistant_message_with_its_usage(new_ws: Workspace, tmp_path: Path) -> None:
    codex_rollout(tmp_path / "s", thread_id=T1, start=utc(2026, 4, 2, 8), rounds=2)
    import_transcripts(new_ws, "codex", tmp_path / "s")
    events = sessions(new_ws)[T1]
    assistant = [e for e in of_type(events, "message") if e["role"] == "assistant"]
    # reasoning + function_call of one response share a message; the final answer is its own
    assert [[b["type"] for b in e["content"]] for e in assistant] == [
        ["thinking", "tool_use"], ["thinking", "tool_use"], ["text"]]
    assert all(set(e["usage"]) == {"input_tokens", "output_tokens", "cache_read_input_tokens",
                                   "cache_creation_input_tokens"} for e in assistant)
    assert sum(e["usage"]["input_tokens"] for e in assistant) == events[-1]["totals"]["input_tokens"]


def test_subagent_rollout_is_a_child_of_its_parent_thread(new_ws: Workspace, tmp_path: Path) -> None:
    codex_rollout(tmp_path / "s", thread_id=T1, start=utc(2026, 4, 3, 8), rounds=3)
    codex_rollout(tmp_path / "s", thread_id=T2, start=utc(2026, 4, 3, 8, 0, 4), parent_thread_id=T1, seed=5)
    s = import_transcripts(new_ws, "codex", tmp_path / "s")
    assert (s.sessions, s.children) == (2, 1)
    got = sessions(new_ws)
    parent, child = got[T1], got[T2]
    assert child[0]["parent_session_id"] == parent[0]["session_id"] and child[0]["agent"] == "scout"
    subs = of_type(parent, "subagent")
    assert [(e["event"], e["child_session_id"]) for e in subs] == [
        ("started", child[0]["session_id"]), ("finished", child[0]["session_id"])]


def test_truncated_rollout_and_reimport(new_ws: Workspace, tmp_path: Path) -> None:
    codex_rollout(tmp_path / "s", thread_id=T1, start=utc(2026, 4, 4, 8), truncate_last=True)
    first = import_transcripts(new_ws, "codex", tmp_path / "s")
    assert first.sessions == 1 and first.lines.truncated == 1
    again = import_transcripts(new_ws, "codex", tmp_path / "s")
    assert again.sessions == 0 and again.already_imported == 1
    assert len(list(iter_session_files(new_ws))) == 1


def test_early_rollouts_without_envelope(new_ws: Workspace, tmp_path: Path) -> None:
    lines = [
        {"id": T1, "timestamp": "2025-05-01T10:00:00.000Z", "instructions": None},
        {"record_type": "state"},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "list the files"}]},
        {"type": "function_call", "name": "shell", "arguments": "{\"command\":[\"ls\"]}", "call_id": "c1"},
        {"type": "function_call_output", "call_id": "c1",
         "output": json.dumps({"output": "no such dir", "metadata": {"exit_code": 2}})},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "It is empty."}]},
    ]
    p = tmp_path / "old" / "rollout-2025-05-01-x.jsonl"
    p.parent.mkdir()
    p.write_text("".join(json.dumps(x) + "\n" for x in lines))
    import_transcripts(new_ws, "codex", p)
    events = sessions(new_ws)[T1]
    assert events[0]["task"]["prompt"] == "list the files"
    assert events[0]["ts"].startswith("2025-05-01T10:00:00")
    result = next(b for b in blocks(events, "user") if b["type"] == "tool_result")
    assert result["is_error"] is True and result["content"].startswith("Exit code: 2")
    assert events[-1]["totals"]["tool_errors"] == 1


def test_output_as_content_items_and_success_flag(new_ws: Workspace, tmp_path: Path) -> None:
    head = {"timestamp": "2026-04-05T08:00:00.000Z", "type": "session_meta",
            "payload": {"id": T1, "timestamp": "2026-04-05T08:00:00.000Z", "cwd": "/w", "source": "exec"}}
    items = [
        {"type": "custom_tool_call", "call_id": "c1", "name": "apply_patch", "input": "*** Begin Patch"},
        {"type": "custom_tool_call_output", "call_id": "c1", "output": [{"type": "input_text", "text": "Done!"}]},
        {"type": "function_call", "call_id": "c2", "name": "read", "arguments": "not json"},
        {"type": "function_call_output", "call_id": "c2", "output": {"content": "denied", "success": False}},
        {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "<permissions>"}]},
    ]
    p = tmp_path / "r.jsonl"
    p.write_text(json.dumps(head) + "\n" + "".join(
        json.dumps({"timestamp": "2026-04-05T08:00:01.000Z", "type": "response_item", "payload": i}) + "\n"
        for i in items))
    s = import_transcripts(new_ws, "codex", p)
    events = sessions(new_ws)[T1]
    uses = [b for b in blocks(events, "assistant") if b["type"] == "tool_use"]
    assert uses[0]["input"] == {"input": "*** Begin Patch"} and uses[1]["input"] == {"arguments": "not json"}
    results = [b for b in blocks(events, "user") if b["type"] == "tool_result"]
    assert [(r["content"], r["is_error"]) for r in results] == [("Done!", False), ("denied", True)]
    assert s.lines.ignored["message:developer"] == 1


def test_default_path_follows_codex_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "ch"))
    assert default_path() == tmp_path / "ch" / "sessions"
    monkeypatch.delenv("CODEX_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_path() == tmp_path / ".codex" / "sessions"


def test_a_line_of_a_shape_no_version_writes_is_skipped_and_counted(new_ws: Workspace, tmp_path: Path) -> None:
    """Found by fuzzing: a list where an item's type belongs, a duration no float holds. Each stopped the
    whole import with an internal error; now the line counts as malformed and the rest is imported."""
    path, exp = codex_rollout(tmp_path / "sessions", thread_id=T1, start=utc(2026, 4, 1, 8), rounds=2)
    odd = [{"timestamp": "2026-04-01T08:00:30Z", "type": "event_msg",
            "payload": {"type": "item_completed", "item": {"type": ["CommandExecution"]}}},
           {"timestamp": "2026-04-01T08:00:31Z", "type": "event_msg",
            "payload": {"type": "exec_command_end", "call_id": "c9", "duration": {"secs": 10**400, "nanos": 0}}}]
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines[:3], *(json.dumps(o) for o in odd), *lines[3:]]) + "\n")
    s = import_transcripts(new_ws, "codex", tmp_path / "sessions")
    assert (s.transcripts, s.sessions, s.lines.malformed) == (1, 1, 2)
    totals = sessions(new_ws)[T1][-1]["totals"]
    assert (totals["tool_calls"], totals["turns"]) == (exp.tool_calls, exp.turns)
