"""Racing approvals, approvals while a dream runs, and writers that ignore the lock: nothing is lost."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import dreamcli.playbooks.approval as approval_mod
from dreamcli.errors import LockHeld
from dreamcli.playbooks import load_playbook
from dreamcli.playbooks.approval import approve
from dreamcli.playbooks.store import ConcurrentChange, commit_playbook, history_versions, playbook_path, read_live
from dreamcli.workspace.home import Workspace
from dreamcli.workspace.lock import workspace_lock
from tests.support.playbooks import audit, cli, op, write_dream, write_playbook

ENTRIES = [("pb-aaaaaa01", "Tools", "Use pandoc for docx.")]


@pytest.fixture
def racing_dreams(ws: Workspace) -> None:
    """The legal playbook at version 3 and two dreams against it: DREAMA adds five entries, DREAMB five
    more and counts one of DREAMA's."""
    write_playbook(ws, "legal", ENTRIES, version=3)
    write_dream(ws, "DREAMA", "legal", [op(f"pb-aaaa{i:04d}", text=f"Lesson A{i}.") for i in range(5)], base_version=3)
    write_dream(ws, "DREAMB", "legal", [op(f"pb-bbbb{i:04d}", text=f"Lesson B{i}.") for i in range(5)]
                + [op("pb-aaaaaa01", "counts", text=None, metadata={"helpful": 4})], base_version=3)


def _dreamcli() -> str:
    return shutil.which("dreamcli") or str(Path(sys.executable).parent / "dreamcli")


@pytest.mark.slow
def test_two_processes_racing_lose_nothing(ws, racing_dreams) -> None:
    env = {**os.environ, "NO_COLOR": "1"}
    procs = []
    # hold the lock so both commands are started and waiting before either can proceed
    with workspace_lock(ws, "playbooks"):
        for dream, actor in (("DREAMA", "alice"), ("DREAMB", "bob")):
            procs.append(subprocess.Popen(
                [_dreamcli(), "--home", str(ws.root), "playbooks", "approve", dream, "--all", "--yes",
                 "--actor", actor, "--wait", "60"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, stdin=subprocess.DEVNULL))
        time.sleep(1.0)
        assert all(p.poll() is None for p in procs)  # both are queued on the lock
    for p in procs:
        _, stderr = p.communicate(timeout=60)
        assert p.returncode == 0, stderr
    pb = load_playbook(ws, "legal")
    ids = {e.id for e in pb.entries()}
    assert {f"pb-aaaa{i:04d}" for i in range(5)} | {f"pb-bbbb{i:04d}" for i in range(5)} <= ids
    assert pb.find("pb-aaaaaa01").helpful == 4
    assert pb.version == 5 and history_versions(ws, "legal") == [3, 4, 5]
    recs = audit(ws)
    assert sorted(r["actor"] for r in recs) == ["alice", "bob"]
    assert sorted((r["version_before"], r["version_after"]) for r in recs) == [(3, 4), (4, 5)]


def test_threads_racing_lose_nothing(ws, racing_dreams) -> None:
    errors: list[BaseException] = []

    def run(dream: str) -> None:
        try:
            approve(ws, dream, all_=True, actor=dream, wait=30)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(d,)) for d in ("DREAMA", "DREAMB")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert len(load_playbook(ws, "legal").entries()) == 11


def test_without_wait_a_held_lock_exits_75_and_changes_nothing(ws, racing_dreams) -> None:
    before = playbook_path(ws, "legal").read_bytes()
    with workspace_lock(ws, "playbooks"):
        r = cli(ws, "playbooks", "approve", "DREAMA", "--all", "--yes")
        assert r.exit_code == 75 and "--wait" in r.stderr
        with pytest.raises(LockHeld):
            approve(ws, "DREAMB", all_=True)
    assert playbook_path(ws, "legal").read_bytes() == before
    assert not audit(ws)


def test_approval_while_a_dream_holds_its_lock(ws, racing_dreams) -> None:
    with workspace_lock(ws, "dream"):
        r = cli(ws, "playbooks", "approve", "DREAMA", "--all", "--yes")
        assert r.exit_code == 0, r.output
        # the dream finishes meanwhile and writes a proposal made against the old version
        write_dream(ws, "DREAMC", "legal", [
            op("pb-cccc0001", text="Lesson C."),
            op("pb-aaaaaa01", "update", text="Use pandoc -t plain.", old_text="Use pandoc for docx."),
        ], base_version=3)
    r = cli(ws, "playbooks", "approve", "DREAMC", "--all", "--yes")
    assert r.exit_code == 0, r.output
    pb = load_playbook(ws, "legal")
    assert pb.find("pb-aaaa0000") is not None and pb.find("pb-cccc0001") is not None
    assert pb.find("pb-aaaaaa01").text == "Use pandoc -t plain."


def test_commit_refuses_when_the_file_changed_underneath(ws, racing_dreams) -> None:
    pb, text = read_live(ws, "legal")
    playbook_path(ws, "legal").write_text(text.replace("Use pandoc", "Use PANDOC"))
    with pytest.raises(ConcurrentChange):
        commit_playbook(ws, pb, expected_text=text)
    assert "Use PANDOC" in playbook_path(ws, "legal").read_text()


def test_approval_recomputes_after_a_lock_ignoring_write(ws, racing_dreams, monkeypatch) -> None:
    """A hand edit lands between reading and writing: the approval recomputes, keeping the edit."""
    real = approval_mod.apply_operations
    calls = {"n": 0}

    def racing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            path = playbook_path(ws, "legal")
            path.write_text(path.read_text().replace("Use pandoc for docx.", "Use pandoc for docx (edited)."))
        return real(*args, **kwargs)

    monkeypatch.setattr(approval_mod, "apply_operations", racing)
    res = approve(ws, "DREAMA", all_=True)
    assert calls["n"] == 2 and len(res.applied) == 5
    pb = load_playbook(ws, "legal")
    assert pb.find("pb-aaaaaa01").text == "Use pandoc for docx (edited)." and len(pb.entries()) == 6
    assert json.loads(json.dumps(audit(ws)[-1]))["hand_edited_before"] is True
