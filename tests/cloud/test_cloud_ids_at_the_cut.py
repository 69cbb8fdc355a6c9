"""An id, a creation time, a dream's outputs or a cancel's status, as the API answered them, are cut for
the line that names them; redacted whole first, so a secret that straddles the cut is never left half in
stderr or in a warning (a cut token no longer matches its rule). Covers `cloud dream` (the sessions it
lists, the dream it creates, polls and cancels) and `cloud sessions pull` (the sessions it skips)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

import dreamcli.cloud.dream_job as dream_job
from dreamcli.cloud.state import shown
from dreamcli.redaction import default_redactor
from dreamcli.testing import FakeAnthropic
from dreamcli.workspace.home import Workspace
from tests.cloud.helpers import bend_create, cli, data, requires_managed_agents

pytestmark = [requires_managed_agents, pytest.mark.timeout(60)]

TOKEN = "ghp_" + "A1b2C3d4E5" * 3 + "F6g7H8"  # a GitHub token: 36 characters after ghp_
BODY = TOKEN[4:10]  # any piece of its secret part
NEAR = "z" * 50 + " " + TOKEN  # quoted, the cut at 80 falls inside the token
OUTPUTS = [{"memory_store_id": "m" * 30 + " " + TOKEN}]
STATUS = "s" * 20 + " " + TOKEN  # the cancel's status is cut at 40
EVENTS = [{"type": "user.message", "content": [{"type": "text", "text": "Summarise the contract"}]}]


@pytest.fixture(autouse=True)
def fast_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dream_job, "FIRST_POLL_S", 0.001)


@pytest.mark.parametrize(("value", "width"), [(NEAR, 80), (OUTPUTS, 80), (STATUS, 40)])
def test_the_cut_falls_inside_the_token(value: Any, width: int) -> None:
    """The premise: cut first, the rules miss what is left of the token."""
    assert BODY in default_redactor().redact_text(shown(value, width))


def _clean(text: str) -> None:
    assert "[REDACTED" in text and BODY not in text, text


def _store_with_a_session(server: FakeAnthropic) -> str:
    d = data(server)
    store = d.add_store(memories={"/notes/a.md": "a\n"})
    d.add_session(store_ids=[store], status="terminated")
    return store


def _listed_as(server: FakeAnthropic, store_ids: list[str], **fields: Any) -> None:
    """A session the fake server lists with `fields` as given (its id unchecked)."""
    d = data(server)
    template = d.sessions.pop(d.add_session(events=EVENTS))
    session = {**copy.deepcopy(template), **fields}
    d.sessions[session["id"]] = session
    d.session_stores[session["id"]] = store_ids
    d.events[session["id"]] = []


def test_a_listed_session_id_names_no_piece_of_a_secret(fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    store = data(fake_anthropic).add_store()
    _listed_as(fake_anthropic, [store], id=NEAR)

    result = cli(ws, "cloud", "dream", "--store", store)

    assert result.exit_code == 3 and "not a session id" in result.stderr, result.stderr
    _clean(result.stderr)


def test_a_created_dream_id_names_no_piece_of_a_secret(fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    store = _store_with_a_session(fake_anthropic)
    bend_create(fake_anthropic, lambda b: b.update(id=NEAR))

    result = cli(ws, "cloud", "dream", "--store", store)

    assert result.exit_code == 3 and "not a dream id" in result.stderr, result.stderr
    _clean(result.stderr)


def test_a_completed_dream_s_outputs_name_no_piece_of_a_secret(fake_anthropic: FakeAnthropic, ws: Workspace,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    store = _store_with_a_session(fake_anthropic)
    d = data(fake_anthropic)
    advance = d.advance

    def bent(dream: Any) -> None:
        advance(dream)
        if dream.body["status"] == "completed":
            dream.body["outputs"] = copy.deepcopy(OUTPUTS)

    monkeypatch.setattr(d, "advance", bent)

    result = cli(ws, "cloud", "dream", "--store", store)

    assert result.exit_code == 3 and "the API answered outputs" in result.stderr, result.stderr
    _clean(result.stderr)


def test_a_cancel_s_status_names_no_piece_of_a_secret(fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    store = _store_with_a_session(fake_anthropic)
    bend_create(fake_anthropic, lambda b: b.update(usage="lots"), cancel=(200, {"status": STATUS}))

    result = cli(ws, "cloud", "dream", "--store", store)

    assert result.exit_code == 3 and "dreams.cancel sent; status" in result.stderr, result.stderr
    _clean(result.stderr)


@pytest.mark.parametrize(("fields", "said"), [
    ({"id": NEAR}, "not a valid session id"),
    ({"id": "sesn_01cut", "created_at": "2026-11-01 " + "t" * 40 + " " + TOKEN}, "not an RFC 3339 time"),
])
def test_a_skipped_session_s_warning_names_no_piece_of_a_secret(fake_anthropic: FakeAnthropic, ws: Workspace,
                                                               fields: dict[str, Any], said: str) -> None:
    _listed_as(fake_anthropic, [], **fields)

    shown_json = cli(ws, "cloud", "sessions", "pull", "--json")
    plain = cli(ws, "cloud", "sessions", "pull")

    assert shown_json.exit_code == 0 and plain.exit_code == 0, shown_json.stderr + plain.stderr
    assert said in shown_json.stdout, shown_json.stdout
    for text in (shown_json.stdout, shown_json.stderr, plain.stdout + plain.stderr):
        assert BODY not in text, text
    _clean(shown_json.stdout)
