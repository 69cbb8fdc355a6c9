"""`cloud sessions pull` when a listed session's events answer 404 (deleted after the listing): that
session is skipped with a warning naming it, the others are imported, exit 0."""

from __future__ import annotations

import json
from typing import Any

from dreamcli.testing import FakeAnthropic
from dreamcli.workspace.home import Workspace
from tests.cloud.helpers import cli, data, requires_managed_agents

pytestmark = requires_managed_agents

EVENTS = [{"type": "user.message", "content": [{"type": "text", "text": "hello"}]},
          {"type": "agent.message", "content": [{"type": "text", "text": "hi"}]}]


def _events_answer(server: FakeAnthropic, session_id: str, status: int, kind: str, message: str) -> None:
    route = server.managed._route

    def answer(rec: Any, parts: list[str], q: dict[str, str]) -> Any:
        if parts[:2] == ["sessions", session_id] and parts[2:] == ["events"]:
            return status, {"type": "error", "error": {"type": kind, "message": message}}
        return route(rec, parts, q)

    server.managed._route = answer  # type: ignore[method-assign]


def test_a_session_whose_events_are_gone_is_skipped_and_the_rest_imported(
        fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    ids = [data(fake_anthropic).add_session(events=list(EVENTS)) for _ in range(3)]
    _events_answer(fake_anthropic, ids[1], 404, "not_found_error", "session not found")

    result = cli(ws, "cloud", "sessions", "pull", "--json")

    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["listed"] == 3 and out["imported"] == 2 and out["skipped"] == 1
    [warning] = out["warnings"]
    assert ids[1] in warning and "404" in warning and "session not found" in warning
    again = cli(ws, "cloud", "sessions", "pull", "--json")  # the two are imported; the gone one skipped again
    assert again.exit_code == 0 and json.loads(again.stdout)["already_imported"] == 2

    plain = cli(ws, "cloud", "sessions", "pull")
    assert plain.exit_code == 0 and ids[1] in plain.stderr and "warning" in plain.stderr


def test_any_other_failure_of_a_session_s_events_still_stops_the_pull(
        fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    ids = [data(fake_anthropic).add_session(events=list(EVENTS)) for _ in range(2)]
    _events_answer(fake_anthropic, ids[0], 403, "permission_error", "no access to this session")

    result = cli(ws, "cloud", "sessions", "pull", "--json")

    assert result.exit_code == 4, result.stderr  # the credentials mapping, as before
    assert not list((ws.state_dir / "cloud" / "sessions").iterdir())  # the cache went with the pull
