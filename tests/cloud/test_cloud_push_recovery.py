"""`cloud memory push` and `pull` keeping the cloud, the state, the mirror and the audit in step: an
emptied playbook empties its prefix, a push killed with -9 after its writes is completed and audited by
the next one, and a memory a push deleted leaves the mirror (and a pull removes any mirror file whose
memory is gone). Against the fake Managed Agents endpoints, through the real SDK."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import dreamcli.cloud.dream_job as dream_job
from dreamcli.testing import FakeAnthropic
from dreamcli.workspace.home import Workspace
from tests.cloud.helpers import audit, cli, cli_json, data, requires_managed_agents
from tests.support.playbooks import write_playbook

pytestmark = [requires_managed_agents, pytest.mark.timeout(90)]


@pytest.fixture(autouse=True)
def fast_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dream_job, "FIRST_POLL_S", 0.001)


def _state(ws: Workspace, store: str) -> dict[str, Any]:
    return json.loads((ws.state_dir / "cloud" / "memory" / f"{store}.json").read_text())


def _paths(server: FakeAnthropic, store: str) -> list[str]:
    return sorted(m["path"] for m in data(server).memories[store].values())


def _pushes(ws: Workspace) -> list[dict[str, Any]]:
    return [a for a in audit(ws) if a["action"] == "cloud-push"]


def _approved_dream(server: FakeAnthropic, ws: Workspace, memories: dict[str, str],
                    writes: dict[str, str | None]) -> str:
    d = data(server)
    store = d.add_store(memories=memories)
    d.add_session(store_ids=[store], status="terminated")
    d.script_dream(writes=writes)
    made = cli_json(ws, "cloud", "dream", "--store", store)["dreams"][0]
    assert cli(ws, "playbooks", "approve", made["dream_id"], "--all", "--yes").exit_code == 0
    return store


# -- an emptied playbook ---------------------------------------------------------------------------

def test_pushing_an_emptied_playbook_deletes_its_section_files(fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    store = data(fake_anthropic).add_store(memories={"/notes/keep.md": "not a playbook's\n"})
    write_playbook(ws, "legal", [("pb-aaaaaaaa", "Tools", "Convert .docx with pandoc first."),
                                 ("pb-bbbbbbbb", "Style", "Cite the clause number.")])
    cli_json(ws, "cloud", "memory", "pull", store)
    cli_json(ws, "cloud", "memory", "push", "legal", "--store", store)
    cli_json(ws, "cloud", "memory", "pull", store)  # a pull keeps what the state says was pushed
    write_playbook(ws, "legal", [], version=2)  # every entry revoked

    out = cli_json(ws, "cloud", "memory", "push", "legal", "--store", store)

    assert sorted((c["op"], c["path"]) for c in out["changes"]) == [
        ("delete", "/playbooks/legal/style.md"), ("delete", "/playbooks/legal/tools.md")]
    assert _paths(fake_anthropic, store) == ["/notes/keep.md"]
    assert not (ws.memories_root(store) / "playbooks" / "legal" / "tools.md").exists()

    # a state written before dreamcli recorded the playbooks it pushed: the audit says so instead
    write_playbook(ws, "legal", [("pb-aaaaaaaa", "Tools", "Convert .docx with pandoc first.")], version=3)
    cli_json(ws, "cloud", "memory", "push", "legal", "--store", store)
    state_file = ws.state_dir / "cloud" / "memory" / f"{store}.json"
    state_file.write_text(json.dumps({k: v for k, v in _state(ws, store).items() if k != "playbooks"}))
    write_playbook(ws, "legal", [], version=4)
    out = cli_json(ws, "cloud", "memory", "push", "legal", "--store", store)
    assert [(c["op"], c["path"]) for c in out["changes"]] == [("delete", "/playbooks/legal/tools.md")]


def test_an_empty_playbook_never_pushed_here_leaves_the_prefix_alone(fake_anthropic: FakeAnthropic,
                                                                    ws: Workspace) -> None:
    store = data(fake_anthropic).add_store(memories={"/playbooks/legal/tools.md": "pushed by a teammate\n"})
    write_playbook(ws, "legal", [])
    cli_json(ws, "cloud", "memory", "pull", store)

    out = cli_json(ws, "cloud", "memory", "push", "legal", "--store", store)

    assert out["changes"] == [] and _paths(fake_anthropic, store) == ["/playbooks/legal/tools.md"]


# -- a push killed with -9 ---------------------------------------------------------------------------

def test_a_push_killed_after_its_writes_is_completed_and_audited_by_the_next(
        fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    store = _approved_dream(fake_anthropic, ws, {"/notes/a.md": "alpha\n", "/notes/b.md": "b\n"},
                            {"/notes/a.md": "alpha v2\n", "/notes/b.md": None, "/notes/c.md": "c\n"})
    writes: list[str] = []
    proc: list[subprocess.Popen[bytes]] = []
    original = fake_anthropic.managed.handle

    def handle(handler: Any, rec: Any) -> None:  # the third write: the pusher is killed as it sends it
        if rec.method in ("POST", "DELETE") and "/memories" in rec.path:  # a create, update or delete
            writes.append(rec.path)
            if len(writes) == 3:
                os.kill(proc[0].pid, signal.SIGKILL)
                proc[0].wait(30)
                return handler.send_json(500, {"type": "error", "error": {"type": "api_error", "message": "gone"}})
        return original(handler, rec)

    fake_anthropic.managed.handle = handle  # type: ignore[method-assign]
    env = {**os.environ, "DREAMCLI_ACTOR": "tester", "NO_COLOR": "1"}
    proc.append(subprocess.Popen([sys.executable, "-m", "dreamcli", "--home", str(ws.root), "cloud", "memory",
                                  "push", "default", "--store", store], env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL))
    assert proc[0].wait(60) == -signal.SIGKILL
    fake_anthropic.managed.handle = original  # type: ignore[method-assign]
    assert _paths(fake_anthropic, store) == ["/notes/a.md"]  # the update and the delete reached the cloud
    assert not _pushes(ws)  # ... and the killed push recorded nothing

    out = cli_json(ws, "cloud", "memory", "push", "default", "--store", store)

    assert [(c["op"], c["path"]) for c in out["changes"]] == [("create", "/notes/c.md")]
    [record] = _pushes(ws)
    assert sorted((c["op"], c["path"], c["status"]) for c in record["changes"]) == [
        ("create", "/notes/c.md", "done"), ("delete", "/notes/b.md", "already_applied"),
        ("update", "/notes/a.md", "already_applied")]
    assert sorted((c["op"], c["path"], c["status"]) for c in out["recovered"]) == [
        ("delete", "/notes/b.md", "already_applied"), ("update", "/notes/a.md", "already_applied")]
    cloud = {m["path"]: m["content_sha256"] for m in data(fake_anthropic).memories[store].values()}
    assert {p: k["sha256"] for p, k in _state(ws, store)["memories"].items()} == cloud
    assert not (ws.memories_root(store) / "notes" / "b.md").exists()
    assert cli_json(ws, "cloud", "memory", "push", "default", "--store", store)["recovered"] == []
    assert len(_pushes(ws)) == 2 and _pushes(ws)[-1]["changes"] == []  # nothing more to record: who pushed, when


# -- the mirror after a delete -----------------------------------------------------------------------

def test_a_memory_a_push_deletes_leaves_the_mirror_even_if_a_pull_ran_before_the_push(
        fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    store = _approved_dream(fake_anthropic, ws, {"/notes/a.md": "alpha\n", "/notes/old.md": "obsolete\n"},
                            {"/notes/old.md": None})
    mirror = ws.memories_root(store) / "notes"
    assert not (mirror / "old.md").exists()  # the approve removed it
    cli_json(ws, "cloud", "memory", "pull", store)  # the nightly pull, between approve and push
    assert (mirror / "old.md").exists()

    out = cli_json(ws, "cloud", "memory", "push", "default", "--store", store)

    assert [(c["op"], c["path"]) for c in out["changes"]] == [("delete", "/notes/old.md")]
    assert sorted(p.name for p in mirror.iterdir()) == ["a.md"]
    assert cli_json(ws, "cloud", "memory", "pull", store)["removed"] == []


def test_a_pull_removes_mirror_files_whose_memory_is_gone_and_never_follows_a_link(
        fake_anthropic: FakeAnthropic, ws: Workspace, tmp_path: Path) -> None:
    store = data(fake_anthropic).add_store(memories={"/notes/a.md": "alpha\n"})
    cli_json(ws, "cloud", "memory", "pull", store)
    root = ws.memories_root(store)
    (root / "notes" / "old.md").write_text("left by an older dreamcli\n")  # the state no longer knows it
    (root / "gone" / "deep").mkdir(parents=True)
    (root / "gone" / "deep" / "x.md").write_text("x\n")
    outside = tmp_path / "outside"
    (outside / "dir").mkdir(parents=True)
    (outside / "file.md").write_text("not the mirror's\n")
    (outside / "dir" / "inner.md").write_text("not the mirror's either\n")
    (root / "link.md").symlink_to(outside / "file.md")
    (root / "linked-dir").symlink_to(outside / "dir")

    out = cli_json(ws, "cloud", "memory", "pull", store)

    assert out["removed"] == ["/gone/deep/x.md", "/link.md", "/notes/old.md"]
    assert not (root / "gone").exists()  # the folders it emptied went too
    assert not (root / "link.md").is_symlink() and (outside / "file.md").read_text() == "not the mirror's\n"
    assert (root / "linked-dir").is_symlink() and (outside / "dir" / "inner.md").exists()
    assert (root / "notes" / "a.md").read_text() == "alpha\n"
