"""A cloud dream's proposal is the difference between the input store as the dream found it (read when
it starts) and its output store: what agents write to the input store while the dream runs is never
proposed for removal or reverted, and an entry's push precondition is the hash the dream read, so a
memory changed since is a conflict, never overwritten. Against the fake Managed Agents endpoints."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

import dreamcli.cloud.dream_job as dream_job
from dreamcli.testing import FakeAnthropic
from dreamcli.workspace.home import Workspace
from tests.cloud.helpers import cli, cli_json, cloud_requests, data, requires_managed_agents

pytestmark = [requires_managed_agents, pytest.mark.timeout(60)]

LEARNED = "the agent learned this while the dream ran\n"


def _while_running(monkeypatch: pytest.MonkeyPatch, server: FakeAnthropic, act: Callable[[], None]) -> None:
    """Run `act` (an agent writing to the input store) once, while the cloud dream is `running`: after
    the dream made its output store, before it completed."""
    done: list[bool] = []

    def pause(_seconds: float) -> None:
        if not done and any(d.body["status"] == "running" for d in data(server).dreams.values()):
            act()
            done.append(True)

    monkeypatch.setattr(dream_job, "_pause", pause)


def _dream(server: FakeAnthropic, ws: Workspace, memories: dict[str, str],
           writes: dict[str, str | None]) -> tuple[str, dict]:
    d = data(server)
    store = d.add_store(memories=memories)
    d.add_session(store_ids=[store], status="terminated")
    d.script_dream(pending_polls=1, running_polls=2, writes=writes)
    cli_json(ws, "cloud", "memory", "pull", store)
    return store, cli_json(ws, "cloud", "dream", "--store", store)["dreams"][0]


def _operations(ws: Workspace, dream_id: str) -> dict[str, dict]:
    proposal = json.loads((ws.dreams_dir / dream_id / "proposal.json").read_text())
    return {o["path"]: o for o in proposal["operations"]}


def _cloud(server: FakeAnthropic, store: str) -> dict[str, str]:
    return {m["path"]: m["content"] for m in data(server).memories[store].values()}


def test_memories_agents_write_while_a_cloud_dream_runs_are_never_proposed_for_removal(
        fake_anthropic: FakeAnthropic, ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    d = data(fake_anthropic)

    def agent() -> None:
        store = next(iter(d.stores))
        d.write_memory(store, "/notes/learned-today.md", LEARNED)  # new since the dream started
        d.write_memory(store, "/notes/b.md", "b, edited by an agent\n")  # changed since the dream started

    _while_running(monkeypatch, fake_anthropic, agent)
    store, made = _dream(fake_anthropic, ws, {"/notes/a.md": "alpha\n", "/notes/b.md": "b\n"},
                         {"/notes/a.md": "alpha, tidied\n"})

    ops = _operations(ws, made["dream_id"])
    assert sorted(ops) == ["/memories/notes/a.md"] and ops["/memories/notes/a.md"]["op"] == "update"
    assert made["counts"] == {"create": 0, "update": 1, "retire": 0}
    diff = cli(ws, "playbooks", "diff", made["dream_id"])
    assert diff.exit_code == 0 and "learned-today" not in diff.stdout and "RETIRED" not in diff.stdout
    mirror = ws.memories_root(store) / "notes"  # refreshed with what the cloud holds now
    assert (mirror / "learned-today.md").read_text() == LEARNED

    assert cli(ws, "playbooks", "approve", made["dream_id"], "--all", "--yes").exit_code == 0
    pushed = cli_json(ws, "cloud", "memory", "push", "default", "--store", store)

    assert [(c["op"], c["path"]) for c in pushed["changes"]] == [("update", "/notes/a.md")]
    assert _cloud(fake_anthropic, store) == {"/notes/a.md": "alpha, tidied\n", "/notes/b.md": "b, edited by an agent\n",
                                             "/notes/learned-today.md": LEARNED}


def test_a_memory_an_agent_rewrites_while_the_dream_runs_is_never_overwritten(
        fake_anthropic: FakeAnthropic, ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    d = data(fake_anthropic)
    _while_running(monkeypatch, fake_anthropic,
                   lambda: d.write_memory(next(iter(d.stores)), "/notes/a.md", "alpha, by an agent\n"))
    store, made = _dream(fake_anthropic, ws, {"/notes/a.md": "alpha\n"}, {"/notes/a.md": "alpha, tidied\n"})

    entry = _operations(ws, made["dream_id"])["/memories/notes/a.md"]
    assert entry["old_text"] == "alpha\n" and "changed in the cloud after the dream read it" in entry["reason"]
    approved = cli(ws, "playbooks", "approve", made["dream_id"], "--all", "--yes")
    assert approved.exit_code == 1 and "changed after the dream read it" in approved.stderr

    pushed = cli_json(ws, "cloud", "memory", "push", "default", "--store", store)
    assert pushed["changes"] == [] and _cloud(fake_anthropic, store) == {"/notes/a.md": "alpha, by an agent\n"}


def test_a_pushed_cloud_dream_entry_carries_the_hash_the_dream_read_as_its_precondition(
        fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    store, made = _dream(fake_anthropic, ws, {"/notes/a.md": "alpha\n", "/notes/old.md": "old\n"},
                         {"/notes/a.md": "alpha, tidied\n", "/notes/old.md": None, "/notes/new.md": "new\n"})
    assert cli(ws, "playbooks", "approve", made["dream_id"], "--all", "--yes").exit_code == 0
    d = data(fake_anthropic)
    read = d.find_memory(store, "/notes/a.md")["content_sha256"]
    # after the approve, agents change every memory the proposal touches; the nightly pull brings it in
    d.write_memory(store, "/notes/a.md", "alpha, by an agent\n")
    d.write_memory(store, "/notes/old.md", "old, still in use\n")
    d.write_memory(store, "/notes/new.md", "new, by an agent\n")
    cli_json(ws, "cloud", "memory", "pull", store)

    result = cli(ws, "cloud", "memory", "push", "default", "--store", store, "--json")

    assert result.exit_code == 1, result.stderr
    conflicts = {c["path"]: c for c in json.loads(result.stdout)["conflicts"]}
    assert sorted(conflicts) == ["/notes/a.md", "/notes/new.md", "/notes/old.md"]
    assert conflicts["/notes/a.md"]["expected_sha256"] == read
    assert _cloud(fake_anthropic, store) == {"/notes/a.md": "alpha, by an agent\n",
                                             "/notes/old.md": "old, still in use\n",
                                             "/notes/new.md": "new, by an agent\n"}
    update = cloud_requests(fake_anthropic, "POST", f"/v1/memory_stores/{store}/memories/")
    assert [r.body["precondition"]["content_sha256"] for r in update] == [read]

    # pull, review, push again: the conflict showed what the cloud holds, and that is what is replaced
    d.write_memory(store, "/notes/new.md", "new, by an agent, once more\n")  # changed after the conflict: not seen
    cli_json(ws, "cloud", "memory", "pull", store)
    again = cli(ws, "cloud", "memory", "push", "default", "--store", store, "--json")
    out = json.loads(again.stdout)
    assert again.exit_code == 1 and [c["path"] for c in out["conflicts"]] == ["/notes/new.md"]
    assert sorted((c["op"], c["path"]) for c in out["changes"] if c["status"] == "done") == [
        ("delete", "/notes/old.md"), ("update", "/notes/a.md")]
    assert _cloud(fake_anthropic, store) == {"/notes/a.md": "alpha, tidied\n",
                                             "/notes/new.md": "new, by an agent, once more\n"}
