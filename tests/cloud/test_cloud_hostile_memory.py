"""`cloud memory pull` and `cloud dream` against a Managed Agents API that answers odd listings and
wrong-typed fields: one line and its exit code, nothing half-written. The fake server is bent per test
(monkeypatch); nothing here talks to a real endpoint."""

from __future__ import annotations

from typing import Any

import pytest

import dreamcli.cloud.dream_job as dream_job
from dreamcli.testing import FakeAnthropic
from dreamcli.workspace.home import Workspace
from tests.cloud.helpers import cli, cli_json, cloud_requests, data, requires_managed_agents

pytestmark = [requires_managed_agents, pytest.mark.timeout(60)]


@pytest.fixture(autouse=True)
def fast_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dream_job, "FIRST_POLL_S", 0.001)


def _nothing_written(ws: Workspace, store: str) -> None:
    root = ws.memories_root(store)
    assert not root.exists() or not [p for p in root.rglob("*") if p.is_file()]
    assert not (ws.state_dir / "cloud" / "memory" / f"{store}.json").exists()


@pytest.mark.parametrize(("paths", "named"), [
    (["/ok.md", "/" + "x" * 300 + ".md"], "xxxxxxxx"),  # a name longer than a file system allows
    (["/ok.md", "/a", "/a/b.md"], "/a"),  # a file that is also a directory
    (["/ok.md", "/a.md", "/a.md/"], "/a.md"),  # the same file after normalisation
    (["/ok.md", "/a\x00b.md"], "\\x00"),
    (["/ok.md", "/"], "'/'"),
])
def test_a_listing_the_mirror_cannot_hold_is_refused_whole_exit_2(
        fake_anthropic: FakeAnthropic, ws: Workspace, paths: list[str], named: str) -> None:
    d = data(fake_anthropic)
    store = d.add_store(memories={})
    for n, path in enumerate(paths):
        d.write_memory(store, f"/placeholder-{n}", f"content {n}\n")["path"] = path

    result = cli(ws, "cloud", "memory", "pull", store)

    assert result.exit_code == 2, result.stderr + repr(result.exception)
    assert result.stderr.count("\n") == 1 and named in result.stderr, result.stderr
    _nothing_written(ws, store)


def test_a_memory_without_path_or_hash_is_refused_never_stored_as_none(
        fake_anthropic: FakeAnthropic, ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    d = data(fake_anthropic)
    store = d.add_store(memories={"/ok.md": "fine\n", "/odd.md": "odd\n"})
    odd = d.find_memory(store, "/odd.md")["id"]
    original = d.memory_json

    def broken(mem: dict[str, Any], *, full: bool) -> dict[str, Any]:
        out = original(mem, full=full)
        if out["id"] == odd:
            out = {k: v for k, v in out.items() if k not in ("path", "content_sha256")}
        return out

    monkeypatch.setattr(d, "memory_json", broken)

    result = cli(ws, "cloud", "memory", "pull", store)

    assert result.exit_code == 2, result.stderr + repr(result.exception)
    assert result.stderr.count("\n") == 1 and odd in result.stderr
    _nothing_written(ws, store)
    assert not (ws.memories_root(store) / "None").exists()


def test_two_memories_at_one_path_are_refused(fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    d = data(fake_anthropic)
    store = d.add_store(memories={"/a.md": "one\n"})
    d.write_memory(store, "/b.md", "two\n")["path"] = "/a.md"
    result = cli(ws, "cloud", "memory", "pull", store)
    assert result.exit_code == 2 and "/a.md" in result.stderr and result.stderr.count("\n") == 1
    _nothing_written(ws, store)


def test_a_memory_listing_that_repeats_its_cursor_is_one_line_exit_3(
        fake_anthropic: FakeAnthropic, ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    store = data(fake_anthropic).add_store(memories={"/a.md": "a\n"})
    routes = fake_anthropic.managed
    original = routes._page

    def page(rows: list[dict[str, Any]], q: dict[str, str], **kwargs: Any) -> Any:
        status, payload = original(rows, {**q, "page": ""}, **kwargs)
        if len(cloud_requests(fake_anthropic, "GET", f"/v1/memory_stores/{store}/memories")) > 60:
            return status, payload
        return status, {**payload, "next_page": "cur_1"}

    monkeypatch.setattr(routes, "_page", page)
    result = cli(ws, "cloud", "memory", "pull", store)
    assert result.exit_code == 3 and result.stderr.count("\n") == 1, result.stderr
    _nothing_written(ws, store)


def _store_with_sessions(server: FakeAnthropic) -> str:
    d = data(server)
    store = d.add_store(memories={"/notes/a.md": "a\n"})
    d.add_session(store_ids=[store], status="terminated")
    return store


def _bend_dream(server: FakeAnthropic, monkeypatch: pytest.MonkeyPatch, **fields: Any) -> None:
    """Once the dream is final, its answer carries `fields` as given (wrong types included)."""
    d = data(server)
    original = d.advance

    def advance(dream: Any) -> None:
        original(dream)
        if dream.body["status"] in ("completed", "failed"):
            dream.body.update(fields)

    monkeypatch.setattr(d, "advance", advance)


@pytest.mark.parametrize(("final", "fields", "named"), [
    ("failed", {"error": "boom"}, "error"),
    ("failed", {"error": {"type": ["x"], "message": {"a": 1}}}, "error"),
    ("completed", {"model": "claude-x"}, "model"),
    ("completed", {"outputs": None}, "outputs"),
    ("completed", {"outputs": [{"type": "memory_store", "memory_store_id": "../../memory_stores/x"}]},
     "memory_stores/x"),
    ("completed", {"usage": "lots"}, "usage"),
])
def test_a_dream_answer_with_wrong_types_is_one_line_exit_3(
        fake_anthropic: FakeAnthropic, ws: Workspace, monkeypatch: pytest.MonkeyPatch,
        final: str, fields: dict[str, Any], named: str) -> None:
    store = _store_with_sessions(fake_anthropic)
    data(fake_anthropic).script_dream(final=final)
    _bend_dream(fake_anthropic, monkeypatch, **fields)

    result = cli(ws, "cloud", "dream", "--store", store)

    assert result.exit_code == 3, result.stderr + repr(result.exception)
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: cloud dream drm_") and named in last, result.stderr
    assert not [p for p in ws.dreams_dir.iterdir() if not p.name.startswith(".")]


def test_a_well_formed_dream_still_becomes_a_proposal(fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    store = _store_with_sessions(fake_anthropic)
    data(fake_anthropic).script_dream(writes={"/notes/b.md": "b\n"})
    out = cli_json(ws, "cloud", "dream", "--store", store)
    assert out["dreams"][0]["counts"]["create"] == 1
