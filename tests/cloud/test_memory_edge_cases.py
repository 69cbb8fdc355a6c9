"""`cloud memory pull/push` at the edges the file systems and UTF-8 set: paths that differ only in case
(one file on macOS and Windows), content with a lone surrogate (a JSON string may carry one, UTF-8
cannot), and the state's `pushed` list surviving a pull. Against the fake Managed Agents endpoints,
through the real SDK."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import dreamcli.cloud.dream_job as dream_job
from dreamcli.testing import FakeAnthropic
from dreamcli.workspace.home import Workspace
from tests.cloud.helpers import audit, cli, cli_json, cloud_requests, data, requires_managed_agents
from tests.support.playbooks import write_playbook

pytestmark = [requires_managed_agents, pytest.mark.timeout(60)]


@pytest.fixture(autouse=True)
def fast_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dream_job, "FIRST_POLL_S", 0.001)


def _state_file(ws: Workspace, store: str) -> Path:
    return ws.state_dir / "cloud" / "memory" / f"{store}.json"


def _snapshot(ws: Workspace, store: str) -> dict[str, bytes]:
    """Every file of the mirror and the store's state file, byte for byte."""
    root = ws.memories_root(store)
    files = {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()} if root.exists() else {}
    state = _state_file(ws, store)
    return {**files, "<state>": state.read_bytes() if state.exists() else b""}


def _sent(server: FakeAnthropic, store: str) -> list[Any]:
    """The writes that reached the store: creates, updates, deletes."""
    return (cloud_requests(server, "POST", f"/v1/memory_stores/{store}/memories")
            + cloud_requests(server, "DELETE", f"/v1/memory_stores/{store}/memories"))


def _one_line(result: Any, code: int, *named: str) -> None:
    assert result.exit_code == code, result.stderr + repr(result.exception)
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    assert all(n in result.stderr for n in named), result.stderr


# -- paths that differ only in case ----------------------------------------------------------------

@pytest.mark.parametrize(("paths", "named"), [
    (["/notes/A.md", "/notes/a.md"], ["'/notes/A.md'", "'/notes/a.md'"]),
    (["/Notes/todo.md", "/notes/TODO.md"], ["'/Notes/todo.md'", "'/notes/TODO.md'"]),
    (["/caf\u00e9.md", "/cafe\u0301.md"], ["'/caf\\xe9.md'", "'/cafe\\u0301.md'"]),  # é composed or not: escaped
    (["/Keys", "/keys/aws.md"], ["'/Keys'", "'/keys/aws.md'"]),  # a file another memory needs as a directory
])
def test_a_pull_refuses_memories_that_differ_only_in_case_naming_both(
        fake_anthropic: FakeAnthropic, ws: Workspace, paths: list[str], named: list[str]) -> None:
    d = data(fake_anthropic)
    store = d.add_store(memories={"/ok.md": "fine\n"})
    cli_json(ws, "cloud", "memory", "pull", store)
    before = _snapshot(ws, store)
    for n, path in enumerate(paths):
        d.write_memory(store, path, f"twin {n}\n")
    d.write_memory(store, "/ok.md", "changed in the cloud\n")

    result = cli(ws, "cloud", "memory", "pull", store)

    _one_line(result, 2, *named)
    assert "case" in result.stderr or "directory" in result.stderr
    assert _snapshot(ws, store) == before  # neither written over the other, nothing else either


def test_a_push_that_would_create_a_case_twin_is_refused_before_anything_is_sent(
        fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    d = data(fake_anthropic)
    store = d.add_store(memories={"/playbooks/Legal/tools.md": "pushed from playbook Legal\n"})
    write_playbook(ws, "legal", [("pb-aaaaaaaa", "Style", "Cite the clause number."),
                                 ("pb-bbbbbbbb", "Tools", "Convert .docx with pandoc first.")])
    cli_json(ws, "cloud", "memory", "pull", store)

    for extra in ([], ["--dry-run"]):
        result = cli(ws, "cloud", "memory", "push", "legal", "--store", store, *extra)
        _one_line(result, 2, "'/playbooks/legal/tools.md'", "'/playbooks/Legal/tools.md'", "case", "nothing pushed")

    assert _sent(fake_anthropic, store) == []  # not even the section without a twin
    assert not [a for a in audit(ws) if a["action"] == "cloud-push"]
    assert d.find_memory(store, "/playbooks/legal/style.md") is None


def _approved_cloud_dream(server: FakeAnthropic, ws: Workspace, memories: dict[str, str],
                          writes: dict[str, str | None]) -> tuple[str, str]:
    """A store, a cloud dream over it that makes `writes`, and every entry of its proposal approved."""
    d = data(server)
    store = d.add_store(memories=memories)
    d.add_session(store_ids=[store], status="terminated")
    d.script_dream(writes=writes)
    dream_id = cli_json(ws, "cloud", "dream", "--store", store)["dreams"][0]["dream_id"]
    for entry in json.loads((ws.dreams_dir / dream_id / "proposal.json").read_text())["operations"]:
        approved = cli(ws, "playbooks", "approve", dream_id, "--entry", entry["entry_id"], "--yes")
        assert approved.exit_code == 0, approved.stderr
    return store, dream_id


def test_a_rename_by_case_deletes_first_and_never_leaves_both(fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    store, _ = _approved_cloud_dream(fake_anthropic, ws, {"/notes/todo.md": "todo\n"},
                                     {"/notes/todo.md": None, "/notes/TODO.md": "TODO\n"})
    d = data(fake_anthropic)
    d.write_memory(store, "/notes/todo.md", "edited in the cloud\n")  # the delete will be a 409

    result = cli(ws, "cloud", "memory", "push", "default", "--store", store, "--json")

    assert result.exit_code == 1, result.stderr
    out = json.loads(result.stdout)
    assert [(c["op"], c["path"], c["status"]) for c in out["changes"]] == [
        ("delete", "/notes/todo.md", "conflict"), ("create", "/notes/TODO.md", "conflict")]
    assert "differs only in case" in out["conflicts"][1]["reason"]
    assert d.find_memory(store, "/notes/TODO.md") is None  # never both in the store
    assert d.find_memory(store, "/notes/todo.md")["content"] == "edited in the cloud\n"

    cli_json(ws, "cloud", "memory", "pull", store)  # pull, review, push again: now the rename goes through
    again = cli_json(ws, "cloud", "memory", "push", "default", "--store", store)
    assert [(c["op"], c["path"], c["status"]) for c in again["changes"]] == [
        ("delete", "/notes/todo.md", "done"), ("create", "/notes/TODO.md", "done")]
    assert d.find_memory(store, "/notes/todo.md") is None
    assert d.find_memory(store, "/notes/TODO.md")["content"] == "TODO\n"


# -- lone surrogates ----------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["/a-first.md", "/z-last.md"])
def test_a_pull_refuses_content_with_a_lone_surrogate_and_writes_nothing(
        fake_anthropic: FakeAnthropic, ws: Workspace, bad: str) -> None:
    d = data(fake_anthropic)
    store = d.add_store(memories={"/m.md": "m\n", bad: "fine so far\n"})
    cli_json(ws, "cloud", "memory", "pull", store)
    before = _snapshot(ws, store)
    d.write_memory(store, "/m.md", "m, changed in the cloud\n")
    odd = d.find_memory(store, bad)
    odd["content"] = "half a pair: \ud800\n"  # what `"\ud800"` in the API's JSON decodes to

    result = cli(ws, "cloud", "memory", "pull", store)

    _one_line(result, 2, odd["id"], bad, "lone surrogate", "'\\ud800'", "nothing pulled")
    assert _snapshot(ws, store) == before  # no half-pulled mirror, the state as it was


def test_a_cloud_dream_whose_output_has_a_lone_surrogate_is_one_line(
        fake_anthropic: FakeAnthropic, ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    d = data(fake_anthropic)
    store = d.add_store(memories={"/notes/a.md": "a\n"})
    d.add_session(store_ids=[store], status="terminated")
    d.script_dream(writes={"/notes/c.md": "c\n"})
    original = d.memory_json

    def bent(mem: dict[str, Any], *, full: bool) -> dict[str, Any]:
        out = original(mem, full=full)
        return {**out, "content": "c \udfff\n"} if full and out["path"] == "/notes/c.md" else out

    monkeypatch.setattr(d, "memory_json", bent)

    result = cli(ws, "cloud", "dream", "--store", store)

    assert result.exit_code == 2, result.stderr + repr(result.exception)
    last = result.stderr.strip().splitlines()[-1]
    assert "lone surrogate" in last and "/notes/c.md" in last, result.stderr
    assert last.startswith("error: output store ") and "no proposal written" in last, last
    [record] = [p for p in ws.dreams_dir.iterdir() if not p.name.startswith(".")]  # the billed dream, no entries
    assert json.loads((record / "proposal.json").read_text())["operations"] == []
    assert "lone surrogate" in json.loads((record / "dream.json").read_text())["cloud"]["refused"]


def test_a_push_refuses_content_utf8_cannot_encode_before_anything_is_sent(
        fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    store, dream_id = _approved_cloud_dream(fake_anthropic, ws, {"/notes/a.md": "a\n", "/notes/b.md": "b\n"},
                                            {"/notes/b.md": None, "/notes/c.md": "c\n"})
    proposal = ws.dreams_dir / dream_id / "proposal.json"
    body = json.loads(proposal.read_text())
    for entry in body["operations"]:
        if entry["path"] == "/memories/notes/c.md":
            entry["text"] = "c \ud800\n"
    proposal.write_text(json.dumps(body))  # JSON escapes it: `"c \ud800\n"`, read back as a lone surrogate
    state_before = _state_file(ws, store).read_bytes()

    result = cli(ws, "cloud", "memory", "push", "default", "--store", store)

    # refused where the proposal is read: its file and field named, before any push is planned
    _one_line(result, 2, f"dreams/{dream_id}/proposal.json", ".text: holds a lone surrogate", "not UTF-8 text")
    assert _sent(fake_anthropic, store) == []  # not even the delete of /notes/b.md
    assert _state_file(ws, store).read_bytes() == state_before
    assert not [a for a in audit(ws) if a["action"] == "cloud-push"]

    # a playbook file that is not UTF-8 at all: one line naming the file and line, nothing sent either
    write_playbook(ws, "legal", [("pb-aaaaaaaa", "Tools", "Convert .docx with pandoc first.")])
    live = ws.playbooks_dir / "legal.md"
    live.write_bytes(live.read_bytes().replace(b"pandoc", b"pan\xed\xa0\x80doc"))
    result = cli(ws, "cloud", "memory", "push", "legal", "--store", store)
    _one_line(result, 2, "legal.md:", "not UTF-8")
    assert _sent(fake_anthropic, store) == []


# -- `pushed` survives a pull --------------------------------------------------------------------------

def test_a_pull_keeps_what_earlier_pushes_sent_so_it_is_never_sent_again(
        fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    store, dream_id = _approved_cloud_dream(fake_anthropic, ws, {"/notes/a.md": "a\n", "/notes/b.md": "b\n"},
                                            {"/notes/b.md": None, "/notes/c.md": "c\n"})
    first = cli_json(ws, "cloud", "memory", "push", "default", "--store", store)
    assert sorted((c["op"], c["path"]) for c in first["changes"]) == [("create", "/notes/c.md"),
                                                                        ("delete", "/notes/b.md")]
    pushed = json.loads(_state_file(ws, store).read_text())["pushed"]
    assert len(pushed) == 2 and all(p.startswith(f"{dream_id}:") for p in pushed)

    cli_json(ws, "cloud", "memory", "pull", store)
    assert json.loads(_state_file(ws, store).read_text())["pushed"] == pushed
    d = data(fake_anthropic)  # the cloud moves on after the push: an agent edits c, brings b back
    d.write_memory(store, "/notes/c.md", "c, edited by an agent\n")
    d.write_memory(store, "/notes/b.md", "b is back\n")
    cli_json(ws, "cloud", "memory", "pull", store)

    again = cli_json(ws, "cloud", "memory", "push", "default", "--store", store)

    assert again["changes"] == []  # the old entries are not re-applied over the newer cloud content
    assert d.find_memory(store, "/notes/c.md")["content"] == "c, edited by an agent\n"
    assert d.find_memory(store, "/notes/b.md")["content"] == "b is back\n"
    assert json.loads(_state_file(ws, store).read_text())["pushed"] == pushed
