"""The fake Anthropic server, exercised through the real anthropic client."""

from __future__ import annotations

import json
import os
import textwrap
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import anthropic
import pytest

from dreamcli.testing import (
    FakeAnthropic,
    RecordedRequest,
    Reply,
    drop,
    error_reply,
    stream_error_reply,
    text_reply,
    thinking,
    tool_reply,
    tool_use,
)

MODEL = "claude-test-model"
USER = [{"role": "user", "content": "hello"}]
pytest_plugins = ["pytester"]


def client(server: FakeAnthropic, max_retries: int = 0) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.url, api_key="x", max_retries=max_retries)


def create(c: anthropic.Anthropic, **kw: object) -> anthropic.types.Message:
    return c.messages.create(model=MODEL, max_tokens=100, messages=kw.pop("messages", USER), **kw)  # type: ignore[arg-type]


def test_non_streaming_text_and_recorded_request(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.expect(text_reply("Hi there.", usage={"input_tokens": 7, "output_tokens": 3}))
    msg = create(client(fake_anthropic), system="be brief")

    assert msg.id.startswith("msg_") and msg.role == "assistant" and msg.model == MODEL
    assert [b.type for b in msg.content] == ["text"] and msg.content[0].text == "Hi there."  # type: ignore[union-attr]
    assert msg.stop_reason == "end_turn" and msg.stop_sequence is None
    assert (msg.usage.input_tokens, msg.usage.output_tokens, msg.usage.cache_read_input_tokens) == (7, 3, 0)
    [req] = fake_anthropic.requests
    assert (req.method, req.path, req.stream) == ("POST", "/v1/messages", False)
    assert req.api_key == "x" and "anthropic-version" in req.headers
    assert req.body["system"] == "be brief" and req.last_user_text == "hello"
    # t_end is stamped by the server thread just after the answer is written: wait for it, don't race it
    deadline = time.monotonic() + 2
    while req.t_end is None and time.monotonic() < deadline:
        time.sleep(0.001)
    assert req.reply is not None and req.t_start <= req.t_end  # type: ignore[operator]


def test_default_usage_and_model_override(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.expect(text_reply("x" * 400, model="claude-other", stop_reason="max_tokens"))
    msg = create(client(fake_anthropic))
    assert msg.model == "claude-other" and msg.stop_reason == "max_tokens"
    assert msg.usage.output_tokens >= 100 and msg.usage.input_tokens > 0


def test_env_points_the_default_client_at_the_fake(fake_anthropic: FakeAnthropic) -> None:
    assert os.environ["ANTHROPIC_BASE_URL"] == fake_anthropic.url
    assert os.environ["ANTHROPIC_API_KEY"] == "sk-ant-test-fake"
    fake_anthropic.expect(text_reply("from env"))
    msg = create(anthropic.Anthropic(max_retries=0))
    assert msg.content[0].text == "from env"  # type: ignore[union-attr]
    assert fake_anthropic.requests[0].api_key == "sk-ant-test-fake"


def test_streaming_text_via_messages_stream(fake_anthropic: FakeAnthropic) -> None:
    text = "The quick brown fox jumps over the lazy dog, twice."
    fake_anthropic.expect(text_reply(text, usage={"input_tokens": 11, "output_tokens": 13}))
    with client(fake_anthropic).messages.stream(model=MODEL, max_tokens=100, messages=USER) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert len(pieces) > 1 and "".join(pieces) == text
    assert final.content[0].text == text and final.stop_reason == "end_turn"  # type: ignore[union-attr]
    assert (final.usage.input_tokens, final.usage.output_tokens) == (11, 13)
    assert fake_anthropic.requests[0].stream is True


def test_raw_stream_event_order(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.expect(text_reply("abc def ghi"))
    events = list(create(client(fake_anthropic), stream=True))  # type: ignore[call-overload]
    types = [e.type for e in events]
    assert types[0] == "message_start" and types[-2:] == ["message_delta", "message_stop"]
    assert types[1] == "content_block_start" and types[-3] == "content_block_stop"
    assert events[0].message.stop_reason is None and events[-2].delta.stop_reason == "end_turn"


def test_streaming_tool_use_and_thinking_reassembled(fake_anthropic: FakeAnthropic) -> None:
    tricky = {"path": 'dir\\file "quoted".txt', "lines": [1, 2, {"é": "ü\n"}], "flag": True, "none": None}
    reply = tool_reply(tool_use("read_file", tricky, id="toolu_fixed"), tool_use("ls", {}), text="Let me look.")
    reply.content.insert(0, thinking("I should read the file first.", signature="sig-abc"))
    fake_anthropic.expect(reply)
    with client(fake_anthropic).messages.stream(model=MODEL, max_tokens=100, messages=USER) as stream:
        json_events = [e for e in stream if e.type == "input_json"]
        final = stream.get_final_message()
    assert len(json_events) >= 3
    assert final.stop_reason == "tool_use"
    assert [b.model_dump(exclude_none=True) for b in final.content] == [
        {"type": "thinking", "thinking": "I should read the file first.", "signature": "sig-abc"},
        {"type": "text", "text": "Let me look."},
        {"type": "tool_use", "id": "toolu_fixed", "name": "read_file", "input": tricky},
        {"type": "tool_use", "id": final.content[3].id, "name": "ls", "input": {}},  # type: ignore[union-attr]
    ]
    assert final.content[3].id.startswith("toolu_")  # type: ignore[union-attr]


def test_529_then_success_each_retry_consumes_a_reply(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.expect(
        error_reply(529, message="Overloaded", retry_after=0),
        error_reply(500, retry_after=0),
        text_reply("finally"),
    )
    msg = create(client(fake_anthropic, max_retries=2))
    assert msg.content[0].text == "finally"  # type: ignore[union-attr]
    assert len(fake_anthropic.requests) == 3
    assert fake_anthropic.requests[1].headers["x-stainless-retry-count"] == "1"


def test_429_retry_after_zero_is_fast_and_errors_carry_the_api_shape(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.expect(*[error_reply(429, message="slow down", retry_after=0) for _ in range(3)])
    t0 = time.monotonic()
    with pytest.raises(anthropic.RateLimitError) as info:
        create(client(fake_anthropic, max_retries=2))
    assert time.monotonic() - t0 < 0.3
    assert info.value.status_code == 429 and info.value.response.headers["retry-after"] == "0"
    assert info.value.body == {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}


def test_fast_retries_unless_disabled(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.expect(error_reply(529), error_reply(503), text_reply("ok"))
    t0 = time.monotonic()
    assert create(client(fake_anthropic, max_retries=2)).content[0].text == "ok"  # type: ignore[union-attr]
    assert time.monotonic() - t0 < 0.3
    fake_anthropic.fast_retries = False
    fake_anthropic.expect(error_reply(529), text_reply("slow"))
    with pytest.raises(anthropic.InternalServerError) as info:
        create(client(fake_anthropic, max_retries=0))
    assert "retry-after-ms" not in info.value.response.headers
    assert create(client(fake_anthropic)).content[0].text == "slow"  # type: ignore[union-attr]


def test_non_retried_errors(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.expect(error_reply(401, message="bad key"), error_reply(400, error_type="invalid_request_error"))
    c = client(fake_anthropic, max_retries=2)
    with pytest.raises(anthropic.AuthenticationError):
        create(c)
    with pytest.raises(anthropic.BadRequestError):
        create(c)
    assert len(fake_anthropic.requests) == 2


def test_dropped_connection_then_success(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.expect(text_reply("warm-up"), drop(), text_reply("after drop"))
    c = client(fake_anthropic, max_retries=1)
    create(c)  # leaves a keep-alive connection in the pool, which the drop then kills
    msg = create(c)
    assert msg.content[0].text == "after drop"  # type: ignore[union-attr]
    assert len(fake_anthropic.requests) == 3


def test_dropped_connection_without_retries_is_a_connection_error(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.expect(drop())
    with pytest.raises(anthropic.APIConnectionError):
        create(client(fake_anthropic))


def test_unexpected_requests_are_answered_400_and_reported() -> None:
    with FakeAnthropic() as server:
        with pytest.raises(anthropic.BadRequestError, match="fake server: unexpected request"):
            create(client(server, max_retries=2))
        request = urllib.request.Request(server.url + "/v1/complete", data=b"{}", method="POST")
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(request, timeout=5)
        assert info.value.code == 400 and info.value.headers["x-should-retry"] == "false"
        assert [r.path for r in server.unexpected] == ["/v1/messages", "/v1/complete"]
        assert len(server.requests) == 1  # a retry would have been a second one
        problems = server.problems()
        assert "no scripted reply left" in problems[0] and "no such endpoint" in problems[1]
        with pytest.raises(AssertionError, match="unexpected request"):
            server.check()


def test_leftover_replies_are_reported_unless_allowed() -> None:
    with FakeAnthropic() as server:
        server.expect(text_reply("used"), text_reply("never used"))
        create(client(server))
        assert server.problems() == [
            "scripted reply #2 was never requested: Reply([text:'never used'], stop_reason=end_turn)"
        ]
        with pytest.raises(AssertionError, match="1 scripted replies not consumed"):
            server.assert_done()
        server.allow_leftovers = True
        assert server.problems() == []


def test_match_predicate() -> None:
    def wants_tools(req: RecordedRequest) -> bool:
        return "read_file" in req.tool_names()

    tools = [{"name": "read_file", "description": "d", "input_schema": {"type": "object"}}]
    with FakeAnthropic() as server:
        server.expect(text_reply("ok", match=wants_tools), text_reply("again", match=wants_tools))
        c = client(server)
        assert create(c, tools=tools).content[0].text == "ok"  # type: ignore[union-attr]
        with pytest.raises(anthropic.BadRequestError, match="match predicate"):
            create(c)  # no tools: rejected, and the scripted reply stays for the next request
        assert create(c, tools=tools).content[0].text == "again"  # type: ignore[union-attr]
        assert len(server.unexpected) == 1 and server.pending == []


def test_invalid_tool_pairing_is_refused_like_the_real_api() -> None:
    history = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "ls", "input": {}}]},
        {"role": "user", "content": [{"type": "text", "text": "forgot the tool result"}]},
    ]
    with FakeAnthropic() as server:
        server.expect(text_reply("unused"))
        with pytest.raises(anthropic.BadRequestError, match="without `tool_result` blocks"):
            create(client(server), messages=history)
        assert server.pending  # the refused request did not consume the script


def test_responder_serves_concurrent_requests_in_parallel() -> None:
    """Counted, not timed: how many requests were inside the responder at once (a wall-clock bound
    failed on a loaded machine while the requests did overlap)."""
    lock = threading.Lock()
    inside = [0, 0]  # now, most at once

    def respond(req: RecordedRequest) -> Reply:
        with lock:
            inside[0] += 1
            inside[1] = max(inside[1], inside[0])
        time.sleep(0.2)  # long enough for the others to arrive, even on a busy machine
        with lock:
            inside[0] -= 1
        return text_reply("echo: " + req.last_user_text)

    n = 32
    with FakeAnthropic() as server:
        server.responder = respond
        c = anthropic.Anthropic(base_url=server.url, api_key="x", max_retries=0)
        with ThreadPoolExecutor(max_workers=n) as pool:
            msgs = list(pool.map(lambda i: create(c, messages=[{"role": "user", "content": f"q{i}"}]), range(n)))
    assert [m.content[0].text for m in msgs] == [f"echo: q{i}" for i in range(n)]  # type: ignore[union-attr]
    assert len(server.requests) == n and not server.unexpected
    assert inside[1] >= 4, f"at most {inside[1]} requests were served at once"


def test_script_is_used_before_responder_and_latency_applies() -> None:
    with FakeAnthropic() as server:
        server.expect(text_reply("scripted", match=lambda r: r.last_user_text == "hello"))
        server.responder = lambda req: text_reply("fallback")
        server.latency = 0.05
        c = client(server)
        assert create(c).content[0].text == "scripted"  # type: ignore[union-attr]
        assert create(c).content[0].text == "fallback"  # type: ignore[union-attr]
        assert all(r.t_end - r.t_start >= 0.05 for r in server.requests)  # type: ignore[operator]


def test_count_tokens_is_never_unexpected() -> None:
    with FakeAnthropic() as server:
        count = client(server).messages.count_tokens(model=MODEL, messages=[{"role": "user", "content": "x" * 400}])
        assert 100 <= count.input_tokens <= 150
        assert server.requests == [] and server.unexpected == [] and len(server.count_tokens_requests) == 1


def batch_request(custom_id: str, text: str) -> dict[str, object]:
    return {
        "custom_id": custom_id,
        "params": {"model": MODEL, "max_tokens": 50, "messages": [{"role": "user", "content": text}]},
    }


def test_batches_create_poll_results(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.expect(text_reply('{"verdict": "pass"}'), error_reply(500, message="boom"))
    batches = client(fake_anthropic).messages.batches
    batch = batches.create(requests=[batch_request("a", "grade a"), batch_request("b", "grade b")])  # type: ignore[list-item]
    assert batch.id.startswith("msgbatch_") and batch.processing_status == "in_progress"
    assert batch.request_counts.processing == 2 and batch.results_url is None
    assert batches.retrieve(batch.id).processing_status == "in_progress"
    assert fake_anthropic.pending  # nothing answered before the batch ends
    ended = batches.retrieve(batch.id)
    assert ended.processing_status == "ended" and ended.ended_at is not None
    assert (ended.request_counts.succeeded, ended.request_counts.errored) == (1, 1)
    assert ended.results_url is not None and ended.results_url.startswith(fake_anthropic.url)
    results = {r.custom_id: r.result for r in batches.results(batch.id)}
    assert results["a"].type == "succeeded" and results["a"].message.content[0].text == '{"verdict": "pass"}'  # type: ignore[union-attr]
    assert results["b"].type == "errored" and results["b"].error.error.message == "boom"  # type: ignore[union-attr]
    items = [r for r in fake_anthropic.requests if r.batch_id == batch.id]
    assert [(r.path, r.custom_id, r.last_user_text) for r in items] == [
        ("/v1/messages", "a", "grade a"),
        ("/v1/messages", "b", "grade b"),
    ]


def test_batch_cancel_consumes_no_replies(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.batch_polls_before_end = 3
    batches = client(fake_anthropic).messages.batches
    batch = batches.create(requests=[batch_request("only", "x")])  # type: ignore[list-item]
    assert batches.cancel(batch.id).processing_status == "canceling"
    assert batches.retrieve(batch.id).processing_status == "canceling"
    fake_anthropic.batch_polls_before_end = 0
    ended = batches.retrieve(batch.id)
    assert ended.processing_status == "ended" and ended.request_counts.canceled == 1
    assert [r.result.type for r in batches.results(batch.id)] == ["canceled"]
    assert fake_anthropic.requests == []


FIXTURE_PROBE = textwrap.dedent(
    """
    import anthropic
    from dreamcli.testing import text_reply

    def test_leftover(fake_anthropic):
        fake_anthropic.expect(text_reply("never requested"))

    def test_unexpected(fake_anthropic):
        try:
            anthropic.Anthropic(max_retries=0).messages.create(
                model="m", max_tokens=5, messages=[{"role": "user", "content": "surprise"}])
        except anthropic.BadRequestError:
            pass

    def test_clean(fake_anthropic):
        fake_anthropic.expect(text_reply("fine"))
        anthropic.Anthropic(max_retries=0).messages.create(
            model="m", max_tokens=5, messages=[{"role": "user", "content": "hi"}])
    """
)


def test_fixture_teardown_fails_tests_that_leave_problems(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("from tests.conftest import fake_anthropic  # noqa: F401\n")
    pytester.makepyfile(test_probe=FIXTURE_PROBE)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, errors=2)
    out = "\n".join(result.outlines)
    assert "scripted reply #1 was never requested" in out
    assert "last user='surprise'" in out


def test_many_streams_in_parallel_under_latency() -> None:
    with FakeAnthropic() as server:
        server.responder = lambda req: text_reply(json.dumps({"n": req.last_user_text}))
        server.latency = 0.05
        c = client(server)
        out: list[str] = []
        lock = threading.Lock()

        def one(i: int) -> None:
            with c.messages.stream(model=MODEL, max_tokens=10, messages=[{"role": "user", "content": str(i)}]) as s:
                text = s.get_final_text()
            with lock:
                out.append(text)

        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(one, range(48)))
    assert sorted(json.loads(t)["n"] for t in out) == sorted(str(i) for i in range(48))


def test_stream_error_mid_stream(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.expect(stream_error_reply("partial answ"), stream_error_reply(message="busy"))
    c = client(fake_anthropic, max_retries=0)
    seen: list[str] = []
    with (
        pytest.raises(anthropic.APIStatusError, match="overloaded_error"),
        c.messages.stream(model=MODEL, max_tokens=10, messages=USER) as stream,
    ):
        seen.extend(stream.text_stream)
    assert "".join(seen) == "partial answ"
    with pytest.raises(anthropic.InternalServerError) as info:
        create(c)  # not streaming: the same failure as an HTTP 529
    assert info.value.status_code == 529


def test_models_endpoint_lists_current_sdk_models(fake_anthropic: FakeAnthropic) -> None:
    c = client(fake_anthropic)
    ids = [m.id for m in c.models.list()]
    assert ids and "claude-sonnet-4-5" not in ids  # deprecated in the installed SDK
    assert c.models.retrieve(ids[0]).id == ids[0]
    fake_anthropic.models = ["claude-local"]
    assert [m.id for m in c.models.list()] == ["claude-local"]
    with pytest.raises(anthropic.NotFoundError):
        c.models.retrieve("claude-gone")
    assert fake_anthropic.requests == [] and fake_anthropic.unexpected == []
