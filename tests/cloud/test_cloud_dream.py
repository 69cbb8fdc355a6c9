"""`dreamcli cloud dream`: a Dreams API job over the fake server, its lifecycle, and its result as an
ordinary local proposal that `playbooks diff/approve` handle and `cloud memory push` sends back."""

from __future__ import annotations

import json

import pytest

import dreamcli.cloud.dream_job as dream_job
from dreamcli.testing import FakeAnthropic
from dreamcli.workspace.home import Workspace
from tests.cloud.helpers import audit, cli, cli_json, cloud_requests, data, requires_managed_agents

pytestmark = requires_managed_agents


@pytest.fixture(autouse=True)
def fast_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dream_job, "FIRST_POLL_S", 0.001)


def _store_with_sessions(server: FakeAnthropic, sessions: int = 3) -> tuple[str, list[str]]:
    d = data(server)
    store = d.add_store(memories={"/notes/a.md": "old a\n", "/notes/b.md": "b\n", "/notes/same.md": "same\n"})
    ids = [d.add_session(store_ids=[store], status="terminated") for _ in range(sessions)]
    return store, ids


def test_a_completed_dream_becomes_a_local_proposal_and_only_approved_entries_are_pushed(
        fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    store, ids = _store_with_sessions(fake_anthropic)
    data(fake_anthropic).script_dream(pending_polls=2, running_polls=2,
                                      writes={"/notes/a.md": "new a\n", "/notes/c.md": "c\n", "/notes/b.md": None})

    out = cli_json(ws, "cloud", "dream", "--store", store, "--instructions", "Keep it short")

    create = cloud_requests(fake_anthropic, "POST", "/v1/dreams")[0]
    assert "dreaming-2026-04-21" in create.headers["anthropic-beta"]
    assert create.body["output_behavior"] == {"type": "create_new"}
    assert create.body["instructions"] == "Keep it short"
    sessions_input = next(i for i in create.body["inputs"] if i["type"] == "sessions")
    assert sorted(sessions_input["session_ids"]) == sorted(ids)
    polls = [r for r in cloud_requests(fake_anthropic, "GET", "/v1/dreams/")]
    assert len(polls) == 5  # pending, pending, running, running, completed
    [made] = out["dreams"]
    assert made["counts"] == {"create": 1, "update": 1, "retire": 1}
    proposal = json.loads((ws.dreams_dir / made["dream_id"] / "proposal.json").read_text())
    assert proposal["memory_store"] == store
    by_path = {o["path"]: o for o in proposal["operations"]}
    edited = by_path["/memories/notes/a.md"]
    assert edited["op"] == "update" and edited["old_text"] == "old a\n" and edited["text"] == "new a\n"
    assert by_path["/memories/notes/b.md"]["op"] == "retire"
    assert made["cloud_dream_id"] in by_path["/memories/notes/c.md"]["evidence"][0]["excerpt"]
    info = json.loads((ws.dreams_dir / made["dream_id"] / "dream.json").read_text())
    assert info["cloud"]["input_store"] == store and info["status"] == "pending"

    diff = cli(ws, "playbooks", "diff", made["dream_id"])
    assert diff.exit_code == 0 and "/memories/notes/c.md" in diff.stdout
    entry = by_path["/memories/notes/c.md"]["entry_id"]
    approved = cli(ws, "playbooks", "approve", made["dream_id"], "--entry", entry, "--yes")
    assert approved.exit_code == 0, approved.stderr
    assert (ws.memories_root(store) / "notes" / "c.md").read_text() == "c\n"

    pushed = cli_json(ws, "cloud", "memory", "push", "default", "--store", store)
    assert [(c["op"], c["path"]) for c in pushed["changes"]] == [("create", "/notes/c.md")]
    cloud = data(fake_anthropic)
    assert cloud.find_memory(store, "/notes/c.md")["content"] == "c\n"
    assert cloud.find_memory(store, "/notes/a.md")["content"] == "old a\n"  # pending: never pushed
    assert cloud.find_memory(store, "/notes/b.md") is not None
    assert [a for a in audit(ws) if a["action"] == "cloud-push"][-1]["changes"][0]["source"].startswith("dream:")
    assert cli_json(ws, "cloud", "memory", "push", "default", "--store", store)["changes"] == []


def test_explicit_sessions_and_more_than_100_are_split_across_dreams(
        fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    store, ids = _store_with_sessions(fake_anthropic, 150)
    data(fake_anthropic).max_page = 40

    result = cli(ws, "cloud", "dream", "--store", store, "--limit", "150")

    assert result.exit_code == 0, result.stderr
    assert "150 sessions split across 2 cloud dreams" in result.stderr
    assert ": pending," in result.stderr and ": completed," in result.stderr  # one line per status change
    assert result.stderr.count(": running,") == 2
    sizes = [len(next(i for i in r.body["inputs"] if i["type"] == "sessions")["session_ids"])
             for r in cloud_requests(fake_anthropic, "POST", "/v1/dreams")]
    assert sizes == [100, 50]
    assert len([d for d in ws.dreams_dir.iterdir() if not d.name.startswith(".")]) == 2

    out = cli_json(ws, "cloud", "dream", "--store", store, "--sessions", f"{ids[0]},{ids[1]}", "--sessions", ids[2])
    last = cloud_requests(fake_anthropic, "POST", "/v1/dreams")[-1]
    assert next(i for i in last.body["inputs"] if i["type"] == "sessions")["session_ids"] == ids[:3]
    assert out["dreams"][0]["operations"] == 0  # the output store equals the input store


def test_a_failed_dream_is_one_line_exit_3(fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    store, _ = _store_with_sessions(fake_anthropic)
    data(fake_anthropic).script_dream(final="failed")
    result = cli(ws, "cloud", "dream", "--store", store)
    assert result.exit_code == 3
    assert result.stderr.strip().splitlines()[-1].startswith("error: cloud dream drm_")
    assert "failed: timeout" in result.stderr
    assert not [d for d in ws.dreams_dir.iterdir() if not d.name.startswith(".")]


def test_ctrl_c_cancels_the_cloud_dream_and_says_so(fake_anthropic: FakeAnthropic, ws: Workspace,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    store, _ = _store_with_sessions(fake_anthropic)

    def interrupt(_seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(dream_job, "_pause", interrupt)
    result = cli(ws, "cloud", "dream", "--store", store)
    assert result.exit_code == 130
    assert "cancelled cloud dream drm_" in result.stderr and "dreams.cancel" in result.stderr
    [cancel] = [r for r in cloud_requests(fake_anthropic, "POST", "/v1/dreams/") if r.path.endswith("/cancel")]
    dream_id = cancel.path.split("/")[3]
    assert data(fake_anthropic).dreams[dream_id].body["status"] == "canceled"


def test_ctrl_c_again_during_the_cancel_says_the_dream_may_still_run(fake_anthropic: FakeAnthropic, ws: Workspace,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A second Ctrl-C while the cancel request is in flight stops it, and the line says what that leaves."""
    store, _ = _store_with_sessions(fake_anthropic)

    def interrupt(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(dream_job, "_pause", interrupt)
    monkeypatch.setattr(dream_job.sdk_beta, "cancel_dream", interrupt)
    result = cli(ws, "cloud", "dream", "--store", store)
    assert result.exit_code == 130
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("error: interrupted; cancelling cloud dream drm_")
    [dream_id] = data(fake_anthropic).dreams
    assert line.endswith("was interrupted: it may still be running; check it in the console; "
                         f"cloud dream {dream_id} is recorded as unfinished in `dreamcli --home {ws.root} cloud dream "
                         "list`"), line


def test_unknown_store_is_exit_2_before_any_dream(fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    result = cli(ws, "cloud", "dream", "--store", "memstore_01nope")
    assert result.exit_code == 2 and "no memory store" in result.stderr
    assert not cloud_requests(fake_anthropic, "POST", "/v1/dreams")
