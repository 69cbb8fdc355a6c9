"""The agent loop in-process against the fake server: streaming, stop reasons, retries, hooks,
recovery from tool errors, cancellation -- and every log validating against the v1 schema."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from dreamcli.agent import RunOptions, TurnContext, modelcall, prompt_spec, run_agent
from dreamcli.agent import conversation as conv
from dreamcli.config import Config
from dreamcli.errors import Interrupted
from dreamcli.testing import (
    FakeAnthropic,
    Reply,
    drop,
    error_reply,
    stream_error_reply,
    text_reply,
    tool_reply,
    tool_use,
)
from dreamcli.workspace.home import Workspace
from tests.support.run import Recorder, of_type, validate_log


@pytest.fixture
def wd(tmp_path: Path) -> Path:
    d = tmp_path / "wd"
    d.mkdir()
    (d / "right.txt").write_text("the answer is 42\n")
    return d


def run(ws: Workspace, wd: Path, prompt: str = "go", *, config: Config | None = None, **kw: Any) -> Any:
    callbacks = kw.pop("callbacks", None) or Recorder()
    options = RunOptions(workdir=wd, **{k: kw.pop(k) for k in list(kw) if k in RunOptions.__dataclass_fields__})
    result = run_agent(ws, config or Config(), prompt_spec(prompt), options, callbacks=callbacks, **kw)
    result.events = validate_log(result.path)  # type: ignore[attr-defined]
    result.recorder = callbacks  # type: ignore[attr-defined]
    return result


def test_streams_text_live_before_running_tools(fake_anthropic: FakeAnthropic, bare_ws: Workspace, wd: Path) -> None:
    long_text = "I will read the file right now, then answer the question. " * 3
    fake_anthropic.expect(tool_reply(tool_use("read", {"file_path": "right.txt"}), text=long_text),
                          text_reply("42."))
    r = run(bare_ws, wd)
    calls = r.recorder.calls
    texts = r.recorder.texts()
    assert len(texts) > 3 and "".join(texts) == long_text + "42."  # many deltas, nothing lost
    first_tool = next(i for i, c in enumerate(calls) if c[0] == "tool_start")
    assert "".join(c[1] for c in calls[:first_tool] if c[0] == "text") == long_text  # shown before the tool ran
    assert calls[0][0] == "start" and calls[-1] == ("end", "completed")
    assert r.final_text == "42."


def test_tool_error_then_recovery(fake_anthropic: FakeAnthropic, bare_ws: Workspace, wd: Path) -> None:
    fake_anthropic.expect(
        tool_reply(tool_use("read", {"file_path": "wrong.txt"}, id="toolu_1")),
        tool_reply(tool_use("read", {"file_path": "right.txt"}, id="toolu_2"),
                   match=lambda req: req.messages[-1]["content"][0]["is_error"] is True),
        text_reply("The answer is 42."),
    )
    r = run(bare_ws, wd)
    assert r.status == "completed" and r.exit_code == 0
    err_block = fake_anthropic.requests[1].messages[-1]["content"][0]
    assert "no such file" in err_block["content"]
    ok_block = fake_anthropic.requests[2].messages[-1]["content"][0]
    assert ok_block == {"type": "tool_result", "tool_use_id": "toolu_2", "content": "the answer is 42\n",
                        "is_error": False}
    assert [t["error_kind"] for t in of_type(r.events, "tool")] == ["not_found", None]
    assert r.totals.tool_errors == 1 and r.totals.tool_calls == 2 and r.totals.turns == 3
    assert r.recorder.tools() == [("read", "wrong.txt", True, "not_found"), ("read", "right.txt", False, None)]


@pytest.mark.slow
def test_retries_injected_529s(fake_anthropic: FakeAnthropic, bare_ws: Workspace, wd: Path) -> None:
    fake_anthropic.expect(error_reply(529, message="Overloaded"), error_reply(529, message="Overloaded"),
                          drop(), text_reply("made it"))
    r = run(bare_ws, wd)
    assert r.status == "completed" and r.final_text == "made it"
    assert len(fake_anthropic.requests) == 4
    assert len(of_type(r.events, "message")) == 2  # one user, one assistant: retries leave no trace


def test_mid_stream_overload_is_retried(fake_anthropic: FakeAnthropic, bare_ws: Workspace, wd: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(modelcall, "RETRY_BASE_S", 0.001)
    fake_anthropic.expect(stream_error_reply("Half an ans"), text_reply("A whole answer."))
    r = run(bare_ws, wd)
    assert r.status == "completed" and r.final_text == "A whole answer."
    assert ("retry", 1, "overloaded_error") in r.recorder.calls
    [assistant] = [m for m in of_type(r.events, "message") if m["role"] == "assistant"]
    assert assistant["retries"] == 1 and assistant["content"] == [{"type": "text", "text": "A whole answer."}]


def test_mid_stream_failure_after_retries_ends_with_error(fake_anthropic: FakeAnthropic, bare_ws: Workspace, wd: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(modelcall, "RETRY_BASE_S", 0.001)
    config = Config.model_validate({"limits": {"model_retries": 1}})
    fake_anthropic.expect(stream_error_reply("a"), stream_error_reply("b"))
    r = run(bare_ws, wd, config=config)
    assert r.status == "error" and r.exit_code == 3 and "Overloaded" in r.error
    assert r.events[-1]["status"] == "error"


def test_max_tokens_asks_to_continue(fake_anthropic: FakeAnthropic, bare_ws: Workspace, wd: Path) -> None:
    fake_anthropic.expect(text_reply("The first half", stop_reason="max_tokens"), text_reply(" and the rest."))
    r = run(bare_ws, wd)
    assert r.status == "completed"
    assert fake_anthropic.requests[1].last_user_text == conv.CONTINUE_AFTER_MAX_TOKENS
    assert [m["stop_reason"] for m in of_type(r.events, "message") if m["role"] == "assistant"] == [
        "max_tokens", "end_turn"]


def test_max_tokens_cut_tool_call_is_not_run(fake_anthropic: FakeAnthropic, bare_ws: Workspace, wd: Path) -> None:
    fake_anthropic.expect(
        tool_reply(tool_use("write", {"file_path": "big.txt", "content": "trunc"}, id="toolu_cut"),
                   stop_reason="max_tokens"),
        text_reply("ok, smaller then"),
    )
    r = run(bare_ws, wd)
    assert r.status == "completed" and not (wd / "big.txt").exists()
    block = fake_anthropic.requests[1].messages[-1]["content"][0]
    assert block["tool_use_id"] == "toolu_cut" and block["is_error"] and "cut off" in block["content"]


def test_repeated_max_tokens_ends_with_a_clear_error(
    fake_anthropic: FakeAnthropic, bare_ws: Workspace, wd: Path
) -> None:
    fake_anthropic.expect(*[text_reply("more", stop_reason="max_tokens") for _ in range(4)])
    r = run(bare_ws, wd)
    assert r.status == "error" and r.exit_code == 1 and "max_tokens" in r.error


def test_pause_turn_resends_to_continue(fake_anthropic: FakeAnthropic, bare_ws: Workspace, wd: Path) -> None:
    fake_anthropic.expect(
        text_reply("Searching...", stop_reason="pause_turn"),
        text_reply("Found it.", match=lambda req: req.messages[-1]["role"] == "assistant"),
    )
    r = run(bare_ws, wd)
    assert r.status == "completed" and r.final_text == "Found it." and r.totals.turns == 2


def test_refusal_ends_with_error_and_the_refusal_text(
    fake_anthropic: FakeAnthropic, bare_ws: Workspace, wd: Path
) -> None:
    fake_anthropic.expect(text_reply("I can't help with that.", stop_reason="refusal"))
    r = run(bare_ws, wd)
    assert (r.status, r.exit_code) == ("error", 1)
    assert r.error == "the model refused: I can't help with that."
    assert r.events[-1]["error"] == r.error


@pytest.mark.parametrize("reply", [
    text_reply("", stop_reason="model_context_window_exceeded"),
    error_reply(400, message="prompt is too long: 210000 tokens > 200000 maximum"),
])
def test_context_window_exceeded_ends_clearly(fake_anthropic: FakeAnthropic, bare_ws: Workspace, wd: Path,
                                              reply: Reply) -> None:
    fake_anthropic.expect(reply)
    r = run(bare_ws, wd)
    assert (r.status, r.exit_code) == ("error", 1)
    assert "context window" in r.error


def test_turn_limit(fake_anthropic: FakeAnthropic, bare_ws: Workspace, wd: Path) -> None:
    fake_anthropic.expect(*[tool_reply(tool_use("glob", {"pattern": "*"})) for _ in range(2)])
    r = run(bare_ws, wd, max_turns=2)
    assert (r.status, r.exit_code, r.totals.turns) == ("max_turns", 1, 2)


def test_on_end_turn_follow_up_and_end_fields(fake_anthropic: FakeAnthropic, bare_ws: Workspace, wd: Path) -> None:
    fake_anthropic.expect(text_reply("draft"), text_reply("final", match=lambda r: r.last_user_text == "Revise: add X"))
    seen: list[TurnContext] = []

    def on_end_turn(ctx: TurnContext) -> str | None:
        seen.append(ctx)
        if ctx.final_text == "draft":
            ctx.writer.evaluation(outcome="spec", iteration=1, result="needs_revision", explanation="missing X")
            return "Revise: add X"
        ctx.end_fields["outcome"] = {"result": "satisfied", "score": 1.0, "iterations": 2}
        return None

    statuses: list[str | None] = []
    r = run(bare_ws, wd, on_end_turn=on_end_turn, before_end=lambda ctx: statuses.append(ctx.status))
    assert [c.final_text for c in seen] == ["draft", "final"] and seen[0].turn == 1
    assert r.status == "completed" and statuses == ["completed"]
    assert [e["type"] for e in r.events] == ["session.start", "message", "message", "outcome.evaluation",
                                            "message", "message", "session.end"]
    assert r.events[-1]["outcome"] == {"result": "satisfied", "score": 1.0, "iterations": 2}
    assert r.to_json()["outcome"]["result"] == "satisfied"


def test_unknown_tool_and_bad_input_are_tool_errors(
    fake_anthropic: FakeAnthropic, bare_ws: Workspace, wd: Path
) -> None:
    fake_anthropic.expect(
        tool_reply(tool_use("teleport", {"to": "mars"}), tool_use("read", {"path": "x"})),
        text_reply("fine"),
    )
    r = run(bare_ws, wd, tools=("read",))
    assert r.status == "completed"
    assert [(t["name"], t["error_kind"]) for t in of_type(r.events, "tool")] == [
        ("teleport", "not_found"), ("read", "invalid_input")]
    assert fake_anthropic.requests[0].tool_names() == ["read"]


def test_secrets_in_tool_output_never_reach_the_model_or_the_log(fake_anthropic: FakeAnthropic, bare_ws: Workspace,
                                                                 wd: Path) -> None:
    secret = "sk-ant-api03-" + "A1b2C3d4E5f6G7h8" * 5 + "-xyzAA"
    (wd / "env.txt").write_text(f"ANTHROPIC_API_KEY={secret}\n")
    fake_anthropic.expect(tool_reply(tool_use("read", {"file_path": "env.txt"})), text_reply("ok"))
    r = run(bare_ws, wd)
    sent = fake_anthropic.requests[1].messages[-1]["content"][0]["content"]
    assert secret not in sent and "[REDACTED:" in sent
    assert secret not in r.path.read_text()


def test_cancel_event_interrupts_with_a_valid_log(fake_anthropic: FakeAnthropic, bare_ws: Workspace, wd: Path) -> None:
    cancel = threading.Event()

    class CancelOnTool(Recorder):
        def on_tool_end(self, *a: Any) -> None:
            super().on_tool_end(*a)
            cancel.set()

    fake_anthropic.expect(tool_reply(tool_use("glob", {"pattern": "*"}), tool_use("glob", {"pattern": "*.md"})))
    with pytest.raises(Interrupted) as info:
        run_agent(bare_ws, Config(), prompt_spec("go"), RunOptions(workdir=wd), callbacks=CancelOnTool(), cancel=cancel)
    result = info.value.result  # type: ignore[attr-defined]
    assert result.status == "interrupted" and info.value.exit_code == 130
    events = validate_log(result.path)
    assert events[-1]["status"] == "interrupted" and len(of_type(events, "tool")) == 1


def test_runs_in_worker_threads_with_separate_sessions(fake_anthropic: FakeAnthropic, bare_ws: Workspace,
                                                       tmp_path: Path) -> None:
    fake_anthropic.responder = lambda req: (
        text_reply("done " + req.messages[0]["content"][0]["text"]) if len(req.messages) > 1
        else tool_reply(tool_use("bash", {"command": "pwd"})))
    dirs = []
    for i in range(3):
        d = tmp_path / f"w{i}"
        d.mkdir()
        dirs.append(d)
    results: dict[int, Any] = {}

    def work(i: int) -> None:
        results[i] = run_agent(bare_ws, Config(), prompt_spec(f"task {i}"), RunOptions(workdir=dirs[i], yes=True),
                               parent_session_id="01JD0Q8Z3V6M4T2N8K5R7W9XAB")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == [0, 1, 2]
    assert len({r.session_id for r in results.values()}) == 3
    for i, r in results.items():
        assert r.final_text == f"done task {i}"
        events = validate_log(r.path)
        assert events[0]["parent_session_id"] == "01JD0Q8Z3V6M4T2N8K5R7W9XAB"
        pwd_result = of_type(events, "message")[2]["content"][0]["content"]
        assert pwd_result.strip() == str(dirs[i].resolve())  # each session has its own shell


def test_refused_credentials_mid_run_is_exit_4(fake_anthropic: FakeAnthropic, bare_ws: Workspace, wd: Path) -> None:
    fake_anthropic.expect(error_reply(401, message="invalid x-api-key"))
    r = run(bare_ws, wd)
    assert (r.status, r.exit_code) == ("error", 4) and "credentials" in r.error


def test_transport_break_mid_stream_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    import httpx2

    monkeypatch.setattr(modelcall, "RETRY_BASE_S", 0.001)
    final = SimpleNamespace(content=[{"type": "text", "text": "ok"}], stop_reason="end_turn", model="m",
                            usage={"input_tokens": 5, "output_tokens": 1})

    class Stream:
        def __init__(self, broken: bool) -> None:
            self.broken = broken

        def __enter__(self) -> Stream:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

        def __iter__(self) -> Any:
            yield SimpleNamespace(type="text", text="o")
            if self.broken:
                raise httpx2.RemoteProtocolError("peer closed connection without sending complete message body")
            yield SimpleNamespace(type="message_stop")  # a whole response ends with it (modelcall checks)

        def get_final_message(self) -> Any:
            return final

    calls: list[int] = []

    class Client:
        messages = SimpleNamespace(stream=lambda **kw: calls.append(1) or Stream(broken=len(calls) == 1))

    rec = Recorder()
    turn = modelcall.stream_turn(Client(), {"model": "m"}, rec, retries=2)
    assert len(calls) == 2 and turn.retries == 1 and turn.content == [{"type": "text", "text": "ok"}]
    assert rec.calls[1] == ("retry", 1, "RemoteProtocolError")
    assert turn.usage["input_tokens"] == 5

    class BadStream(Stream):
        def __iter__(self) -> Any:
            raise ValueError("a bug, not a network problem")

    calls.clear()
    bad = SimpleNamespace(messages=SimpleNamespace(stream=lambda **kw: calls.append(1) or BadStream(False)))
    with pytest.raises(ValueError):
        modelcall.stream_turn(bad, {"model": "m"}, rec, retries=2)
    assert len(calls) == 1  # not retried


def test_an_error_raised_by_a_hook_ends_the_log_and_propagates(fake_anthropic: FakeAnthropic, bare_ws: Workspace,
                                                              wd: Path) -> None:
    from dreamcli.errors import ModelError
    from dreamcli.sessions.paths import iter_session_files

    fake_anthropic.expect(text_reply("answer"))

    def grader_down(ctx: TurnContext) -> str | None:
        raise ModelError("grader call failed: HTTP 529")

    with pytest.raises(ModelError):
        run_agent(bare_ws, Config(), prompt_spec("go"), RunOptions(workdir=wd), on_end_turn=grader_down)
    [path] = list(iter_session_files(bare_ws))
    end = validate_log(path)[-1]
    assert end["status"] == "error" and end["error"] == "grader call failed: HTTP 529"
