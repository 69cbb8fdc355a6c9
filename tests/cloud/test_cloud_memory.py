"""`dreamcli cloud memory pull/push` against the fake Managed Agents endpoints, through the real SDK."""

from __future__ import annotations

import json

from dreamcli.testing import FakeAnthropic
from dreamcli.workspace.home import Workspace
from tests.cloud.helpers import audit, cli, cli_json, cloud_requests, data, mode, requires_managed_agents
from tests.support.playbooks import write_playbook

pytestmark = requires_managed_agents

SECRET = "AKIA" + "Z7QX4PLM2NB8VC3K"


def _store(server: FakeAnthropic, n: int = 3) -> str:
    mems = {f"/notes/topic-{i}.md": f"note {i}\n" for i in range(n)}
    mems["/keys.md"] = f"aws key {SECRET}\n"
    return data(server).add_store(memories=mems)


def test_pull_mirrors_every_page_privately_and_redacted(fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    store = _store(fake_anthropic, 25)  # view=full pages hold at most 20

    out = cli_json(ws, "cloud", "memory", "pull", store)

    root = ws.memories_root(store)
    assert len(out["written"]) == 26 and out["redacted"] == ["/keys.md"]
    assert (root / "notes" / "topic-24.md").read_text() == "note 24\n"
    assert SECRET not in (root / "keys.md").read_text()
    assert mode(root / "notes" / "topic-0.md") == 0o600 and mode(root / "notes") == 0o700
    state_file = ws.state_dir / "cloud" / "memory" / f"{store}.json"
    assert mode(state_file) == 0o600 and mode(state_file.parent) == 0o700
    state = json.loads(state_file.read_text())
    assert state["memories"]["/notes/topic-0.md"]["sha256"] == data(fake_anthropic).find_memory(
        store, "/notes/topic-0.md")["content_sha256"]
    lists = [r for r in cloud_requests(fake_anthropic, "GET", f"/v1/memory_stores/{store}/memories")]
    assert len(lists) == 2 and "view=full" in lists[0].query

    data(fake_anthropic).delete_memory(store, data(fake_anthropic).find_memory(store, "/notes/topic-3.md")["id"])
    again = cli_json(ws, "cloud", "memory", "pull", store)
    assert again["removed"] == ["/notes/topic-3.md"] and again["written"] == [] and again["unchanged"] == 25
    assert not (root / "notes" / "topic-3.md").exists()


def test_unknown_store_is_one_line_exit_2(fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    result = cli(ws, "cloud", "memory", "pull", "memstore_01nope")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "no memory store 'memstore_01nope'" in result.stderr


def test_missing_key_is_exit_4_naming_the_variable(monkeypatch, ws: Workspace) -> None:  # type: ignore[no-untyped-def]
    for var in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
    result = cli(ws, "cloud", "memory", "pull", "memstore_01abc")
    assert result.exit_code == 4 and "set ANTHROPIC_API_KEY" in result.stderr


def test_push_writes_the_live_playbook_with_preconditions_and_audits_versions(
        fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    store = _store(fake_anthropic)
    write_playbook(ws, "legal", [("pb-aaaaaaaa", "Tools", "Convert .docx with pandoc first."),
                                 ("pb-bbbbbbbb", "Style", "Cite the clause number.")])
    cli_json(ws, "cloud", "memory", "pull", store)

    dry = cli_json(ws, "cloud", "memory", "push", "legal", "--store", store, "--dry-run")
    assert {c["path"] for c in dry["changes"]} == {"/playbooks/legal/tools.md", "/playbooks/legal/style.md"}
    assert not cloud_requests(fake_anthropic, "POST", f"/v1/memory_stores/{store}/memories")
    assert not [a for a in audit(ws) if a["action"] == "cloud-push"]

    out = cli_json(ws, "cloud", "memory", "push", "legal", "--store", store)
    assert [c["op"] for c in out["changes"]] == ["create", "create"]
    mem = dict(data(fake_anthropic).find_memory(store, "/playbooks/legal/tools.md") or {})
    assert "Convert .docx with pandoc first." in mem["content"]
    record = [a for a in audit(ws) if a["action"] == "cloud-push"][-1]
    assert record["actor"] == "tester" and record["store_id"] == store
    assert {c["memory_version_id"] for c in record["changes"]} >= {mem["memory_version_id"]}

    # the playbook changes: the edited section is updated with the hash it was pushed with, the gone one deleted
    write_playbook(ws, "legal", [("pb-aaaaaaaa", "Tools", "Convert .docx with pandoc -t plain first.")], version=2)
    out = cli_json(ws, "cloud", "memory", "push", "legal", "--store", store)
    assert sorted((c["op"], c["path"]) for c in out["changes"]) == [
        ("delete", "/playbooks/legal/style.md"), ("update", "/playbooks/legal/tools.md")]
    update = cloud_requests(fake_anthropic, "POST", f"/v1/memory_stores/{store}/memories/{mem['id']}")[-1]
    assert update.body["precondition"] == {"type": "content_sha256", "content_sha256": mem["content_sha256"]}
    delete = cloud_requests(fake_anthropic, "DELETE", f"/v1/memory_stores/{store}/memories/")[-1]
    assert "expected_content_sha256=" in delete.query
    assert data(fake_anthropic).find_memory(store, "/playbooks/legal/style.md") is None
    assert cli_json(ws, "cloud", "memory", "push", "legal", "--store", store)["changes"] == []


def test_a_concurrent_cloud_change_is_a_409_conflict_with_both_sides(
        fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    store = _store(fake_anthropic)
    write_playbook(ws, "legal", [("pb-aaaaaaaa", "Tools", "Convert .docx with pandoc first.")])
    cli_json(ws, "cloud", "memory", "pull", store)
    cli_json(ws, "cloud", "memory", "push", "legal", "--store", store)
    data(fake_anthropic).write_memory(store, "/playbooks/legal/tools.md", "edited by an agent in the cloud\n")
    write_playbook(ws, "legal", [("pb-aaaaaaaa", "Tools", "Convert with pandoc -t plain.")], version=2)

    result = cli(ws, "cloud", "memory", "push", "legal", "--store", store)

    assert result.exit_code == 1
    assert "conflict" in result.stderr and result.stderr.count("\n") == 1
    assert "edited by an agent in the cloud" in result.stdout  # the cloud side
    assert "Convert with pandoc -t plain." in result.stdout  # our side
    assert data(fake_anthropic).find_memory(store, "/playbooks/legal/tools.md")["content"] == \
        "edited by an agent in the cloud\n"  # never overwritten
    record = [a for a in audit(ws) if a["action"] == "cloud-push"][-1]
    assert record["conflicts"][0]["path"] == "/playbooks/legal/tools.md"

    as_json = cli(ws, "cloud", "memory", "push", "legal", "--store", store, "--json")
    conflict = json.loads(as_json.stdout)["conflicts"][0]
    assert conflict["cloud_content"] == "edited by an agent in the cloud\n" and conflict["expected_sha256"]


def test_a_push_that_fails_half_way_records_what_reached_the_cloud(fake_anthropic: FakeAnthropic,
                                                                   ws: Workspace) -> None:
    store = _store(fake_anthropic)
    write_playbook(ws, "legal", [("pb-aaaaaaaa", "Tools", "Convert .docx with pandoc first."),
                                 ("pb-bbbbbbbb", "Style", "Cite the clause number.")])
    data(fake_anthropic).fail_writes.add("/playbooks/legal/tools.md")

    result = cli(ws, "cloud", "memory", "push", "legal", "--store", store)

    assert result.exit_code == 3 and result.stderr.count("\n") == 1
    record = [a for a in audit(ws) if a["action"] == "cloud-push"][-1]
    assert record["interrupted"] is True
    assert [c["path"] for c in record["changes"]] == ["/playbooks/legal/style.md"]
    state = json.loads((ws.state_dir / "cloud" / "memory" / f"{store}.json").read_text())
    assert "/playbooks/legal/style.md" in state["memories"]
