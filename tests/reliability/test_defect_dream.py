"""Issue 21, defect 1: a dream killed between its proposal and its watermark was proposed again by
the next dream, and approving both put every entry in the live playbook twice (lint: 0 findings)."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

import dreamcli.dream.engine as engine_mod
from dreamcli.config import Config
from dreamcli.dream.engine import DreamOptions, run_dream
from dreamcli.errors import UsageError
from dreamcli.playbooks import load_playbook
from dreamcli.playbooks.approval import approve
from dreamcli.playbooks.proposals import dream_ids, pending_dreams
from dreamcli.testing.synthetic import GenConfig, generate
from dreamcli.workspace.home import Workspace
from tests.support.playbooks import cli, op, write_dream, write_playbook

pytestmark = pytest.mark.usefixtures("no_model")


class Killed(BaseException):
    pass


def _ws(tmp_path: Path) -> Workspace:
    ws = Workspace(root=tmp_path / "ws", source="option").ensure_layout()
    generate(ws, GenConfig(sessions=40, seed=5, size_kb=2, start=datetime(2026, 10, 1, tzinfo=UTC), days=10))
    return ws


def _live_texts(ws: Workspace) -> list[str]:
    pb = load_playbook(ws, "default")
    return [e.text for e in pb.entries()] if pb else []


def _approve_everything(ws: Workspace) -> None:
    for d in pending_dreams(ws, "default"):
        approve(ws, d.dream_id, all_=True, force=True, include_tainted=True, actor="t")


def test_dream_killed_before_its_watermark_is_not_proposed_twice(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    ws = _ws(tmp_path)
    real = engine_mod.write_dream

    def write_then_die(*a, **k):  # the proposal is in place, then the process dies
        real(*a, **k)
        raise Killed()

    with monkeypatch.context() as m:
        m.setattr(engine_mod, "write_dream", write_then_die)
        with pytest.raises(Killed):
            run_dream(ws, Config(), DreamOptions())
    assert len(dream_ids(ws)) == 1
    run_dream(ws, Config(), DreamOptions())
    assert len(pending_dreams(ws, "default")) == 1
    _approve_everything(ws)
    texts = _live_texts(ws)
    assert texts and len(texts) == len(set(texts))
    assert not [p for p in ws.dreams_dir.iterdir() if p.name.startswith(".tmp-")]


def test_a_dream_with_the_same_candidates_supersedes_the_pending_one(tmp_path: Path) -> None:
    ws = _ws(tmp_path)
    first = run_dream(ws, Config(), DreamOptions())
    shutil.rmtree(ws.state_dir / "dream")  # the state is lost: the same sessions are read again
    second = run_dream(ws, Config(), DreamOptions())
    assert second.dream_id != first.dream_id
    assert [d.dream_id for d in pending_dreams(ws, "default")] == [second.dream_id]
    info = json.loads((ws.dreams_dir / first.dream_id / "dream.json").read_text())
    assert (info["status"], info["superseded_by"]) == ("superseded", second.dream_id)
    with pytest.raises(UsageError, match="superseded"):
        approve(ws, first.dream_id, all_=True, actor="t")
    _approve_everything(ws)
    texts = _live_texts(ws)
    assert texts and len(texts) == len(set(texts))


def test_approve_refuses_an_entry_whose_text_is_already_live(ws: Workspace) -> None:
    write_playbook(ws, "legal", [("pb-aaaaaa01", "Tools", "Use pandoc for docx.")], version=1)
    write_dream(ws, "D1", "legal", [op("pb-new00001", text="Use  pandoc for docx."),
                                    op("pb-new00002", text="Something else.")], base_version=1)
    res = approve(ws, "D1", all_=True, actor="t")
    by_id = {o.entry_id: o for o in res.outcomes}
    assert by_id["pb-new00001"].status == "already" and "pb-aaaaaa01" in by_id["pb-new00001"].reason
    assert by_id["pb-new00002"].status == "applied"
    texts = [e.text for e in load_playbook(ws, "legal").entries()]
    assert texts == ["Use pandoc for docx.", "Something else."]


def test_playbooks_lint_reports_duplicate_live_entries(ws: Workspace) -> None:
    write_playbook(ws, "legal", [("pb-aaaaaa01", "Tools", "Use pandoc for docx."),
                                 ("pb-aaaaaa02", "Tools", "Use pandoc for DOCX.")], version=1)
    res = cli(ws, "playbooks", "lint", "legal", "--json")
    data = json.loads(res.stdout)
    dup = [f for f in data["findings"] if f["rule"] == "duplicate"]
    assert [f["entry_id"] for f in dup] == ["pb-aaaaaa02"] and "pb-aaaaaa01" in dup[0]["message"]


def test_a_dream_that_fails_before_its_intent_leaves_no_staged_state(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by the 700-trial torture run: a dream that ended by an exception (not a kill) between staging
    its state and writing its intent left `state/dream/<playbook>/staged-<id>-<pid>/`, and since a
    command that ends cleanly unregisters itself (dreamcli.workspace.live), no next command swept it."""
    ws = _ws(tmp_path)

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(engine_mod.dream_journal, "superseded_by", boom)
        r = cli(ws, "dream")
        assert r.exit_code != 0
    assert cli(ws, "sessions", "list", "--limit", "1").exit_code == 0
    assert not list((ws.state_dir / "dream").glob("*/staged-*"))
    assert not list((ws.state_dir / "intents").glob("dream-*"))
    assert cli(ws, "dream").exit_code == 0 and len(dream_ids(ws)) == 1  # the sessions are dreamed again
