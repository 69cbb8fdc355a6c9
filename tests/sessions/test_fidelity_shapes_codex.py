"""Codex 0.15x shapes found in the recorded fidelity corpus (tests/sessions/fidelity/codex/yepanywhere/),
one test each: a code-mode `exec` script whose nested command failed (known only from an
`item_completed` `CommandExecution` without a call id), a context message named by
`content_item_kinds`, and the `token_usage_record` / `thread_settings_applied` / `world_state` lines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dreamcli.workspace.home import Workspace
from tests.sessions.shapes import THREAD, check_totals_equal_events, event, imported, rollout, say, tools, user

SCRIPT_DONE = [{"type": "input_text", "text": "Script completed\nWall time 1.3 seconds\nOutput:\n"},
               {"type": "input_text", "text": "{\"output\":\"FIXTURE_FAILURE\\n\",\"exit_code\":7}"}]


def exec_call(call_id: str, name: str = "exec") -> tuple[str, dict]:
    return ("response_item", {"type": "custom_tool_call", "status": "completed", "call_id": call_id, "name": name,
                              "input": "const r = await tools.exec_command({cmd:\"make\"}); text(r.output);\n"})


def exec_output(call_id: str) -> tuple[str, dict]:
    return ("response_item", {"type": "custom_tool_call_output", "call_id": call_id, "output": SCRIPT_DONE})


def ran(status: str, code: int | None, kind: str = "CommandExecution") -> tuple[str, dict]:
    item: dict[str, Any] = {"type": kind, "id": "exec-1", "status": status, "source": "unified_exec_startup",
                            "duration": {"secs": 1, "nanos": 154075917}}
    if code is not None:
        item["exit_code"] = code
    return event("item_completed", thread_id=THREAD, turn_id="t1", item=item)


def one(ws: Workspace, tmp_path: Path, items: list[tuple[str, dict]]) -> tuple[Any, list[dict]]:
    s, got = imported(ws, "codex", rollout(tmp_path / "r" / "rollout.jsonl", items, version="0.154.0"))
    events = got[THREAD]
    check_totals_equal_events(events)
    return s, events


def test_code_mode_script_whose_command_failed_is_a_failure_with_its_exit_code(new_ws: Workspace,
                                                                              tmp_path: Path) -> None:
    s, events = one(new_ws, tmp_path, [user("run it"), exec_call("c1"), ran("failed", 7), exec_output("c1"),
                                       say("Done.")])
    fact = tools(events)["c1"]
    assert (fact["exit_code"], fact["error_kind"]) == (7, "exit_nonzero")
    assert events[-1]["totals"]["tool_errors"] == 1
    assert "event_msg:item_completed" not in s.lines.ignored


def test_a_failure_is_kept_over_a_later_success_of_the_same_script(new_ws: Workspace, tmp_path: Path) -> None:
    _, events = one(new_ws, tmp_path, [user("run it"), exec_call("c1"), ran("failed", 2), ran("completed", 0),
                                       exec_output("c1")])
    assert (tools(events)["c1"]["exit_code"], tools(events)["c1"]["error_kind"]) == (2, "exit_nonzero")


def test_code_mode_script_whose_command_succeeded_has_exit_code_zero(new_ws: Workspace, tmp_path: Path) -> None:
    _, events = one(new_ws, tmp_path, [user("run it"), exec_call("c1"), ran("completed", 0), exec_output("c1")])
    assert (tools(events)["c1"]["exit_code"], tools(events)["c1"]["error_kind"]) == (0, None)


def test_a_nested_file_change_that_failed_fails_its_script(new_ws: Workspace, tmp_path: Path) -> None:
    _, events = one(new_ws, tmp_path, [user("patch it"), exec_call("c1"), ran("failed", None, "FileChange"),
                                       exec_output("c1")])
    assert tools(events)["c1"]["error_kind"] == "exception"


def test_nested_item_is_not_given_to_a_call_it_may_not_belong_to(new_ws: Workspace, tmp_path: Path) -> None:
    """Two calls open, or the one open call is not a code-mode `exec` (a `wait` on a detached script):
    the event names no call, so it is counted as ignored and nothing is guessed."""
    s, events = one(new_ws, tmp_path, [user("run"), exec_call("c1"), exec_call("c2"), ran("failed", 7),
                                       exec_output("c1"), exec_output("c2"), exec_call("c3", name="wait"),
                                       ran("failed", 7), exec_output("c3")])
    assert all(f["error_kind"] is None for f in tools(events).values())
    assert s.lines.ignored["event_msg:item_completed"] == 2


def test_a_call_left_unanswered_by_an_aborted_turn_does_not_block_the_next(new_ws: Workspace,
                                                                           tmp_path: Path) -> None:
    _, events = one(new_ws, tmp_path, [event("task_started", turn_id="t0"), user("run"), exec_call("c0"),
                                       event("turn_aborted", reason="interrupted"),
                                       event("task_started", turn_id="t1"), user("again"), exec_call("c1"),
                                       ran("failed", 7), exec_output("c1"), event("task_complete", turn_id="t1")])
    facts = tools(events)
    assert facts["c0"]["unanswered"] is True
    assert facts["c1"]["exit_code"] == 7


def test_context_message_named_by_content_item_kinds_is_not_the_prompt(new_ws: Workspace, tmp_path: Path) -> None:
    context = ("response_item", {
        "type": "message", "role": "user",
        "content": [{"type": "input_text", "text": "<recommended_plugins>x</recommended_plugins>"},
                    {"type": "input_text", "text": "<environment_context>y</environment_context>"}],
        "internal_chat_message_metadata_passthrough": {
            "content_item_kinds": ["plugins.recommendations", "environments.environment_context"]}})
    unnamed = ("response_item", {  # same kinds, no prefix Codex is known to use
        "type": "message", "role": "user", "content": [{"type": "input_text", "text": "Remember the style."}],
        "internal_chat_message_metadata_passthrough": {"content_item_kinds": ["host_skills.instructions"]}})
    prompt = ("response_item", {
        "type": "message", "role": "user", "content": [{"type": "input_text", "text": "Fix the build"}],
        "internal_chat_message_metadata_passthrough": {"content_item_kinds": ["user.text"]}})
    _, events = one(new_ws, tmp_path, [context, unnamed, prompt, say("On it.")])
    assert events[0]["task"]["prompt"] == "Fix the build"


def test_token_usage_record_thread_settings_and_world_state_are_ignored_by_name(new_ws: Workspace,
                                                                               tmp_path: Path) -> None:
    usage = {"input_tokens": 10, "cached_input_tokens": 0, "output_tokens": 5, "total_tokens": 15}
    s, events = one(new_ws, tmp_path, [
        user("hi"), say("hello"),
        ("token_usage_record", {"thread_id": THREAD, "turn_id": "t1", "usage": usage}),
        ("world_state", {"full": True, "state": {"model": "gpt-5.6-luna"}}),
        event("thread_settings_applied", thread_id=THREAD, thread_settings={"model": "gpt-5.6-luna"})])
    assert s.lines.unknown == {}
    assert (s.lines.ignored["token_usage_record"], s.lines.ignored["event_msg:thread_settings_applied"],
            s.lines.ignored["world_state"]) == (1, 1, 1)
    assert events[-1]["status"] == "completed"

