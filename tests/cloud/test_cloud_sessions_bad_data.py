"""`cloud sessions pull` when one session's own data is odd: text holding a lone surrogate (`"\\ud800"`
in the API's JSON) is imported with U+FFFD in its place, as the transcript importers read it; an event
that is not an object (a bare string, null, a list) skips that session with a warning naming it. Either
way the other sessions are imported and the next pull is not blocked. A page that is not a page at all
still stops the pull (exit 3): that is the API answering wrongly, not one session's data."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dreamcli.sessions.importers import managed_agents as importer
from dreamcli.sessions.paths import session_path
from dreamcli.testing import FakeAnthropic
from dreamcli.workspace.home import Workspace
from tests.cloud.helpers import cli, cli_json, data, requires_managed_agents

pytestmark = [requires_managed_agents, pytest.mark.timeout(60)]


def _events(text: str) -> list[dict[str, Any]]:
    return [{"type": "user.message", "content": [{"type": "text", "text": "Summarise the contract"}]},
            {"type": "agent.message", "content": [{"type": "text", "text": text}]}]


def _log(ws: Workspace, server: FakeAnthropic, cloud_id: str) -> list[dict[str, Any]]:
    s = data(server).sessions[cloud_id]
    path = session_path(ws, importer.session_id_for(cloud_id, s["created_at"]))
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_lone_surrogate_in_one_session_is_read_as_u_fffd_and_every_session_is_imported(
        fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    d = data(fake_anthropic)
    good = d.add_session(events=_events("Done."))
    odd = d.add_session(events=_events("bad \ud800 lone"), title="title \udfff too")

    out = cli_json(ws, "cloud", "sessions", "pull")

    assert out["imported"] == 2 and out["skipped"] == 0, out
    assert _log(ws, fake_anthropic, good)
    text = json.dumps(_log(ws, fake_anthropic, odd), ensure_ascii=False)
    assert "bad \ufffd lone" in text and "title \ufffd too" in text
    assert "\\ud800" not in text and "\\udfff" not in text
    again = cli_json(ws, "cloud", "sessions", "pull")  # the nightly pull is not blocked by it
    assert again["already_imported"] == 2 and again["imported"] == 0


@pytest.mark.parametrize("event", ["a bare string", None, [1, 2]], ids=["string", "null", "list"])
def test_an_event_that_is_not_an_object_skips_its_session_with_a_warning(
        fake_anthropic: FakeAnthropic, ws: Workspace, event: Any) -> None:
    d = data(fake_anthropic)
    good = [d.add_session(events=_events("Done.")) for _ in range(2)]
    odd = d.add_session(events=_events("fine"))
    d.events[odd].insert(1, event)

    result = cli(ws, "cloud", "sessions", "pull", "--json")

    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["imported"] == 2 and out["skipped"] == 1, out
    [warning] = out["warnings"]
    assert warning.startswith(f"session {odd} skipped: ") and "item 2" in warning and "not an object" in warning
    assert all(_log(ws, fake_anthropic, s) for s in good)
    plain = cli(ws, "cloud", "sessions", "pull")  # skipped again, with the same warning: not blocked
    assert plain.exit_code == 0, plain.stderr
    assert f"warning: session {odd} skipped" in plain.stderr


def test_an_events_page_that_is_not_a_page_still_stops_the_pull(
        fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    d = data(fake_anthropic)
    d.add_session(events=_events("Done."))
    odd = d.add_session(events=_events("fine"))
    handle = fake_anthropic.managed.handle

    def bad(handler: Any, rec: Any) -> None:
        if rec.path.endswith(f"/{odd}/events"):
            handler.send_bytes(200, b'{"data": "not-a-list", "has_more": false}', "application/json")
        else:
            handle(handler, rec)

    fake_anthropic.managed.handle = bad  # type: ignore[method-assign]
    fake_anthropic.allow_leftovers = True

    result = cli(ws, "cloud", "sessions", "pull")

    assert result.exit_code == 3, result.stderr
    assert odd in result.stderr and "JSON without the expected fields" in result.stderr
