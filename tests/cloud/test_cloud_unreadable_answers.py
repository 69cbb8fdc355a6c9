"""An answer (HTTP 200) that dreamcli cannot read, an HTML page from a proxy, JSON of another shape or a
body cut off, is one line in words naming the endpoint (host and port only) and exit 3, never a
Python exception (docs/managed-agents.md, "Exit codes")."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from dreamcli import sdk_beta
from dreamcli.testing import FakeAnthropic
from dreamcli.workspace.home import Workspace
from tests.cloud.helpers import cli, data, requires_managed_agents

pytestmark = requires_managed_agents

HTML = b"<!DOCTYPE html>\n<html><body><h1>502 Bad Gateway</h1></body></html>"
WRONG_SHAPE = b'{"data": "not-a-list", "has_more": "maybe"}'
CUT_OFF = b'{"data": [{"id": "sesn_1", "type": "sess'

BODIES = [
    pytest.param(HTML, "application/json", "not JSON: HTML page", id="html-sent-as-json"),
    pytest.param(HTML, "text/html; charset=utf-8", "not JSON: HTML page", id="html"),
    pytest.param(WRONG_SHAPE, "application/json", "JSON without the expected fields: ", id="wrong-shape"),
    pytest.param(CUT_OFF, "application/json", "cut off", id="cut-off"),
]

COMMANDS = [
    pytest.param(("cloud", "sessions", "pull", "--since", "1d"), "pull Managed Agents sessions", id="sessions-pull"),
    pytest.param(("cloud", "dream", "--store", "memstore_01abc"), "memory store memstore_01abc", id="dream"),
    pytest.param(("cloud", "memory", "pull", "memstore_01abc"), "pull memory store memstore_01abc", id="memory-pull"),
]

RAW_NAMES = ("JSONDecodeError", "ValueError", "TypeError", "AttributeError", "dictionary update sequence",
             "Expecting value", "Unterminated string")


def _answer_badly(server: FakeAnthropic, body: bytes, content_type: str,
                  only: Callable[[Any], bool] = lambda rec: True) -> None:
    """The Managed Agents requests that `only` picks are answered 200 with `body` (the others as usual)."""
    handle = server.managed.handle

    def bad(handler: Any, rec: Any) -> None:
        if only(rec):
            handler.send_bytes(200, body, content_type)
        else:
            handle(handler, rec)

    server.managed.handle = bad  # type: ignore[method-assign]
    server.allow_leftovers = True


def _port(server: FakeAnthropic) -> str:
    return server.url.rstrip("/").rsplit(":", 1)[1]


def _assert_one_clear_line(result: Any, server: FakeAnthropic, what: str, reason: str) -> str:
    assert result.exit_code == 3, result.stderr + result.stdout + repr(result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    [line] = lines
    assert line.startswith("error: ") and what in line, line
    assert (f"the API at 127.0.0.1:{_port(server)} returned an answer dreamcli cannot read ({reason}"
            in line), line
    assert not any(name in line for name in RAW_NAMES), line
    return line


@pytest.mark.parametrize(("body", "content_type", "reason"), BODIES)
@pytest.mark.parametrize(("args", "what"), COMMANDS)
def test_an_unreadable_answer_is_one_line_in_words_and_exit_3(
        fake_anthropic: FakeAnthropic, ws: Workspace, args: tuple[str, ...], what: str,
        body: bytes, content_type: str, reason: str) -> None:
    _answer_badly(fake_anthropic, body, content_type)

    result = cli(ws, *args, "--json")

    _assert_one_clear_line(result, fake_anthropic, what, reason)
    assert result.stdout == ""


def test_a_cut_off_events_page_stops_the_pull_with_the_session_s_listing_named(
        fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    session = data(fake_anthropic).add_session(events=[{"type": "user.message",
                                                        "content": [{"type": "text", "text": "hi"}]}])
    _answer_badly(fake_anthropic, CUT_OFF, "application/json", only=lambda rec: rec.path.endswith("/events"))

    result = cli(ws, "cloud", "sessions", "pull")

    line = _assert_one_clear_line(result, fake_anthropic, "pull Managed Agents sessions", "cut off")
    assert session in line  # which listing: the events of that session


def test_a_memories_page_of_another_shape_names_the_missing_field(
        fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    store = data(fake_anthropic).add_store(memories={"/a.md": "a\n"})
    _answer_badly(fake_anthropic, WRONG_SHAPE, "application/json", only=lambda rec: "/memories" in rec.path)

    result = cli(ws, "cloud", "memory", "pull", store)

    line = _assert_one_clear_line(result, fake_anthropic, f"pull memory store {store}",
                                  "JSON without the expected fields: ")
    assert '"data"' in line


def test_a_store_answered_without_an_id_is_not_taken_for_a_store(
        fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    _answer_badly(fake_anthropic, json.dumps({"name": "notes"}).encode(), "application/json")

    result = cli(ws, "cloud", "memory", "pull", "memstore_01abc")

    line = _assert_one_clear_line(result, fake_anthropic, "pull memory store memstore_01abc",
                                  "JSON without the expected fields: ")
    assert '"id"' in line


@pytest.mark.parametrize(("doc", "reason"), [
    ("<html>oops</html>", "not JSON: HTML page"),
    ("  <!doctype html><title>x</title>", "not JSON: HTML page"),
    ("", "not JSON: an empty body"),
    ("Bad Gateway", "not JSON"),
    ('{"data": [{"id": "sesn_1", "type": "sess', "cut off"),
    ('{"data": [1, 2', "cut off"),
    ('{"a": 1} trailing', "not JSON"),
])
def test_the_reason_says_what_the_answer_was(doc: str, reason: str) -> None:
    try:
        json.loads(doc)
    except json.JSONDecodeError as e:
        assert sdk_beta.unreadable_reason(e) == reason
    else:
        raise AssertionError("the document parsed")


def test_other_errors_are_not_taken_for_an_unreadable_answer() -> None:
    assert sdk_beta.unreadable_reason(ValueError("a dream takes 1 to 100 sessions")) is None
    assert sdk_beta.unreadable_reason(OSError("disk full")) is None
