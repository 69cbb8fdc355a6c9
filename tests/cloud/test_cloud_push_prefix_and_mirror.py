"""A push killed right after deleting a playbook's section file is finished and audited by the next push;
a memory already in the cloud as wanted but never pulled here is recorded as `matched`, not as created;
a local dream refuses a cloud store's mirror as its `--memory-store` (a pull would delete what it wrote).
Against the fake Managed Agents endpoints, through the real SDK and the CLI."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dreamcli.testing import FakeAnthropic
from dreamcli.workspace.home import Workspace
from tests.cloud.helpers import audit, cli, cli_json, data, requires_managed_agents
from tests.support.playbooks import write_playbook

pytestmark = [requires_managed_agents, pytest.mark.timeout(90)]

TOOLS = ("pb-aaaaaaaa", "Tools", "Convert .docx with pandoc first.")
STYLE = ("pb-bbbbbbbb", "Style", "Cite the clause number.")


def _state(ws: Workspace, store: str) -> dict[str, Any]:
    return json.loads((ws.state_dir / "cloud" / "memory" / f"{store}.json").read_text())


def _pushes(ws: Workspace) -> list[dict[str, Any]]:
    return [a for a in audit(ws) if a["action"] == "cloud-push"]


def test_a_push_killed_after_its_prefix_delete_is_recovered_and_audited(fake_anthropic: FakeAnthropic,
                                                                       ws: Workspace) -> None:
    store = data(fake_anthropic).add_store(memories={"/notes/keep.md": "k\n"})
    write_playbook(ws, "legal", [TOOLS, STYLE])
    cli_json(ws, "cloud", "memory", "pull", store)
    cli_json(ws, "cloud", "memory", "push", "legal", "--store", store)
    cli_json(ws, "cloud", "memory", "pull", store)  # the mirror holds style.md
    assert (ws.memories_root(store) / "playbooks" / "legal" / "style.md").exists()
    write_playbook(ws, "legal", [TOOLS], version=2)
    memories = data(fake_anthropic).memories[store]  # a push killed -9 right after its DELETE reached the cloud
    del memories[next(k for k, m in memories.items() if m["path"] == "/playbooks/legal/style.md")]

    out = cli_json(ws, "cloud", "memory", "push", "legal", "--store", store)

    assert out["changes"] == []
    assert [(c["op"], c["path"], c["status"]) for c in out["recovered"]] == [
        ("delete", "/playbooks/legal/style.md", "already_applied")]
    assert "/playbooks/legal/style.md" not in _state(ws, store)["memories"]
    assert not (ws.memories_root(store) / "playbooks" / "legal" / "style.md").exists()
    assert [(c["op"], c["path"], c["status"]) for c in _pushes(ws)[-1]["changes"]] == [
        ("delete", "/playbooks/legal/style.md", "already_applied")]
    assert cli_json(ws, "cloud", "memory", "push", "legal", "--store", store)["recovered"] == []
    assert len(_pushes(ws)) == 3 and _pushes(ws)[-1]["changes"] == []  # nothing more to record: who pushed, when


def test_an_identical_memory_never_pulled_here_is_matched_not_created(fake_anthropic: FakeAnthropic,
                                                                     ws: Workspace) -> None:
    d = data(fake_anthropic)
    first = d.add_store()
    write_playbook(ws, "legal", [TOOLS])
    cli_json(ws, "cloud", "memory", "push", "legal", "--store", first)
    rendered = {m["path"]: m["content"] for m in d.memories[first].values()}
    second = d.add_store(memories=rendered)  # another workspace pushed the same playbook there

    out = cli_json(ws, "cloud", "memory", "push", "legal", "--store", second)

    assert out["changes"] == [] and out["unchanged"] == 1
    assert [(c["op"], c["path"], c["status"]) for c in out["recovered"]] == [
        ("create", "/playbooks/legal/tools.md", "matched")]
    [record] = [p for p in _pushes(ws) if p["store_id"] == second]
    assert [c["status"] for c in record["changes"]] == ["matched"]  # no claim of having created it
    assert list(_state(ws, second)["memories"]) == ["/playbooks/legal/tools.md"]


def test_a_local_dream_refuses_a_cloud_stores_mirror(fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    store = data(fake_anthropic).add_store(memories={"/notes/a.md": "alpha\n"})
    cli_json(ws, "cloud", "memory", "pull", store)
    assert ws.memory_store(store).is_dir()

    r = cli(ws, "dream", "--offline", "--memory-store", store)

    assert r.exit_code == 2, (r.exit_code, r.output)
    assert r.stderr.startswith("error: ") and r.stderr.count("\n") == 1, r.stderr
    assert f"dreamcli --home {ws.root} cloud dream --store {store}" in r.stderr
    assert not ws.dreams_dir.is_dir() or list(ws.dreams_dir.iterdir()) == []
