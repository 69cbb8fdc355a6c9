"""`cloud sessions pull` against a Managed Agents API that misbehaves: ids that are paths, sessions
without an id or a creation time, listings whose cursors never end, a session listed twice. The fake
server is bent per test (its routes wrapped with monkeypatch); nothing here talks to a real endpoint."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from dreamcli import sdk_beta
from dreamcli.testing import FakeAnthropic
from dreamcli.workspace.home import Workspace
from tests.cloud.helpers import cli, cli_json, cloud_requests, data, requires_managed_agents

pytestmark = [requires_managed_agents, pytest.mark.timeout(60)]

EVENTS = [{"type": "user.message", "content": [{"type": "text", "text": "Summarise the contract"}]},
          {"type": "agent.message", "content": [{"type": "text", "text": "Done."}]}]


def _raw_session(server: FakeAnthropic, **fields: Any) -> dict[str, Any]:
    """A session the fake server lists as it is, whatever its id (None: no `id` at all)."""
    d = data(server)
    template = d.sessions[d.add_session(events=EVENTS)]
    d.sessions.pop(template["id"])
    session = {**copy.deepcopy(template), **fields}
    key = str(fields.get("id", f"noid-{len(d.sessions)}"))
    if fields.get("id", "") is None:
        session.pop("id")
    d.sessions[key] = session
    d.session_stores[key] = []
    d.events[key] = []
    return session


def _session_pages(server: FakeAnthropic) -> list[Any]:
    return [r for r in cloud_requests(server, "GET", "/v1/sessions") if r.path == "/v1/sessions"]


def test_a_session_id_with_dot_dots_is_skipped_and_nothing_is_written_outside(
        fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    good = data(fake_anthropic).add_session(events=EVENTS)
    _raw_session(fake_anthropic, id="../../../../../escape_probe")
    _raw_session(fake_anthropic, id="a/b")

    out = cli_json(ws, "cloud", "sessions", "pull")

    assert out["imported"] == 1 and out["skipped"] == 2
    assert not list(ws.root.parent.glob("escape_probe*"))
    assert not (ws.state_dir / "cloud" / "sessions").exists() or not list(
        (ws.state_dir / "cloud" / "sessions").rglob("*"))
    assert any("'../../../../../escape_probe'" in w for w in out["warnings"])
    assert any("'a/b'" in w for w in out["warnings"])
    requested = [r.path for r in cloud_requests(fake_anthropic, "GET", "/v1/sessions/")]
    assert requested == [f"/v1/sessions/{good}/events"]  # a bad id is never put in a URL either


def test_a_bad_session_is_skipped_with_a_warning_and_the_good_ones_import(
        fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    data(fake_anthropic).add_session(events=EVENTS)
    _raw_session(fake_anthropic, id="sesn_bad", created_at="not a time")
    _raw_session(fake_anthropic, id=None)

    result = cli(ws, "cloud", "sessions", "pull", "--json")

    assert result.exit_code == 0, result.stderr
    import json

    out = json.loads(result.stdout)
    assert out["imported"] == 1 and out["skipped"] == 2
    assert any("sesn_bad" in w and "created_at" in w for w in out["warnings"])
    assert any("without an id" in w for w in out["warnings"])
    assert "None" not in " ".join(out["warnings"])


def _looping(server: FakeAnthropic, monkeypatch: pytest.MonkeyPatch, *, same_rows: bool) -> None:
    """Every page answers with a `next_page` again: the same cursor (and, if `same_rows`, the same rows)."""
    routes = server.managed
    original = routes._page
    calls = {"n": 0}

    def page(rows: list[dict[str, Any]], q: dict[str, str], **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] > 60:  # the unfixed client would loop for ever: end the test, not the machine
            return original(rows, q, **kwargs)
        status, payload = original(rows, {**q, "page": ""} if same_rows else q, **kwargs)
        return status, {**payload, "next_page": "cur_1"}

    monkeypatch.setattr(routes, "_page", page)


def test_a_session_listing_that_repeats_its_cursor_stops_with_one_line_exit_3(
        fake_anthropic: FakeAnthropic, ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    data(fake_anthropic).add_session(events=EVENTS)
    _looping(fake_anthropic, monkeypatch, same_rows=True)

    result = cli(ws, "cloud", "sessions", "pull")

    assert result.exit_code == 3, result.stderr
    assert result.stderr.count("\n") == 1 and "cur_1" in result.stderr
    assert len(_session_pages(fake_anthropic)) <= 3


def test_an_event_listing_that_never_ends_stops_with_one_line_exit_3(
        fake_anthropic: FakeAnthropic, ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    data(fake_anthropic).add_session(events=EVENTS)
    routes = fake_anthropic.managed
    original = routes._page

    def page(rows: list[dict[str, Any]], q: dict[str, str], **kwargs: Any) -> Any:
        status, payload = original(rows, {**q, "page": ""}, **kwargs)
        if kwargs.get("bidirectional") or len(cloud_requests(fake_anthropic, "GET", "/v1/sessions/")) > 60:
            return status, payload
        return status, {**payload, "next_page": "cur_1"}

    monkeypatch.setattr(routes, "_page", page)

    result = cli(ws, "cloud", "sessions", "pull")

    assert result.exit_code == 3, result.stderr
    assert result.stderr.count("\n") == 1
    assert len(cloud_requests(fake_anthropic, "GET", "/v1/sessions/")) <= 3


def test_a_session_with_too_many_events_is_skipped_with_a_warning(
        fake_anthropic: FakeAnthropic, ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    big = data(fake_anthropic).add_session(events=EVENTS * 4)
    data(fake_anthropic).add_session(events=EVENTS)
    monkeypatch.setattr(sdk_beta, "MAX_EVENTS_PER_SESSION", 5)

    out = cli_json(ws, "cloud", "sessions", "pull")

    assert out["imported"] == 1 and out["skipped"] == 1
    assert any(big in w and "5" in w for w in out["warnings"])


def test_limit_bounds_the_requests_and_a_duplicate_is_fetched_once(
        fake_anthropic: FakeAnthropic, ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    for _ in range(5):
        data(fake_anthropic).add_session(events=EVENTS)
    data(fake_anthropic).max_page = 1

    out = cli_json(ws, "cloud", "sessions", "pull", "--limit", "2")

    assert out["listed"] == 2 and out["imported"] == 2
    assert len(_session_pages(fake_anthropic)) == 2

    routes = fake_anthropic.managed
    original = routes._page

    def doubled(rows: list[dict[str, Any]], q: dict[str, str], **kwargs: Any) -> Any:
        status, payload = original(rows, q, **kwargs)
        return status, {**payload, "data": payload["data"] + payload["data"]}

    monkeypatch.setattr(routes, "_page", doubled)
    data(fake_anthropic).max_page = None
    before = len(cloud_requests(fake_anthropic, "GET", "/v1/sessions/"))
    again = cli_json(ws, "cloud", "sessions", "pull")
    assert again["listed"] == 5 and again["imported"] == 3 and again["already_imported"] == 2
    fetched = [r.path for r in cloud_requests(fake_anthropic, "GET", "/v1/sessions/")[before:]]
    assert len(fetched) == len(set(fetched)) == 3


def test_without_json_each_skipped_session_is_a_warning_line(fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    data(fake_anthropic).add_session(events=EVENTS)
    _raw_session(fake_anthropic, id="sesn_bad", created_at="not a time")

    result = cli(ws, "cloud", "sessions", "pull")

    assert result.exit_code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1 and "sesn_bad" in warnings[0]
    assert "1 session imported" in result.stdout
