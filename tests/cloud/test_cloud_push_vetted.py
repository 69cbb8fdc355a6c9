"""`cloud memory push` sends an approved memory operation as approval applied it locally: the vetted
copy (dreamcli/playbooks/vetting.py), text redacted with the workspace's current rules, never what
proposal.json holds; an operation whose path the current rules call secret is not pushed at all."""

from __future__ import annotations

import json
from typing import Any

import pytest

import dreamcli.cloud.dream_job as dream_job
from dreamcli.testing import FakeAnthropic
from dreamcli.workspace.home import Workspace
from tests.cloud.helpers import cli, cli_json, cloud_requests, data, requires_managed_agents

pytestmark = [requires_managed_agents, pytest.mark.timeout(60)]

KEY = "sk-ant-api03-" + "K" * 40


@pytest.fixture(autouse=True)
def fast_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dream_job, "FIRST_POLL_S", 0.001)


def _dreamed(server: FakeAnthropic, ws: Workspace, path: str, text: str) -> tuple[str, str, str]:
    """A cloud dream over a new store that proposes `path`; its proposal's op for it gets `text`:
    (store id, dream id, entry id)."""
    d = data(server)
    store = d.add_store(memories={"/notes/a.md": "a\n"})
    d.add_session(store_ids=[store], status="terminated")
    d.script_dream(writes={path: "dreamed\n"})
    [made] = cli_json(ws, "cloud", "dream", "--store", store)["dreams"]
    proposal_path = ws.dreams_dir / made["dream_id"] / "proposal.json"
    proposal = json.loads(proposal_path.read_text())
    [op] = [o for o in proposal["operations"] if o["path"] == "/memories" + path]
    op["text"] = text
    proposal_path.write_text(json.dumps(proposal))
    return store, made["dream_id"], op["entry_id"]


def _sent(server: FakeAnthropic) -> str:
    return json.dumps([r.body for r in cloud_requests(server, "POST", "/v1/memory_stores")])


def _memories(server: FakeAnthropic, store: str) -> dict[str, Any]:
    return {p: data(server).find_memory(store, p) for p in ("/notes/c.md", "/notes/a.md")}


def test_a_key_planted_in_proposal_json_is_pushed_as_applied_redacted(
        fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    store, dream_id, entry = _dreamed(fake_anthropic, ws, "/notes/c.md", f"use {KEY} here\n")
    r = cli(ws, "playbooks", "approve", dream_id, "--entry", entry, "--yes", "--force", "--reason", "test")
    assert r.exit_code == 0, r.stderr
    local = (ws.memories_root(store) / "notes" / "c.md").read_text()
    assert KEY not in local

    cli_json(ws, "cloud", "memory", "push", "default", "--store", store)

    assert KEY not in _sent(fake_anthropic)
    assert data(fake_anthropic).find_memory(store, "/notes/c.md")["content"] == local


def test_a_value_a_later_pattern_calls_secret_is_pushed_redacted(
        fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    store, dream_id, entry = _dreamed(fake_anthropic, ws, "/notes/c.md", "ticket ZX-4471-QQ\n")
    r = cli(ws, "playbooks", "approve", dream_id, "--entry", entry, "--yes")
    assert r.exit_code == 0, r.stderr
    ws.config_path.write_text("redaction:\n  patterns: ['ZX-[0-9]{4}-QQ']\n")

    cli_json(ws, "cloud", "memory", "push", "default", "--store", store)

    assert "ZX-4471-QQ" not in _sent(fake_anthropic)
    assert data(fake_anthropic).find_memory(store, "/notes/c.md")["content"] == "ticket [REDACTED:custom]\n"


def test_a_path_a_later_pattern_calls_secret_is_never_pushed(
        fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    store, dream_id, entry = _dreamed(fake_anthropic, ws, "/notes/ZX-4471-QQ.md", "fine\n")
    r = cli(ws, "playbooks", "approve", dream_id, "--entry", entry, "--yes")
    assert r.exit_code == 0, r.stderr
    ws.config_path.write_text("redaction:\n  patterns: ['ZX-[0-9]{4}-QQ']\n")

    r = cli(ws, "cloud", "memory", "push", "default", "--store", store)

    assert "ZX-4471-QQ" not in _sent(fake_anthropic) + r.stdout + r.stderr
    assert data(fake_anthropic).find_memory(store, "/notes/ZX-4471-QQ.md") is None


def _two_approved(server: FakeAnthropic, ws: Workspace) -> tuple[str, str, dict[str, str]]:
    """A cloud dream that writes a normal memory and one whose path a later pattern calls secret, both
    approved, then the pattern: (store id, dream id, {path: entry id})."""
    d = data(server)
    store = d.add_store(memories={"/notes/a.md": "a\n"})
    d.add_session(store_ids=[store], status="terminated")
    d.script_dream(writes={"/notes/c.md": "fine\n", "/notes/ZX-4471-QQ.md": "also fine\n"})
    [made] = cli_json(ws, "cloud", "dream", "--store", store)["dreams"]
    proposal = json.loads((ws.dreams_dir / made["dream_id"] / "proposal.json").read_text())
    entries = {o["path"].removeprefix("/memories"): o["entry_id"] for o in proposal["operations"]}
    r = cli(ws, "playbooks", "approve", made["dream_id"], "--all", "--yes")
    assert r.exit_code == 0, r.stderr
    ws.config_path.write_text("redaction:\n  patterns: ['ZX-[0-9]{4}-QQ']\n")
    return store, made["dream_id"], entries


def test_an_entry_left_out_for_its_path_is_named_on_stderr_and_exits_1(
        fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    store, dream_id, entries = _two_approved(fake_anthropic, ws)

    r = cli(ws, "cloud", "memory", "push", "default", "--store", store)

    assert r.exit_code == 1, r.stdout + r.stderr
    assert "ZX-4471-QQ" not in _sent(fake_anthropic) + r.stdout + r.stderr
    assert data(fake_anthropic).find_memory(store, "/notes/c.md")["content"] == "fine\n"
    [line] = [ln for ln in r.stderr.splitlines() if entries["/notes/ZX-4471-QQ.md"] in ln and "warning" in ln]
    assert dream_id in line and "/notes/[REDACTED:custom].md" in line and "looks like a secret" in line
    assert "1 approved entry not pushed" in r.stdout
    assert "not pushed" in r.stderr.splitlines()[-1]


def test_json_lists_the_entries_left_out_with_their_reasons(fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    store, dream_id, entries = _two_approved(fake_anthropic, ws)

    r = cli(ws, "cloud", "memory", "push", "default", "--store", store, "--json")

    assert r.exit_code == 1, r.stdout + r.stderr
    assert "ZX-4471-QQ" not in r.stdout + r.stderr
    got = json.loads(r.stdout)
    assert [c["path"] for c in got["changes"]] == ["/notes/c.md"]
    [skipped] = got["skipped"]
    assert skipped["dream_id"] == dream_id and skipped["entry_id"] == entries["/notes/ZX-4471-QQ.md"]
    assert skipped["source"] == f"dream:{dream_id}:{skipped['entry_id']}"
    assert skipped["path"] == "/notes/[REDACTED:custom].md"
    assert "looks like a secret" in skipped["reason"]


def test_a_dry_run_shows_the_entries_it_would_leave_out(fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    store, _, entries = _two_approved(fake_anthropic, ws)

    r = cli(ws, "cloud", "memory", "push", "default", "--store", store, "--dry-run")

    assert r.exit_code == 1, r.stdout + r.stderr
    assert entries["/notes/ZX-4471-QQ.md"] in r.stderr and "ZX-4471-QQ" not in r.stdout + r.stderr
    assert "would push 1 change" in r.stdout and "1 approved entry not pushed" in r.stdout
    assert cloud_requests(fake_anthropic, "POST", "/v1/memory_stores") == []


def _state(ws: Workspace, store: str) -> dict[str, Any]:
    return json.loads((ws.state_dir / "cloud" / "memory" / f"{store}.json").read_text())


def test_an_entry_left_out_once_is_reported_as_still_skipped_and_no_longer_fails(
        fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    store, dream_id, entries = _two_approved(fake_anthropic, ws)
    first = cli(ws, "cloud", "memory", "push", "default", "--store", store)
    assert first.exit_code == 1, first.stdout + first.stderr
    assert "ZX-4471-QQ" not in json.dumps(_state(ws, store))  # remembered by a hash of its redacted form

    again = cli(ws, "cloud", "memory", "push", "default", "--store", store)

    assert again.exit_code == 0, again.stdout + again.stderr
    assert "warning" not in again.stderr and "ZX-4471-QQ" not in again.stdout + again.stderr
    [line] = again.stderr.splitlines()
    assert "1 approved entry still not pushed" in line and "--json" in line, line
    as_json = cli(ws, "cloud", "memory", "push", "default", "--store", store, "--json")
    assert as_json.exit_code == 0, as_json.stdout + as_json.stderr
    got = json.loads(as_json.stdout)
    assert got["skipped"] == []
    [still] = got["still_skipped"]
    assert still["entry_id"] == entries["/notes/ZX-4471-QQ.md"] and still["dream_id"] == dream_id
    assert still["path"] == "/notes/[REDACTED:custom].md" and "looks like a secret" in still["reason"]


def test_an_entry_left_out_fails_again_once_what_it_would_push_changes(
        fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    store, dream_id, entries = _two_approved(fake_anthropic, ws)
    assert cli(ws, "cloud", "memory", "push", "default", "--store", store).exit_code == 1
    proposal_path = ws.dreams_dir / dream_id / "proposal.json"
    proposal = json.loads(proposal_path.read_text())
    [op] = [o for o in proposal["operations"] if o["entry_id"] == entries["/notes/ZX-4471-QQ.md"]]
    op["text"] = "changed since\n"
    proposal_path.write_text(json.dumps(proposal))

    r = cli(ws, "cloud", "memory", "push", "default", "--store", store, "--json")

    assert r.exit_code == 1, r.stdout + r.stderr
    assert [s["entry_id"] for s in json.loads(r.stdout)["skipped"]] == [entries["/notes/ZX-4471-QQ.md"]]
    assert "warning: not pushed" in r.stderr


def test_a_dry_run_acknowledges_nothing_and_a_pull_forgets_nothing(
        fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    store, _, _ = _two_approved(fake_anthropic, ws)
    assert cli(ws, "cloud", "memory", "push", "default", "--store", store, "--dry-run").exit_code == 1
    assert cli(ws, "cloud", "memory", "push", "default", "--store", store, "--dry-run").exit_code == 1
    assert cli(ws, "cloud", "memory", "push", "default", "--store", store).exit_code == 1
    assert cli(ws, "cloud", "memory", "pull", store).exit_code == 0

    r = cli(ws, "cloud", "memory", "push", "default", "--store", store, "--dry-run")

    assert r.exit_code == 0, r.stdout + r.stderr
    assert "still not pushed" in r.stderr
