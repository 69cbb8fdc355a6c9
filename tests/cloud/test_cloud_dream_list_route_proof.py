"""`cloud dream list --refresh` when every dream asked for answered 404 and none was found: the dreams route is
proved another way (one `GET /v1/dreams?limit=1`). A page proves it: the 404s are final. An error there, a 404
or an answer that is no page keeps them as last seen, in the one warning that blames the base URL; after an
error every request would meet, no proof is asked for."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dreamcli.testing import FakeAnthropic
from dreamcli.workspace.home import Workspace
from tests.cloud.helpers import cli, cloud_requests, data, dream_store, requires_managed_agents
from tests.cloud.test_cloud_dream_list_refresh import _record, _rows, _unfinished_real_dream, fast_polls  # noqa: F401

pytestmark = [requires_managed_agents, pytest.mark.timeout(60)]

GONE = "drm_gone0001"


def _listings(server: FakeAnthropic) -> list[Any]:
    return [r for r in cloud_requests(server, "GET", "/v1/dreams") if r.path.rstrip("/") == "/v1/dreams"]


def test_the_only_unfinished_dream_deleted_in_the_cloud_is_settled_at_the_first_refresh(
        fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    store = dream_store(fake_anthropic, ws)
    path = _record(ws, "01AAAAAAAAAAAAAAAAAAAAAAAA", GONE, store, "2026-01-01T00:00:00Z")

    refreshed = cli(ws, "cloud", "dream", "list", "--refresh", "--json")

    row = _rows(refreshed)[GONE]
    assert (row["status"], row["finished"]) == ("not found in the cloud", True)
    assert json.loads(path.read_text())["status"] == "not found in the cloud"
    [line] = refreshed.stderr.strip().splitlines()
    assert GONE in line and "404" in line and "never asked for again" in line, line
    assert "base URL" not in refreshed.stderr
    [listing] = _listings(fake_anthropic)
    assert "limit=1" in listing.query, listing.query
    asked = len(cloud_requests(fake_anthropic, "GET", f"/v1/dreams/{GONE}"))
    again = cli(ws, "cloud", "dream", "list", "--refresh")
    assert again.exit_code == 0 and again.stderr == "", again.stderr
    assert len(cloud_requests(fake_anthropic, "GET", f"/v1/dreams/{GONE}")) == asked  # never asked again
    assert len(_listings(fake_anthropic)) == 1  # nothing to prove any more


@pytest.mark.parametrize("answer", [
    (404, {"type": "error", "error": {"type": "not_found_error", "message": "Not Found"}}),
    (500, {"type": "error", "error": {"type": "api_error", "message": "boom"}}),
    (200, {"dreams": "none here"}),
], ids=["404", "500", "no-page"])
def test_a_proof_that_fails_keeps_the_404s_as_last_seen(answer: tuple[int, dict[str, Any]],
                                                         fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    store = dream_store(fake_anthropic, ws)
    path = _record(ws, "01AAAAAAAAAAAAAAAAAAAAAAAA", GONE, store, "2026-01-01T00:00:00Z")
    route = fake_anthropic.managed._route

    def no_listing(rec: Any, parts: list[str], q: dict[str, str]) -> Any:
        return answer if parts == ["dreams"] and rec.method == "GET" else route(rec, parts, q)

    fake_anthropic.managed._route = no_listing  # type: ignore[method-assign]

    refreshed = cli(ws, "cloud", "dream", "list", "--refresh", "--json")

    row = _rows(refreshed)[GONE]
    assert (row["status"], row["finished"]) == ("running", False)
    assert json.loads(path.read_text())["status"] == "running"
    [line] = refreshed.stderr.strip().splitlines()
    assert GONE in line and "404" in line and "base URL" in line and "listed as last seen" in line, line
    assert len(_listings(fake_anthropic)) == 1


def test_no_proof_is_asked_for_when_a_dream_was_found(fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    store = dream_store(fake_anthropic, ws)
    real = _unfinished_real_dream(fake_anthropic, ws, store)
    _record(ws, "01AAAAAAAAAAAAAAAAAAAAAAAA", GONE, store, "2999-01-01T00:00:00Z")

    rows = _rows(cli(ws, "cloud", "dream", "list", "--refresh", "--json"))

    assert rows[GONE]["finished"] is True and rows[real]["status"] == "running"
    assert _listings(fake_anthropic) == []


def test_no_proof_is_asked_for_after_an_error_every_request_would_meet(
        fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    store = dream_store(fake_anthropic, ws)
    _record(ws, "01AAAAAAAAAAAAAAAAAAAAAAAB", GONE, store, "2026-01-02T00:00:00Z")  # asked first: 404
    _record(ws, "01AAAAAAAAAAAAAAAAAAAAAAAA", "drm_denied01", store, "2026-01-01T00:00:00Z")
    route = fake_anthropic.managed._route

    def refused_after_the_first(rec: Any, parts: list[str], q: dict[str, str]) -> Any:
        if parts[:2] == ["dreams", "drm_denied01"]:
            return 401, {"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}
        return route(rec, parts, q)

    fake_anthropic.managed._route = refused_after_the_first  # type: ignore[method-assign]

    refreshed = cli(ws, "cloud", "dream", "list", "--refresh", "--json")

    rows = _rows(refreshed)
    assert [(r["status"], r["finished"]) for r in rows.values()] == [("running", False)] * 2
    assert "base URL" in refreshed.stderr, refreshed.stderr
    assert _listings(fake_anthropic) == []


def test_the_fake_lists_dreams_newest_first_one_page_at_a_time(fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    """The fake's `GET /v1/dreams` as the API documents it: a cursor page of dreams, newest first."""
    import anthropic

    store = dream_store(fake_anthropic, ws)
    d = data(fake_anthropic)
    ids = [d.new_dream({"inputs": [{"type": "memory_store", "memory_store_id": store}], "model": "m"}).body["id"]
           for _ in range(3)]
    client = anthropic.Anthropic(api_key="sk-ant-test-fake", base_url=fake_anthropic.url)
    first = client.beta.dreams.list(limit=2)
    assert [x.id for x in first.data] == ids[::-1][:2] and first.next_page
    rest = first.get_next_page()
    assert [x.id for x in rest.data] == ids[:1] and not rest.next_page
