"""`cloud dream` shows and writes what the cloud answers (ids, statuses, errors) redacted with the workspace's
own rules (built-in ones plus config `redaction.patterns`), and redacted whole before a value is cut for a
line: a secret of the workspace's pattern that straddles a cut no longer matches it, and its first piece
would stay in the line."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

import dreamcli.cloud.dream_job as dream_job
from dreamcli.testing import FakeAnthropic
from dreamcli.workspace.home import Workspace
from tests.cloud.helpers import bend_create, cli, data, requires_managed_agents

pytestmark = [requires_managed_agents, pytest.mark.timeout(60)]

SECRET = "ACME-" + "0123456789" * 3  # the workspace's own kind of secret: no built-in rule knows it
CONFIG = "limits:\n  model_retries: 0\nredaction:\n  patterns: ['ACME-[0-9]{30}']\n"
NEAR = "z" * 50 + " " + SECRET  # quoted and cut at 80, the cut falls inside the secret
LONG = "x" * 290 + " " + SECRET  # an API error message is cut at 300: inside the secret


@pytest.fixture(autouse=True)
def fast_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dream_job, "FIRST_POLL_S", 0.001)


def _store(server: FakeAnthropic, ws: Workspace) -> str:
    ws.config_path.write_text(CONFIG)
    d = data(server)
    store = d.add_store(memories={"/notes/a.md": "a\n"})
    d.add_session(store_ids=[store], status="terminated")
    return store


def _clean(*texts: str) -> None:
    for text in texts:
        assert "ACME" not in text, text


def _files_under(ws: Workspace) -> str:
    return "\n".join(p.name + "\n" + p.read_text(errors="replace") for p in ws.root.rglob("*")
                     if p.is_file() and p != ws.config_path)


def test_a_listed_session_id_names_no_piece_of_a_workspace_secret(fake_anthropic: FakeAnthropic,
                                                                  ws: Workspace) -> None:
    store = _store(fake_anthropic, ws)
    d = data(fake_anthropic)
    session = copy.deepcopy(next(iter(d.sessions.values())))
    session["id"] = NEAR
    d.sessions[NEAR], d.session_stores[NEAR], d.events[NEAR] = session, [store], []

    result = cli(ws, "cloud", "dream", "--store", store)

    assert result.exit_code == 3 and "not a session id" in result.stderr, result.stderr
    assert "[REDACTED:" in result.stderr
    _clean(result.stderr)


def test_a_created_dream_id_names_no_piece_of_a_workspace_secret(fake_anthropic: FakeAnthropic,
                                                                 ws: Workspace) -> None:
    store = _store(fake_anthropic, ws)
    bend_create(fake_anthropic, lambda b: b.update(id=NEAR))

    result = cli(ws, "cloud", "dream", "--store", store)

    assert result.exit_code == 3 and "not a dream id" in result.stderr, result.stderr
    _clean(result.stderr)


@pytest.mark.parametrize("failing", ["memory_stores/{store}", "sessions", "dreams", "dreams/", "memory_stores/out"])
def test_an_api_error_cut_at_300_keeps_no_piece_of_a_workspace_secret(fake_anthropic: FakeAnthropic,
                                                                      ws: Workspace, failing: str) -> None:
    """The store check, the sessions listing, the create, a poll and the read of the output store."""
    store = _store(fake_anthropic, ws)
    route = fake_anthropic.managed._route

    def answer(rec: Any, parts: list[str], q: dict[str, str]) -> Any:
        path = "/".join(parts)
        hit = {"memory_stores/{store}": path == f"memory_stores/{store}" and rec.method == "GET",
               "sessions": path == "sessions",
               "dreams": path == "dreams" and rec.method == "POST",
               "dreams/": parts[0] == "dreams" and len(parts) == 2 and rec.method == "GET",
               "memory_stores/out": parts[0] == "memory_stores" and parts[1] != store and parts[-1] == "memories"}
        if hit[failing]:
            return 400, {"type": "error", "error": {"type": "invalid_request_error", "message": LONG}}
        return route(rec, parts, q)

    fake_anthropic.managed._route = answer  # type: ignore[method-assign]
    fake_anthropic.allow_leftovers = True

    result = cli(ws, "cloud", "dream", "--store", store)

    assert result.exit_code == 3, result.stderr
    assert "xxxxxxxx" in result.stderr  # the API's own message is there, cut
    _clean(result.stderr, result.stdout)


def test_a_status_on_the_progress_line_is_redacted(fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    store = _store(fake_anthropic, ws)
    route = fake_anthropic.managed._route

    def answer(rec: Any, parts: list[str], q: dict[str, str]) -> Any:
        got = route(rec, parts, q)
        if parts[0] == "dreams" and rec.method == "GET" and got[1].get("status") == "running":
            return 200, {**got[1], "status": f"running {SECRET}"}
        return got

    fake_anthropic.managed._route = answer  # type: ignore[method-assign]

    result = cli(ws, "cloud", "dream", "--store", store)

    assert result.exit_code == 0, result.stderr
    assert ": running [REDACTED:" in result.stderr, result.stderr
    _clean(result.stderr)


def test_ids_the_workspace_calls_secret_are_never_shown_or_written(fake_anthropic: FakeAnthropic, ws: Workspace,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A dream id and an output store id that are plain ids, yet match the workspace's pattern: the result
    lines, --json, the progress lines and every file the dream leaves show them as markers."""
    store = _store(fake_anthropic, ws)
    d = data(fake_anthropic)
    d.script_dream(writes={"/notes/b.md": "b\n"})
    new_dream, advance = d.new_dream, d.advance

    def secret_dream(body: dict[str, Any]) -> Any:
        dream = new_dream(body)
        d.dreams.pop(dream.body["id"])
        dream.body["id"] = "drm_" + SECRET
        d.dreams[dream.body["id"]] = dream
        return dream

    def secret_output(dream: Any) -> None:
        advance(dream)
        outputs = dream.body["outputs"]
        if outputs and not outputs[0]["memory_store_id"].endswith(SECRET):
            old = outputs[0]["memory_store_id"]
            new = "memstore_" + SECRET
            d.stores[new] = {**d.stores.pop(old), "id": new}
            d.memories[new] = d.memories.pop(old)
            outputs[0]["memory_store_id"] = new

    monkeypatch.setattr(d, "new_dream", secret_dream)
    monkeypatch.setattr(d, "advance", secret_output)

    shown = cli(ws, "cloud", "dream", "--store", store, "--json")
    assert shown.exit_code == 0, shown.stderr
    made = json.loads(shown.stdout)["dreams"][0]
    assert made["operations"] == 1 and made["cloud_dream_id"].startswith("drm_[REDACTED:")
    _clean(shown.stdout, shown.stderr, _files_under(ws))

    d.script_dream(writes={"/notes/c.md": "c\n"})
    plain = cli(ws, "cloud", "dream", "--store", store)
    assert plain.exit_code == 0, plain.stderr
    assert "output store memstore_[REDACTED:" in plain.stdout, plain.stdout
    _clean(plain.stdout, plain.stderr, _files_under(ws))
