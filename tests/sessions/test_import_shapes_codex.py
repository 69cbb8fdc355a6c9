"""Codex rollouts: one test per event shape the current releases write (docs/importers.md), each read
into the session log or counted by name as ignored; failed commands, durations, unanswered calls and
the status of a rollout are what the file says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dreamcli.sessions.importers.codex_items import IGNORED_EVENTS, ITEM_TYPES
from dreamcli.sessions.importers.toolfacts import duration_ms, facts_from_text
from dreamcli.workspace.home import Workspace
from tests.sessions.shapes import (
    THREAD,
    call,
    check_totals_equal_events,
    event,
    imported,
    of_type,
    output,
    results,
    rollout,
    say,
    tools,
    user,
    uses,
)

RAN = ("Chunk ID: 6e6db0\nWall time: 1.0024 seconds\nProcess exited with code {code}\n"
       "Original token count: 9\nOutput:\n{out}\n")


def one(ws: Workspace, tmp_path: Path, items: list[tuple[str, dict]]) -> tuple[Any, list[dict]]:
    s, got = imported(ws, "codex", rollout(tmp_path / "r" / "rollout.jsonl", items))
    events = got[THREAD]
    check_totals_equal_events(events)
    return s, events


def test_unified_exec_output_with_exit_code_after_the_header_is_a_failure(new_ws: Workspace, tmp_path: Path) -> None:
    _, events = one(new_ws, tmp_path, [user("run the tests"), call("c1"),
                                       output("c1", RAN.format(code=2, out="2 failed")), say("Two fail.")])
    fact = tools(events)["c1"]
    assert (fact["exit_code"], fact["error_kind"], fact["duration_ms"]) == (2, "exit_nonzero", 1002.4)
    assert results(events)["c1"]["is_error"] is True
    assert events[-1]["totals"]["tool_errors"] == 1


def test_exit_code_zero_is_a_success_with_its_wall_time(new_ws: Workspace, tmp_path: Path) -> None:
    _, events = one(new_ws, tmp_path, [user("ls"), call("c1"), output("c1", RAN.format(code=0, out="a b"))])
    fact = tools(events)["c1"]
    assert (fact["exit_code"], fact["error_kind"], fact["duration_ms"]) == (0, None, 1002.4)


def test_exec_command_end_before_the_output_gives_exit_code_status_and_duration(new_ws: Workspace,
                                                                                tmp_path: Path) -> None:
    end = event("exec_command_end", call_id="c1", turn_id="t1", command=["bash", "-lc", "ls /nope"],
                aggregated_output="ls: /nope: No such file", exit_code=2, status="failed",
                duration={"secs": 0, "nanos": 5000000}, stdout="", stderr="", formatted_output="")
    s, events = one(new_ws, tmp_path, [user("ls"), call("c1"), end, output("c1", "ls: /nope: No such file")])
    fact = tools(events)["c1"]
    assert (fact["exit_code"], fact["error_kind"], fact["duration_ms"]) == (2, "exit_nonzero", 5.0)
    assert results(events)["c1"]["is_error"] is True
    assert "event_msg:exec_command_end" not in s.lines.ignored and s.lines.unknown == {}


def test_exec_command_end_after_its_output_is_counted_by_name(new_ws: Workspace, tmp_path: Path) -> None:
    s, events = one(new_ws, tmp_path, [user("build"), call("c1"), output("c1", RAN.format(code=0, out="ok")),
                                       event("exec_command_end", call_id="c1", exit_code=0, status="completed")])
    assert s.lines.ignored["event_msg:exec_command_end:after_output"] == 1
    assert tools(events)["c1"]["exit_code"] == 0


def test_background_process_then_write_stdin_poll_that_fails(new_ws: Workspace, tmp_path: Path) -> None:
    running = "Chunk ID: a\nWall time: 1.0 seconds\nProcess running with session ID 42\nOutput:\nBuilding...\n"
    _, events = one(new_ws, tmp_path, [
        user("build"), call("c1", args={"cmd": "npm run build"}), output("c1", running),
        call("c2", "write_stdin", {"session_id": 42, "chars": ""}), output("c2", RAN.format(code=1, out="boom"))])
    facts = tools(events)
    assert facts["c1"]["error_kind"] is None and facts["c1"]["exit_code"] is None and facts["c1"]["running"]
    assert (facts["c2"]["name"], facts["c2"]["exit_code"], facts["c2"]["error_kind"]) == (
        "write_stdin", 1, "exit_nonzero")


def test_shell_command_timeout(new_ws: Workspace, tmp_path: Path) -> None:
    text = "Exit code: 124\nWall time: 10 seconds\nOutput:\ncommand timed out after 10000 milliseconds\n"
    _, events = one(new_ws, tmp_path, [user("wait"), call("c1", "shell_command", {"command": "sleep 99"}),
                                       output("c1", text)])
    fact = tools(events)["c1"]
    assert (fact["exit_code"], fact["error_kind"], fact["duration_ms"]) == (124, "timeout", 10000.0)


def test_shell_json_output_with_metadata(new_ws: Workspace, tmp_path: Path) -> None:
    out = json.dumps({"output": "boom", "metadata": {"exit_code": 3, "duration_seconds": 0.25}})
    _, events = one(new_ws, tmp_path, [user("x"), call("c1", "shell", {"command": ["false"]}), output("c1", out)])
    fact = tools(events)["c1"]
    assert (fact["exit_code"], fact["error_kind"], fact["duration_ms"]) == (3, "exit_nonzero", 250.0)
    assert results(events)["c1"]["content"] == "Exit code: 3\nboom"


@pytest.mark.parametrize(("end", "kind"), [({"success": False, "status": "failed"}, "exception"),
                                            ({"success": False, "status": "declined"}, "refused"),
                                            ({"success": True, "status": "completed"}, None)])
def test_patch_apply_end_decides_the_apply_patch_result(new_ws: Workspace, tmp_path: Path, end: dict,
                                                        kind: str | None) -> None:
    items = [user("patch it"),
             ("response_item", {"type": "custom_tool_call", "call_id": "p1", "name": "apply_patch",
                                "input": "*** Begin Patch\n*** End Patch", "status": "completed"}),
             event("patch_apply_end", call_id="p1", turn_id="t", stdout="", stderr="", changes={}, **end),
             ("response_item", {"type": "custom_tool_call_output", "call_id": "p1", "output": "patch result"})]
    _, events = one(new_ws, tmp_path, items)
    assert tools(events)["p1"]["error_kind"] == kind and tools(events)["p1"]["name"] == "apply_patch"


def test_mcp_tool_call_end_error_and_duration(new_ws: Workspace, tmp_path: Path) -> None:
    end = event("mcp_tool_call_end", call_id="m1", invocation={"server": "docs", "tool": "search"},
                duration={"secs": 1, "nanos": 500000000}, result={"Err": "server crashed"})
    _, events = one(new_ws, tmp_path, [user("look it up"), call("m1", "mcp__docs__search", {"q": "x"}), end,
                                       output("m1", "err: server crashed")])
    fact = tools(events)["m1"]
    assert (fact["error_kind"], fact["duration_ms"]) == ("exception", 1500.0)


def test_namespaced_function_call_keeps_the_server_name(new_ws: Workspace, tmp_path: Path) -> None:
    item = ("response_item", {"type": "function_call", "namespace": "docs", "name": "search", "call_id": "n1",
                              "arguments": "{}"})
    _, events = one(new_ws, tmp_path, [user("q"), item, output("n1", "found")])
    assert tools(events)["n1"]["name"] == "docs.search"


def test_web_search_call_is_a_call_answered_by_the_server(new_ws: Workspace, tmp_path: Path) -> None:
    ws_item = ("response_item", {"type": "web_search_call", "status": "completed",
                                 "action": {"type": "search", "query": "codex rollout format"}})
    s, events = one(new_ws, tmp_path, [user("search"), ws_item,
                                       event("web_search_end", call_id="ws_1", query="codex rollout format"),
                                       say("Found it.")])
    (use,) = uses(events)
    assert use["name"] == "web_search" and use["input"]["query"] == "codex rollout format"
    fact = tools(events)[use["id"]]
    assert fact["error_kind"] is None and not fact.get("unanswered")
    assert s.lines.ignored["event_msg:web_search_end"] == 1
    assert events[-1]["status"] == "completed"


def test_local_shell_call(new_ws: Workspace, tmp_path: Path) -> None:
    item = ("response_item", {"type": "local_shell_call", "call_id": "l1", "status": "completed",
                              "action": {"type": "exec", "command": ["ls"]}})
    _, events = one(new_ws, tmp_path, [user("ls"), item, output("l1", "Exit code: 0\nOutput:\na\n")])
    assert tools(events)["l1"]["name"] == "local_shell" and tools(events)["l1"]["exit_code"] == 0


def test_turn_context_sets_the_model_and_is_counted(new_ws: Workspace, tmp_path: Path) -> None:
    s, events = one(new_ws, tmp_path, [("turn_context", {"cwd": "/w", "model": "gpt-5.1-codex"}), user("hi"),
                                       say("hello")])
    assert events[0]["model"] == "gpt-5.1-codex" and s.lines.ignored["turn_context"] == 1
    assert next(e for e in of_type(events, "message") if e["role"] == "assistant")["model"] == "gpt-5.1-codex"


def test_compaction_shapes_are_counted_by_name(new_ws: Workspace, tmp_path: Path) -> None:
    s, _ = one(new_ws, tmp_path, [user("go"), say("ok"), ("compacted", {"message": "summary"}),
                                  ("response_item", {"type": "compaction", "encrypted_content": "x"}),
                                  event("context_compacted")])
    assert (s.lines.ignored["compacted"], s.lines.ignored["compaction"],
            s.lines.ignored["event_msg:context_compacted"]) == (1, 1, 1)


def test_injected_context_is_not_the_prompt_and_is_marked(new_ws: Workspace, tmp_path: Path) -> None:
    _, events = one(new_ws, tmp_path, [user("<environment_context>\n<cwd>/w</cwd>\n</environment_context>"),
                                       user("# AGENTS.md instructions for /w\n..."), user("fix the bug"), say("done")])
    assert events[0]["task"]["prompt"] == "fix the bug"
    origins = [(e.get("origin"), e.get("harness_kind")) for e in of_type(events, "message") if e["role"] == "user"]
    assert origins == [("harness", "context"), ("harness", "context"), (None, None)]


# ---------------------------------------------------------------- how a rollout ends


def test_unanswered_call_at_the_end_is_recorded_and_the_session_is_incomplete(new_ws: Workspace,
                                                                              tmp_path: Path) -> None:
    s, events = one(new_ws, tmp_path, [event("task_started"), user("build"), call("c1"),
                                       output("c1", RAN.format(code=0, out="ok")), call("c2")])
    fact = tools(events)["c2"]
    assert fact["unanswered"] is True and fact["error_kind"] is None and fact["exit_code"] is None
    end = events[-1]
    assert end["status"] == "incomplete"
    assert (end["totals"]["tool_calls"], end["totals"]["tool_unanswered"], s.tool_unanswered) == (2, 1, 1)
    assert s.statuses == {"incomplete": 1}


@pytest.mark.parametrize(("tail", "status"), [
    ([say("done"), event("task_complete", last_agent_message="done")], "completed"),
    ([event("turn_aborted", reason="interrupted")], "interrupted"),
    ([say("Let me look at the build first.")], "incomplete"),  # a turn that never completed
    ([event("error", message="stream disconnected")], "error"),
])
def test_status_follows_the_turn_events(new_ws: Workspace, tmp_path: Path, tail: list, status: str) -> None:
    _, events = one(new_ws, tmp_path, [event("task_started", model_context_window=1000), user("do it"), *tail])
    assert events[-1]["status"] == status
    if status == "error":
        assert events[-1]["error"] == "stream disconnected"


def test_release_without_turn_events_ends_on_the_answer(new_ws: Workspace, tmp_path: Path) -> None:
    _, events = one(new_ws, tmp_path, [user("q"), say("a")])
    assert events[-1]["status"] == "completed"
    other = Workspace(root=tmp_path / "ws2", source="option")
    _, events = one(other, tmp_path / "2", [user("q"), call("c1"), output("c1", "ok")])
    assert events[-1]["status"] == "incomplete"  # tool output, then nothing


def test_turn_aborted_marker_message(new_ws: Workspace, tmp_path: Path) -> None:
    _, events = one(new_ws, tmp_path, [user("go"), say("working"), user("<turn_aborted>\nThe user interrupted"
                                                                        "\n</turn_aborted>")])
    assert events[-1]["status"] == "interrupted"


# ---------------------------------------------------------------- lines that are not transcript events


def test_file_of_usage_only_lines_is_counted_not_empty(new_ws: Workspace, tmp_path: Path) -> None:
    p = tmp_path / "u" / "rollout.jsonl"
    p.parent.mkdir()
    p.write_text("".join(json.dumps({"timestamp": "2026-06-01T09:00:00Z", "type": "event_msg",
                                     "payload": {"type": "token_count", "info": None}}) + "\n" for _ in range(3)))
    s, got = imported(new_ws, "codex", p.parent)
    assert got == {} and (s.files, s.empty, s.without_messages) == (1, 0, 1)
    assert s.lines.lines == 3 and s.lines.ignored["event_msg:token_count"] == 3


COUNTS = {"input_tokens": 100, "cached_input_tokens": 40, "output_tokens": 7, "reasoning_output_tokens": 0,
          "total_tokens": 107}


def _token_count(info: object) -> tuple[str, dict]:
    return event("token_count", info=info, rate_limits={"primary": {"used_percent": 12.5}})


@pytest.mark.parametrize(("info", "odd", "output_tokens"), [
    ({"total_token_usage": COUNTS, "last_token_usage": COUNTS}, False, 7),
    ({"total_token_usage": COUNTS, "last_token_usage": {**COUNTS, "output_tokens": None}}, False, 0),
    ({"total_token_usage": COUNTS, "last_token_usage": {**COUNTS, "output_tokens": "7"}}, True, 0),
    ({"total_token_usage": COUNTS, "last_token_usage": {**COUNTS, "output_tokens": {"n": 7}}}, True, 0),
    ({"total_token_usage": COUNTS, "last_token_usage": {**COUNTS, "output_tokens": True}}, True, 0),
    ({"total_token_usage": {**COUNTS, "total_tokens": "107"}, "last_token_usage": COUNTS}, True, 7),
    ({"total_token_usage": COUNTS, "last_token_usage": "7 tokens"}, True, 7),  # the step read from the total
])
def test_token_count_with_counters_that_are_not_numbers_is_malformed(new_ws: Workspace, tmp_path: Path, info: dict,
                                                                     odd: bool, output_tokens: int) -> None:
    """A counter that is null counts 0; one that is not a number counts 0 too and the line is counted malformed
    (as Claude Code's usage): the line's other counters are still read."""
    s, events = one(new_ws, tmp_path, [user("q"), say("a"), _token_count(info)])
    assert (s.lines.malformed, s.lines.imported) == ((1, 2) if odd else (0, 3))
    totals = events[-1]["totals"]
    assert (totals["input_tokens"], totals["cache_read_tokens"], totals["output_tokens"]) == (60, 40, output_tokens)
    assert totals["turns"] == 1 and events[-1]["status"] == "completed"


def test_unknown_shapes_are_counted_by_name(new_ws: Workspace, tmp_path: Path) -> None:
    s, _ = one(new_ws, tmp_path, [user("q"), event("brand_new_event", x=1),
                                  ("response_item", {"type": "hologram_call", "call_id": "h"}),
                                  ("hologram_state", {"x": 1}), say("a")])
    assert s.lines.unknown == {"event_msg:brand_new_event": 1, "response_item:hologram_call": 1, "hologram_state": 1}


@pytest.mark.parametrize("payload", [
    {"type": "function_call_output", "call_id": 7, "output": None},
    {"type": "function_call_output", "call_id": "x", "output": {"content": ["a", 1], "success": "no"}},
    {"type": "function_call", "call_id": "y", "name": None, "arguments": ["not", "a", "string"]},
    {"type": "reasoning", "summary": "not a list", "content": 3},
    {"type": "message", "role": "user", "content": {"odd": True}},
    {"type": "web_search_call", "action": "search"},
    {"type": "exec_command_end", "call_id": "y", "exit_code": "2", "duration": {"secs": -1}},
])
def test_bad_payloads_never_crash_an_import(new_ws: Workspace, tmp_path: Path, payload: dict) -> None:
    kind = "event_msg" if payload["type"].endswith("_end") else "response_item"
    s, events = one(new_ws, tmp_path, [user("q"), (kind, payload), event("exec_command_end", call_id=None),
                                       event("mcp_tool_call_end", call_id="z", result="??", duration="soon"),
                                       say("a")])
    assert events[-1]["type"] == "session.end" and s.sessions == 1


def test_tool_fact_parsers() -> None:
    assert duration_ms({"secs": 2, "nanos": 1_000_000}) == 2001.0
    assert duration_ms("1.5s") == 1500.0 and duration_ms("120ms") == 120.0 and duration_ms(True) is None
    f = facts_from_text("Exit code 1\nerror: boom")  # Claude Code's Bash error
    assert (f.exit_code, f.failed) == (1, True)
    assert facts_from_text("output that mentions Exit code: 3 later").exit_code is None
    assert facts_from_text("Command timed out after 2m 0.0s").error_kind == "timeout"


IGNORED_ITEMS = sorted(ITEM_TYPES - {"message", "reasoning", "function_call", "function_call_output",
                                     "custom_tool_call", "custom_tool_call_output", "local_shell_call",
                                     "web_search_call"})


@pytest.mark.parametrize("kind", IGNORED_ITEMS)
def test_every_ignored_response_item_is_counted_by_name(new_ws: Workspace, tmp_path: Path, kind: str) -> None:
    s, events = one(new_ws, tmp_path, [user("q"), ("response_item", {"type": kind, "call_id": "z"}), say("a")])
    assert s.lines.ignored[kind] == 1 and s.lines.unknown == {} and events[-1]["status"] == "completed"


@pytest.mark.parametrize("kind", sorted(IGNORED_EVENTS))
def test_every_ignored_event_is_counted_by_name(new_ws: Workspace, tmp_path: Path, kind: str) -> None:
    s, _ = one(new_ws, tmp_path, [user("q"), event(kind, call_id="z"), say("a")])
    assert s.lines.ignored[f"event_msg:{kind}"] == 1 and s.lines.unknown == {}


def test_lines_nested_too_deep_are_corrupt_not_a_crash(new_ws: Workspace, tmp_path: Path) -> None:
    p = rollout(tmp_path / "d" / "rollout.jsonl", [user("q"), say("a")])
    with open(p, "a") as f:
        f.write("[" * 100_000 + "\n")
    s, events = imported(new_ws, "codex", p)
    assert s.lines.corrupt == 1 and events[THREAD][-1]["status"] == "completed"
