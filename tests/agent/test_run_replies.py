"""Replies that are not what they should be: a stream cut before `message_stop`, a reply without a
stop_reason, tool calls under every stop_reason, tool_use blocks without an id or a name, and a task
that grants no tools. All against the fake server (a cut stream is its own event stream, shortened)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import dreamcli.testing.fake_anthropic.http_handler as http_handler
from dreamcli.agent import RunOptions, modelcall, prompt_spec, run_agent
from dreamcli.agent.spec import TaskSpec
from dreamcli.config import Config
from dreamcli.testing import FakeAnthropic, Reply, text_reply, tool_reply, tool_use
from dreamcli.testing.fake_anthropic.sse import message_events
from dreamcli.workspace.home import Workspace
from tests.support.run import Recorder, cli_env, of_type, run_cli, session_files, validate_log

CUT = "cut-here"  # a reply with this model streams only part of itself (see `cut_streams`)
RM = '{"command": "rm -rf build/cache"'  # a tool call whose JSON never closed


@pytest.fixture
def wd(tmp_path: Path) -> Path:
    d = tmp_path / "wd"
    (d / "build" / "cache").mkdir(parents=True)
    (d / "build" / "cache" / "x").write_text("x")
    return d


@pytest.fixture
def cut_streams(monkeypatch: pytest.MonkeyPatch) -> None:
    """A reply whose model is CUT ends its stream early and cleanly (a connection closed between two
    events): a tool_use block after its first piece of JSON, replaced by RM; otherwise right before
    `message_delta`, so neither the stop_reason nor `message_stop` arrives."""
    monkeypatch.setattr(modelcall, "RETRY_BASE_S", 0.001)

    def events(message: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
        if message.get("model") != CUT:
            yield from message_events(message)
            return
        for name, data in message_events(dict(message, model="claude-sonnet-5-5")):
            if name == "content_block_delta" and data["delta"].get("type") == "input_json_delta":
                yield name, {**data, "delta": {"type": "input_json_delta", "partial_json": RM}}
                return
            if name == "message_delta":
                return
            yield name, data

    monkeypatch.setattr(http_handler, "message_events", events)


def cut(reply: Reply) -> Reply:
    reply.model = CUT
    return reply


def run(ws: Workspace, wd: Path, *, config: Config | None = None, spec: TaskSpec | None = None,
        **options: Any) -> Any:
    rec = Recorder()
    result = run_agent(ws, config or Config(), spec or prompt_spec("clean up"), RunOptions(workdir=wd, **options),
                       callbacks=rec)
    result.events = validate_log(result.path)  # type: ignore[attr-defined]
    return result


def assistant_messages(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in of_type(events, "message") if e["role"] == "assistant"]


def answered(events: list[dict[str, Any]]) -> None:
    """Every tool_use in the log has its tool_result in the next message."""
    messages = of_type(events, "message")
    for i, m in enumerate(messages):
        ids = [b["id"] for b in m["content"] if b.get("type") == "tool_use"]
        if ids:
            assert i + 1 < len(messages), f"tool calls {ids} left unanswered at the end of the log"
            results = [b["tool_use_id"] for b in messages[i + 1]["content"] if b.get("type") == "tool_result"]
            assert results == ids


# --- 1. a stream that ends without message_stop --------------------------------------------------


def test_a_cut_tool_call_is_never_run_and_the_call_is_retried(
    fake_anthropic: FakeAnthropic, cut_streams: None, bare_ws: Workspace, wd: Path
) -> None:
    fake_anthropic.expect(cut(tool_reply(tool_use("bash", {"command": "rm -rf build/cache/tmp-1"}))),
                          text_reply("Nothing to clean."))
    r = run(bare_ws, wd, yes=True)
    assert (wd / "build" / "cache" / "x").exists()
    assert (r.status, r.exit_code, r.final_text) == ("completed", 0, "Nothing to clean.")
    assert of_type(r.events, "tool") == []
    [assistant] = assistant_messages(r.events)
    assert assistant["stop_reason"] == "end_turn" and assistant["retries"] == 1


def test_a_stream_cut_on_every_attempt_ends_the_run_as_a_model_error(
    fake_anthropic: FakeAnthropic, cut_streams: None, bare_ws: Workspace, wd: Path
) -> None:
    config = Config.model_validate({"limits": {"model_retries": 1}})
    fake_anthropic.expect(cut(tool_reply(tool_use("bash", {"command": "rm -rf build/cache/tmp-1"}))),
                          cut(tool_reply(tool_use("bash", {"command": "rm -rf build/cache/tmp-1"}))))
    r = run(bare_ws, wd, config=config, yes=True)
    assert (wd / "build" / "cache" / "x").exists()
    assert (r.status, r.exit_code) == ("error", 3)
    assert "closed mid-response after 1 retry" in r.error and "message_stop" in r.error
    assert assistant_messages(r.events) == [] and of_type(r.events, "tool") == []


def test_a_cut_answer_is_not_taken_for_the_answer(
    fake_anthropic: FakeAnthropic, cut_streams: None, bare_ws: Workspace, wd: Path
) -> None:
    config = Config.model_validate({"limits": {"model_retries": 0}})
    fake_anthropic.expect(cut(text_reply("The answer is: do NOT deploy, because the tests fail")))
    r = run(bare_ws, wd, config=config)
    assert (r.status, r.exit_code, r.final_text) == ("error", 3, "")
    assert assistant_messages(r.events) == []


def test_a_reply_without_a_stop_reason_is_a_failed_call(
    fake_anthropic: FakeAnthropic, bare_ws: Workspace, wd: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(modelcall, "RETRY_BASE_S", 0.001)
    config = Config.model_validate({"limits": {"model_retries": 1}})
    replies = [tool_reply(tool_use("bash", {"command": "rm -rf build/cache"})) for _ in range(2)]
    for reply in replies:
        reply.stop_reason = None  # message_stop arrives, but message_delta carried no stop_reason
    fake_anthropic.expect(*replies)
    r = run(bare_ws, wd, config=config, yes=True)
    assert (wd / "build" / "cache" / "x").exists()
    assert (r.status, r.exit_code) == ("error", 3) and "stop_reason" in r.error
    assert assistant_messages(r.events) == []


def test_cli_prints_no_cut_answer_and_exits_3(
    fake_anthropic: FakeAnthropic, cut_streams: None, tmp_path: Path, wd: Path
) -> None:
    home = tmp_path / "home"
    fake_anthropic.expect(*[cut(text_reply("The answer is: do NOT deploy")) for _ in range(2)])
    env = cli_env(fake_anthropic.url, home)
    home.mkdir()
    (home / "config.yaml").write_text("limits:\n  model_retries: 1\n")
    p = run_cli(["--home", str(home), "run", "-p", "deploy?", "-C", str(wd), "--yes", "--no-playbooks"], env=env)
    assert p.returncode == 3, p.stderr
    assert "The answer is" not in p.stdout
    assert "closed mid-response" in p.stderr
    [log] = session_files(home)
    assert validate_log(log)[-1]["status"] == "error"


# --- 2. tool calls under every stop_reason -------------------------------------------------------


@pytest.mark.parametrize("reason", ["stop_sequence", "pause_turn", "end_turn"])
def test_tool_calls_are_run_and_answered_under_any_reason_that_continues(
    fake_anthropic: FakeAnthropic, bare_ws: Workspace, wd: Path, reason: str
) -> None:
    reply = tool_reply(tool_use("bash", {"command": "touch ran.txt"}))
    reply.stop_reason = reason
    fake_anthropic.expect(reply, text_reply("done"))
    r = run(bare_ws, wd, yes=True)
    assert (wd / "ran.txt").exists()
    assert (r.status, r.exit_code, r.final_text) == ("completed", 0, "done")
    answered(r.events)


@pytest.mark.parametrize("reason", ["some_new_reason", "refusal", "model_context_window_exceeded"])
def test_a_reply_that_ends_the_run_leaves_no_tool_call_unanswered(
    fake_anthropic: FakeAnthropic, bare_ws: Workspace, wd: Path, reason: str
) -> None:
    reply = tool_reply(tool_use("bash", {"command": "touch ran.txt"}))
    reply.stop_reason = reason
    fake_anthropic.expect(reply)
    r = run(bare_ws, wd, yes=True)
    assert not (wd / "ran.txt").exists()
    assert r.status == "error" and r.exit_code in (1, 3)
    answered(r.events)
    if reason == "some_new_reason":
        assert r.exit_code == 3 and "unknown stop_reason 'some_new_reason'" in r.error


def test_tool_use_reason_without_a_tool_call_is_an_error(
    fake_anthropic: FakeAnthropic, bare_ws: Workspace, wd: Path
) -> None:
    fake_anthropic.expect(text_reply("I will call a tool", stop_reason="tool_use"))
    r = run(bare_ws, wd)
    assert (r.status, r.exit_code) == ("error", 3) and "no tool call" in r.error


# --- 3. tool_use blocks without an id or a name --------------------------------------------------


@pytest.mark.parametrize(("block", "problem"), [
    ({"type": "tool_use", "id": None, "name": "bash", "input": {"command": "echo hi"}}, "has no id"),
    ({"type": "tool_use", "id": "toolu_x1", "name": None, "input": {"command": "echo hi"}}, "has no name"),
])
def test_a_tool_call_without_id_or_name_is_named_in_one_line(
    fake_anthropic: FakeAnthropic, bare_ws: Workspace, wd: Path, block: dict[str, Any], problem: str
) -> None:
    fake_anthropic.expect(Reply(content=[block], stop_reason="tool_use"))
    r = run(bare_ws, wd, yes=True)
    assert (r.status, r.exit_code) == ("error", 3)
    assert r.error.startswith("model call (turn 1): the reply's tool_use block 1 ") and problem in r.error
    assert "KeyError" not in r.error and "\n" not in r.error


# --- 5. `tools: []` ------------------------------------------------------------------------------


def test_an_empty_tool_list_grants_no_tools(fake_anthropic: FakeAnthropic, bare_ws: Workspace, wd: Path) -> None:
    fake_anthropic.expect(text_reply("no tools here", match=lambda req: not req.body.get("tools")))
    r = run(bare_ws, wd, spec=TaskSpec(prompt="hi", tools=()))
    assert r.status == "completed"
    assert r.events[0]["tools"] == []


# --- 6. names that are not UTF-8 -----------------------------------------------------------------


def test_a_file_name_that_is_not_utf8_is_logged_and_sent_as_u_fffd(
    fake_anthropic: FakeAnthropic, bare_ws: Workspace, wd: Path
) -> None:
    with open(os.path.join(os.fsencode(wd), b"bad\xffname.txt"), "wb") as f:
        f.write(b"needle\n")
    fake_anthropic.expect(tool_reply(tool_use("glob", {"pattern": "*.txt"})), text_reply("done"))
    r = run(bare_ws, wd)
    assert (r.status, r.exit_code) == ("completed", 0)
    sent = json.dumps(fake_anthropic.requests[1].messages[-1]["content"], ensure_ascii=False)
    assert "bad\ufffdname.txt" in sent
    assert "bad\ufffdname.txt" in json.dumps(of_type(r.events, "message")[-2]["content"], ensure_ascii=False)


def test_a_workdir_that_is_not_utf8_still_runs_and_logs(
    fake_anthropic: FakeAnthropic, bare_ws: Workspace, tmp_path: Path
) -> None:
    bad = Path(os.fsdecode(os.path.join(os.fsencode(tmp_path), b"proj\xff")))
    bad.mkdir()
    fake_anthropic.expect(text_reply("done"))
    r = run(bare_ws, bad)
    assert (r.status, r.exit_code) == ("completed", 0)
    assert r.events[0]["workdir"].endswith("proj\ufffd")
