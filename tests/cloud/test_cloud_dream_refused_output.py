"""A completed cloud dream whose output store the mirror cannot hold (a path that leaves it): the error
names the output store and the cloud dream, never the input store, and the dream, which ran and was
billed, stays on record in `dreams/` with its usage and no entries (docs/managed-agents.md, "Memory stores
and playbooks")."""

from __future__ import annotations

import json
from typing import Any

import pytest

import dreamcli.cloud.dream_job as dream_job
from dreamcli.testing import FakeAnthropic
from dreamcli.workspace.home import Workspace
from tests.cloud.helpers import cli, cli_json, data, requires_managed_agents

pytestmark = [requires_managed_agents, pytest.mark.timeout(60)]


@pytest.fixture(autouse=True)
def fast_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dream_job, "FIRST_POLL_S", 0.001)


def test_an_output_store_with_a_path_leaving_the_mirror_names_that_store_and_keeps_a_record(
        fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    d = data(fake_anthropic)
    store = d.add_store(memories={"/notes/style.md": "Cite clause numbers.\n"})
    d.add_session(store_ids=[store], status="terminated")
    d.script_dream(writes={"/notes/style.md": "Cite clause numbers and dates.\n", "/../../escape.md": "out\n"})

    result = cli(ws, "cloud", "dream", "--store", store)

    assert result.exit_code == 2, result.stderr + repr(result.exception)
    [cloud_id] = list(d.dreams)
    output = d.dreams[cloud_id].body["outputs"][0]["memory_store_id"]
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith(f"error: output store {output} of cloud dream {cloud_id}: memory "), line
    assert "'/../../escape.md': not a file path inside the mirror; no proposal written" in line, line
    assert f"memory store {store}" not in line and "nothing pulled" not in line, line
    [local] = [p for p in ws.dreams_dir.iterdir() if not p.name.startswith(".")]
    assert local.name in line
    info = json.loads((local / "dream.json").read_text())
    assert info["status"] == "empty" and info["source"] == "managed-agents"
    assert info["cloud"]["dream_id"] == cloud_id and info["cloud"]["output_store"] == output
    assert info["cloud"]["input_store"] == store and "not a file path inside the mirror" in info["cloud"]["refused"]
    assert info["usage"]["input_tokens"] > 0  # what it cost stays on record
    assert json.loads((local / "proposal.json").read_text())["operations"] == []
    assert "Refused, nothing to review: output store" in (local / "report.md").read_text()
    assert not (ws.root.parent / "escape.md").exists()
    assert not (ws.memories_root(store) / "notes" / "style.md").exists()  # the mirror is not refreshed either

    d.script_dream(writes={"/notes/style.md": "Cite clause numbers and dates.\n"})
    out = cli_json(ws, "cloud", "dream", "--store", store)  # a good dream after it: an ordinary proposal
    assert out["dreams"][0]["counts"] == {"create": 0, "update": 1, "retire": 0}
    assert cli_json(ws, "cloud", "memory", "push", "default", "--store", store)["changes"] == []


def test_an_input_store_that_turns_bad_while_the_dream_runs_is_named_and_the_dream_kept(
        fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    """An agent writes a memory the mirror cannot hold into the input store while the dream runs: the
    refresh of the mirror after the dream refuses it; the dream, billed, stays on record all the same."""
    d = data(fake_anthropic)
    store = d.add_store(memories={"/notes/style.md": "Cite clause numbers.\n"})
    d.add_session(store_ids=[store], status="terminated")
    d.script_dream(writes={"/notes/style.md": "Cite clause numbers and dates.\n"})
    advance = d.advance

    def meanwhile(dream: Any) -> None:
        advance(dream)
        if dream.body["status"] == "completed" and d.find_memory(store, "/../../escape.md") is None:
            d.write_memory(store, "/../../escape.md", "an agent wrote this meanwhile\n")

    d.advance = meanwhile  # type: ignore[method-assign]

    result = cli(ws, "cloud", "dream", "--store", store)

    assert result.exit_code == 2, result.stderr + repr(result.exception)
    [cloud_id] = list(d.dreams)
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith(f"error: input store {store} of cloud dream {cloud_id}, changed while the dream ran: "
                           "memory "), line
    assert "'/../../escape.md': not a file path inside the mirror; no proposal written" in line, line
    assert "nothing pulled" not in line, line
    [local] = [p for p in ws.dreams_dir.iterdir() if not p.name.startswith(".")]
    assert local.name in line
    info = json.loads((local / "dream.json").read_text())
    assert info["status"] == "empty" and info["cloud"]["dream_id"] == cloud_id
    assert info["cloud"]["refused"].startswith(f"input store {store} of cloud dream {cloud_id}, changed while")
    assert info["usage"]["input_tokens"] > 0
    assert json.loads((local / "proposal.json").read_text())["operations"] == []
    assert "Refused, nothing to review: input store" in (local / "report.md").read_text()
    assert not (ws.root.parent / "escape.md").exists()


def test_a_refused_dream_marks_the_store_as_a_cloud_stores_mirror(fake_anthropic: FakeAnthropic,
                                                                   ws: Workspace) -> None:
    """Its first contact with the store: a local dream is refused that store's mirror all the same, as for
    a store pulled, pushed or dreamed over (docs/managed-agents.md)."""
    d = data(fake_anthropic)
    store = d.add_store(memories={"/notes/style.md": "x\n"})
    d.add_session(store_ids=[store], status="terminated")
    d.script_dream(writes={"/../../escape.md": "out\n"})
    assert cli(ws, "cloud", "dream", "--store", store).exit_code == 2
    ws.memories_root(store).mkdir(parents=True)  # the mirror folder there all the same (made by hand, say)

    local = cli(ws, "dream", "--memory-store", store)

    assert local.exit_code == 2, local.stderr
    assert "a cloud memory store's mirror" in local.stderr and f"cloud dream --store {store}" in local.stderr
    state = json.loads((ws.state_dir / "cloud" / "memory" / f"{store}.json").read_text())
    assert state["memories"] == {} and state["pulled_at"] is None  # nothing pulled: a later push knows nothing
