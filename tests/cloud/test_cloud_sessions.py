"""`dreamcli cloud sessions pull` against the fake Managed Agents endpoints, through the real SDK."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dreamcli.sessions.paths import session_path
from dreamcli.sessions.reader import iter_events
from dreamcli.testing import FakeAnthropic
from dreamcli.workspace.home import Workspace
from tests.cloud.helpers import audit, cli, cli_json, cloud_requests, data, requires_managed_agents

pytestmark = requires_managed_agents

SECRET = "sk-ant-api03-" + "Q" * 40


def _conversation(n: int = 0) -> list[dict[str, Any]]:
    return [
        {"type": "user.message", "content": [{"type": "text", "text": f"Summarise the contract {n}"}]},
        {"type": "span.model_request_start"},
        {"type": "agent.message", "content": [{"type": "text", "text": "Reading it first."}]},
        {"type": "agent.tool_use", "name": "read", "input": {"path": "contract.docx"}},
        {"type": "span.model_request_end", "model_request_start_id": "x", "is_error": False,
         "model_usage": {"input_tokens": 100, "output_tokens": 20, "cache_read_input_tokens": 0,
                         "cache_creation_input_tokens": 0}},
        {"type": "agent.tool_result", "tool_use_id": "TOOL", "is_error": True,
         "content": [{"type": "text", "text": f"binary file; key {SECRET}"}]},
        {"type": "agent.message", "content": [{"type": "text", "text": "Converted with pandoc; done."}]},
        {"type": "session.status_idle", "stop_reason": {"type": "end_turn"}},
    ]


def _seed(server: FakeAnthropic, count: int) -> list[str]:
    ids = []
    for n in range(count):
        events = _conversation(n)
        sid = data(server).add_session(events=events)
        tool_use = next(e for e in data(server).events[sid] if e["type"] == "agent.tool_use")
        next(e for e in data(server).events[sid] if e["type"] == "agent.tool_result")["tool_use_id"] = tool_use["id"]
        ids.append(sid)
    return ids


def test_pull_pages_through_sessions_and_events_and_writes_redacted_session_logs(
        fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    cloud_ids = _seed(fake_anthropic, 5)
    data(fake_anthropic).add_session(status="running", events=_conversation())
    data(fake_anthropic).max_page = 2  # 6 sessions and 8 events a session: several cursors each

    out = cli_json(ws, "cloud", "sessions", "pull")

    assert out["imported"] == 5 and out["in_flight"] == 1 and out["listed"] == 6
    pages = [r for r in cloud_requests(fake_anthropic, "GET", "/v1/sessions") if r.path == "/v1/sessions"]
    assert len(pages) == 3 and "page=cur_2" in pages[1].query
    for r in cloud_requests(fake_anthropic, "GET", "/v1/sessions"):
        assert "managed-agents-2026-04-01" in r.headers["anthropic-beta"]
    events = list(iter_events(session_path(ws, out["session_ids"][0])))
    start = events[0]
    assert start["source"] == "managed-agents"
    assert start["import"]["source_id"] in cloud_ids
    assert start["import"]["path"].startswith("managed-agents://sessions/sesn_")
    text = session_path(ws, out["session_ids"][0]).read_text()
    assert SECRET not in text and "REDACTED" in text
    tools = [e for e in events if e["type"] == "tool"]
    assert tools and tools[0]["name"] == "read" and tools[0]["error_kind"] is not None
    assert events[-1]["type"] == "session.end" and events[-1]["totals"]["tool_calls"] == 1
    assert next(a for a in audit(ws) if a["action"] == "sessions-import")["source"] == "managed-agents"
    assert not list((ws.state_dir / "cloud" / "sessions").glob("*/*.jsonl"))  # the cache is gone


def test_a_second_pull_skips_what_is_imported_without_fetching_events(
        fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    _seed(fake_anthropic, 2)
    assert cli_json(ws, "cloud", "sessions", "pull")["imported"] == 2
    before = len(cloud_requests(fake_anthropic, "GET", "/v1/sessions/"))
    _seed(fake_anthropic, 1)

    again = cli_json(ws, "cloud", "sessions", "pull")

    assert again["imported"] == 1 and again["already_imported"] == 2
    assert len(cloud_requests(fake_anthropic, "GET", "/v1/sessions/")) == before + 1  # only the new one's events


def test_agent_and_limit_filters(fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    _seed(fake_anthropic, 3)
    data(fake_anthropic).add_session(agent_id="agent_other", events=_conversation())
    assert cli_json(ws, "cloud", "sessions", "pull", "--agent", "agent_other")["imported"] == 1
    assert cli_json(ws, "cloud", "sessions", "pull", "--limit", "2")["listed"] == 2
    assert cli_json(ws, "cloud", "sessions", "pull", "--since", "2030-01-01")["listed"] == 0
    assert cli_json(ws, "cloud", "sessions", "pull", "--since", "2026-10-01")["listed"] == 4
    since = next(r for r in cloud_requests(fake_anthropic, "GET", "/v1/sessions") if "created_at" in r.query)
    assert "created_at%5Bgte%5D=2030-01-01" in since.query


def test_an_errored_session_ends_in_error_and_unknown_events_are_counted(
        fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    events = [{"type": "user.message", "content": [{"type": "text", "text": "Deploy the site"}]},
              {"type": "agent.message", "content": [{"type": "text", "text": "Deploying."}]},
              {"type": "workflow_run.created"},
              {"type": "session.error", "error": {"type": "model_overloaded_error", "message": "overloaded"}}]
    data(fake_anthropic).add_session(events=events, status="terminated")
    out = cli_json(ws, "cloud", "sessions", "pull")
    logged = list(iter_events(session_path(ws, out["session_ids"][0])))
    assert logged[0]["task"]["prompt"] == "Deploy the site"
    assert logged[-1]["status"] == "error" and logged[-1]["error"] == "overloaded"


def test_beta_not_enabled_is_one_line_exit_4(fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    data(fake_anthropic).beta_disabled = True
    result = cli(ws, "cloud", "sessions", "pull")
    assert result.exit_code == 4
    assert result.stderr.count("\n") == 1 and "beta is not enabled" in result.stderr


def test_events_of_shapes_the_sdk_does_not_expect_pull_quietly(fake_anthropic: FakeAnthropic, ws: Workspace,
                                                              recwarn: pytest.WarningsRecorder) -> None:
    """An API newer than the SDK (or a fuzzer) sends values its types do not name: pydantic printed a
    serialization warning for each; the importers judge them instead."""
    events = _conversation()
    events[-1] = {"type": "session.status_idle", "stop_reason": 7}
    events.insert(2, {"type": "agent.message", "content": [{"type": "text", "text": 5}]})
    data(fake_anthropic).add_session(events=events)
    result = cli(ws, "cloud", "sessions", "pull", "--json")
    assert result.exit_code == 0, result.stderr
    assert not [w for w in recwarn if "serializ" in str(w.message).lower()]  # each was a line on stderr
    assert json.loads(result.stdout)["imported"] == 1


def test_the_listing_the_pull_suggests_shows_what_it_pulled(fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    """Pulled sessions keep the time they ran in the cloud: the hint's `--since` starts at the oldest of them
    (`--since 1d` showed nothing for sessions older than a day)."""
    _seed(fake_anthropic, 3)
    r = cli(ws, "cloud", "sessions", "pull")
    assert r.exit_code == 0, r.output
    hint = next(line for line in r.stderr.splitlines() if line.startswith("next: "))
    since = hint.split("sessions list --since ", 1)[1].rstrip(")")
    assert since != "1d"  # the fake's sessions ran on a fixed day in the past: the test can fail
    listed = cli_json(ws, "sessions", "list", "--since", since)
    assert len(listed["sessions"]) == 3
