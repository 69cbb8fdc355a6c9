"""Issue 21, defect 2: `approve` killed between the history write and the live write. The rerun must
commit v0 -> v1 (not v2), with an audit record for every version in history and no temp file left."""

from __future__ import annotations

import os

import pytest

import dreamcli.playbooks.store as store_mod
from dreamcli.playbooks import journal, load_playbook
from dreamcli.playbooks.approval import approve
from dreamcli.playbooks.history import history
from dreamcli.playbooks.store import history_versions
from dreamcli.workspace.home import Workspace
from tests.support.playbooks import audit, op, write_dream


class Crash(Exception):
    pass


def test_approve_killed_between_history_and_live_write(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    write_dream(ws, "D1", "legal", [op("pb-new00001", text="Lesson one.")], base_version=0)
    live = ws.playbooks_dir / "legal.md"
    real = store_mod.atomic_write_text

    def dying(path, text, **kw):  # the process dies after the history file, before the live file
        if path == live:
            # what a SIGKILL leaves: the temp file of the live write
            (ws.playbooks_dir / f".legal.md.{2**22 + 7}.abcdefgh.tmp").write_text("half")
            raise Crash("killed")
        real(path, text, **kw)

    with monkeypatch.context() as m:
        m.setattr(store_mod, "atomic_write_text", dying)
        with pytest.raises(Crash):
            approve(ws, "D1", all_=True, actor="alice")
    assert journal.intent_path(ws, "legal").exists()

    res = approve(ws, "D1", all_=True, actor="alice")
    assert (res.commit.version_before, res.commit.version_after) == (0, 1)
    assert history_versions(ws, "legal") == [1]
    assert load_playbook(ws, "legal").version == 1
    assert [v.actor for v in history(ws, "legal")] == ["alice"]
    assert [(r["action"], r["version_after"]) for r in audit(ws)] == [("approve", 1)]
    leftovers = [p for p in ws.playbooks_dir.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []
    assert not journal.intent_path(ws, "legal").exists()
    assert os.stat(ws.playbooks_dir / "legal.md").st_mode & 0o777 == 0o600
