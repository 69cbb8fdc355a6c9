"""A memory create is not conditional: sent twice, the second may find the first's memory (a 409) or, on
an API that allows it, make a second one. So a push sends each create once, and when it got no answer (a
timeout, a dropped connection, a 5xx) looks the path up before trying again: a memory holding what it sent
is the first attempt's, taken as created (docs/managed-agents.md, "A stalled API")."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qs

import pytest

from dreamcli.errors import EXIT_INFRA
from dreamcli.testing import FakeAnthropic
from dreamcli.workspace.home import Workspace
from tests.cloud.helpers import audit, cli, cli_json, cloud_requests, data, requires_managed_agents
from tests.support.playbooks import write_playbook

pytestmark = [requires_managed_agents, pytest.mark.timeout(60)]

TIMEOUT_S = 1
PATH = "/playbooks/legal/tools.md"


def _is_create(rec: Any, parts: list[str]) -> bool:
    return rec.method == "POST" and len(parts) == 3 and parts[0] == "memory_stores" and parts[2] == "memories"


def _stall_creates(server: FakeAnthropic, *, stored: bool, times: int = 1) -> None:
    """The first `times` creates get their answer only after the client gave up; `stored`: each reached
    the store first (else it is lost on the way)."""
    route = server.managed._route
    left = [times]

    def slow(rec: Any, parts: list[str], q: dict[str, str]) -> Any:
        if not _is_create(rec, parts) or left[0] == 0:
            return route(rec, parts, q)
        left[0] -= 1
        answer = route(rec, parts, q) if stored else (500, {"type": "error", "error": {"message": "lost"}})
        time.sleep(TIMEOUT_S + 0.5)
        return answer

    server.managed._route = slow  # type: ignore[method-assign]
    server.allow_leftovers = True


def _setup(server: FakeAnthropic, ws: Workspace, retries: int = 1) -> str:
    ws.config_path.write_text(f"limits:\n  request_timeout_s: {TIMEOUT_S}\n  model_retries: {retries}\n")
    write_playbook(ws, "legal", [("pb-aaaaaaaa", "Tools", "Convert .docx with pandoc first.")])
    return data(server).add_store()


def test_a_create_that_reached_the_store_but_timed_out_is_not_sent_again(fake_anthropic: FakeAnthropic,
                                                                        ws: Workspace) -> None:
    store = _setup(fake_anthropic, ws)
    _stall_creates(fake_anthropic, stored=True)

    out = cli_json(ws, "cloud", "memory", "push", "legal", "--store", store)

    [change] = out["changes"]
    mem = data(fake_anthropic).find_memory(store, PATH)
    assert mem is not None and change["op"] == "create" and change["status"] == "done"
    assert change["memory_id"] == mem["id"] and change["memory_version_id"] == mem["memory_version_id"]
    assert len(cloud_requests(fake_anthropic, "POST", f"/v1/memory_stores/{store}/memories")) == 1
    state = json.loads((ws.state_dir / "cloud" / "memory" / f"{store}.json").read_text())
    assert state["memories"][PATH]["memory_id"] == mem["id"]
    record = [a for a in audit(ws) if a["action"] == "cloud-push"][-1]
    assert [(c["path"], c["status"]) for c in record["changes"]] == [(PATH, "done")]
    assert cli_json(ws, "cloud", "memory", "push", "legal", "--store", store)["changes"] == []


def test_a_create_lost_on_the_way_is_looked_up_then_sent_again(fake_anthropic: FakeAnthropic,
                                                               ws: Workspace) -> None:
    store = _setup(fake_anthropic, ws)
    _stall_creates(fake_anthropic, stored=False)

    out = cli_json(ws, "cloud", "memory", "push", "legal", "--store", store)

    assert [c["status"] for c in out["changes"]] == ["done"]
    assert "pandoc" in data(fake_anthropic).find_memory(store, PATH)["content"]
    sent = [(r.method, r.path.removeprefix(f"/v1/memory_stores/{store}")) for r in fake_anthropic.all_requests
            if r.path.startswith(f"/v1/memory_stores/{store}/memories")]
    assert sent[-3:] == [("POST", "/memories"), ("GET", "/memories"), ("POST", "/memories")]  # looked up between


def test_a_create_that_never_answers_names_the_attempts_dreamcli_made(fake_anthropic: FakeAnthropic,
                                                                      ws: Workspace) -> None:
    store = _setup(fake_anthropic, ws, retries=1)
    _stall_creates(fake_anthropic, stored=False, times=2)

    result = cli(ws, "cloud", "memory", "push", "legal", "--store", store)

    assert result.exit_code == EXIT_INFRA, result.stderr
    [line] = result.stderr.splitlines()
    assert f"push {PATH} to memory store {store}" in line and "did not answer within 1 s (2 attempts;" in line, line
    assert len(cloud_requests(fake_anthropic, "POST", f"/v1/memory_stores/{store}/memories")) == 2
    assert data(fake_anthropic).find_memory(store, PATH) is None


def test_another_writers_memory_found_after_an_unanswered_create_is_a_conflict(fake_anthropic: FakeAnthropic,
                                                                               ws: Workspace) -> None:
    store = _setup(fake_anthropic, ws)
    route = fake_anthropic.managed._route

    def raced(rec: Any, parts: list[str], q: dict[str, str]) -> Any:
        if _is_create(rec, parts) and data(fake_anthropic).find_memory(store, PATH) is None:
            data(fake_anthropic).write_memory(store, PATH, "an agent's own notes\n")
            return 503, {"type": "error", "error": {"type": "overloaded_error", "message": "try later"}}
        return route(rec, parts, q)

    fake_anthropic.managed._route = raced  # type: ignore[method-assign]

    result = cli(ws, "cloud", "memory", "push", "legal", "--store", store)

    assert result.exit_code == 1, result.stdout + result.stderr
    assert "created in the cloud by another writer" in result.stderr
    assert "an agent's own notes" in result.stdout  # the cloud side, shown
    assert data(fake_anthropic).find_memory(store, PATH)["content"] == "an agent's own notes\n"
    assert len(cloud_requests(fake_anthropic, "POST", f"/v1/memory_stores/{store}/memories")) == 1


def _look_ups(server: FakeAnthropic, store: str) -> list[dict[str, list[str]]]:
    return [parse_qs(r.query) for r in cloud_requests(server, "GET", f"/v1/memory_stores/{store}/memories")
            if r.path == f"/v1/memory_stores/{store}/memories" and r.t_start > _first_create(server, store).t_start]


def _first_create(server: FakeAnthropic, store: str) -> Any:
    return cloud_requests(server, "POST", f"/v1/memory_stores/{store}/memories")[0]


def test_the_look_up_after_an_unanswered_create_lists_only_the_path_s_folder(fake_anthropic: FakeAnthropic,
                                                                            ws: Workspace) -> None:
    store = _setup(fake_anthropic, ws)
    data(fake_anthropic).write_memory(store, "/notes/elsewhere.md", "an agent's notes\n")
    _stall_creates(fake_anthropic, stored=True)

    out = cli_json(ws, "cloud", "memory", "push", "legal", "--store", store)

    [change] = out["changes"]
    assert change["status"] == "done" and change["memory_id"] == data(fake_anthropic).find_memory(store, PATH)["id"]
    [look_up] = _look_ups(fake_anthropic, store)
    assert look_up["path_prefix"] == ["/playbooks/legal/"], look_up
    assert len(cloud_requests(fake_anthropic, "POST", f"/v1/memory_stores/{store}/memories")) == 1


def test_the_look_up_still_finds_the_memory_when_the_api_ignores_the_prefix(fake_anthropic: FakeAnthropic,
                                                                           ws: Workspace) -> None:
    store = _setup(fake_anthropic, ws)
    d = data(fake_anthropic)
    d.write_memory(store, "/notes/elsewhere.md", "an agent's notes\n")
    d.write_memory(store, "/notes/tools.md", "an agent's own tools\n")  # the same name, in another folder
    _stall_creates(fake_anthropic, stored=True)
    route = fake_anthropic.managed._route

    def whole_store(rec: Any, parts: list[str], q: dict[str, str]) -> Any:
        return route(rec, parts, {k: v for k, v in q.items() if k != "path_prefix"})

    fake_anthropic.managed._route = whole_store  # type: ignore[method-assign]

    out = cli_json(ws, "cloud", "memory", "push", "legal", "--store", store)

    [change] = out["changes"]
    assert change["status"] == "done" and change["memory_id"] == d.find_memory(store, PATH)["id"]
    assert [q.get("path_prefix") for q in _look_ups(fake_anthropic, store)] == [["/playbooks/legal/"]]
    assert len(cloud_requests(fake_anthropic, "POST", f"/v1/memory_stores/{store}/memories")) == 1


@pytest.mark.parametrize(("path", "prefix"), [(PATH, "/playbooks/legal/"), ("notes/a.md", "notes/"),
                                              ("/top.md", None), ("top.md", None)])
def test_the_look_up_prefix_is_the_path_s_folder_and_none_at_the_top(path: str, prefix: str | None) -> None:
    """The API wants a prefix that ends in `/` (whole segments); a path at the top lists the whole store."""
    from dreamcli.cloud.memory_create import folder_of

    assert folder_of(path) == prefix
