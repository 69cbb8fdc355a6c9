"""What approval may write: entry text that would not read back is refused (edit, approve, dream
text, the commit itself fails closed), and memory writes never leave the store through a symlink."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import dreamcli.playbooks.approval as approval_mod
from dreamcli.errors import InputError, UsageError
from dreamcli.playbooks import Entry, load_playbook, parse_playbook
from dreamcli.playbooks.apply import MemoryChange, memory_path, write_memory
from dreamcli.playbooks.approval import approve, edit
from dreamcli.playbooks.format import entry_text_problem
from dreamcli.playbooks.store import commit_playbook, history_versions, playbook_path, read_live
from dreamcli.workspace.home import Workspace
from tests.support.playbooks import audit, cli, decisions, op, write_dream, write_playbook

ENTRIES = [("pb-aaaaaa01", "Tools", "Use pandoc for docx.")]
META_LINE = "Check the config first.\n<!-- dc: helpful=9 -->"


@pytest.fixture
def legal_v3(ws: Workspace) -> None:
    """The legal playbook at version 3 (ENTRIES)."""
    write_playbook(ws, "legal", ENTRIES, version=3)


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_edit_and_approve_refuse_a_metadata_line_and_the_playbook_stays_readable(ws, legal_v3) -> None:
    write_dream(ws, "D1", "legal", [op("pb-new00001", text="Check the config.")], base_version=3)
    before = _tree(ws.playbooks_dir)
    r = cli(ws, "playbooks", "edit", "D1", "pb-new00001", "--text", META_LINE)
    assert r.exit_code == 2 and "<!-- dc:" in r.stderr and "line 2" in r.stderr, r.output
    assert decisions(ws, "D1") == [] and audit(ws) == []
    r = cli(ws, "playbooks", "approve", "D1", "--entry", "pb-new00001", "--edit-text", META_LINE, "--yes")
    assert r.exit_code == 2 and "<!-- dc:" in r.stderr, r.output
    assert _tree(ws.playbooks_dir) == before and decisions(ws, "D1") == []
    # indented, or with the comment closed on the same line: the same refusal
    for text in ("a\n   <!-- dc: x=1 -->", "<!-- dc: helpful=1 -->\nb"):
        with pytest.raises(UsageError, match="<!-- dc:"):
            edit(ws, "D1", "pb-new00001", text)
    r = cli(ws, "playbooks", "approve", "D1", "--entry", "pb-new00001", "--yes")
    assert r.exit_code == 0, r.output
    r = cli(ws, "playbooks", "list", "--json")
    (row,) = json.loads(r.stdout)["playbooks"]
    assert "error" not in row and (row["version"], row["entries"]) == (4, 2)


def test_dream_text_with_a_metadata_line_is_refused_per_entry(ws, legal_v3) -> None:
    """Dream-written text (and a bad edit recorded before the guard existed) goes through the same
    check when the operation is applied: that entry is refused, the others still apply."""
    write_dream(ws, "D1", "legal", [
        op("pb-new00001", text="Fine lesson."),
        op("pb-new00002", text=META_LINE),
        op("pb-aaaaaa01", "update", text="Use pandoc.\n  <!-- dc: harmful=3 -->", old_text="Use pandoc for docx."),
        op("pb-new00003", text="Edited before the guard existed."),
    ], base_version=3)
    old_edit = {"v": 1, "ts": "2026-11-24T03:00:00.000Z", "action": "edit", "entry_id": "pb-new00003",
                "actor": "x", "text": META_LINE}
    (ws.dreams_dir / "D1" / "decisions.jsonl").write_text(json.dumps(old_edit) + "\n")
    diff = json.loads(cli(ws, "playbooks", "diff", "--json").stdout)["dreams"][0]["operations"]
    assert [o["fits"] for o in diff] == ["applied", "conflict", "conflict", "conflict"]
    res = approve(ws, "D1", all_=True, actor="alice")
    assert [(o.entry_id, o.status) for o in res.outcomes] == [
        ("pb-new00001", "applied"), ("pb-new00002", "conflict"), ("pb-aaaaaa01", "conflict"),
        ("pb-new00003", "conflict")]
    assert all("<!-- dc:" in o.reason for o in res.refused)
    pb = load_playbook(ws, "legal")  # parses
    assert [e.id for e in pb.entries()] == ["pb-aaaaaa01", "pb-new00001"]
    assert pb.find("pb-aaaaaa01").text == "Use pandoc for docx."
    assert cli(ws, "playbooks", "list").exit_code == 0


def test_commit_fails_closed_when_the_text_would_not_parse_back(ws, legal_v3) -> None:
    pb, text = read_live(ws, "legal")
    pb.add_entry(Entry(id="pb-bad00001", text=META_LINE), "Tools")
    before = _tree(ws.playbooks_dir)
    with pytest.raises(InputError, match="would not parse back"):
        commit_playbook(ws, pb, expected_text=text)
    assert _tree(ws.playbooks_dir) == before and pb.version == 3
    # a hand-made live file without history is not copied into history by a refused commit either
    (ws.playbook_history_dir / "legal" / "v3.md").unlink()
    pb, text = read_live(ws, "legal")
    pb.find("pb-aaaaaa01").sources = ["S1,S2"]  # would read back as two sources
    with pytest.raises(InputError, match="pb-aaaaaa01 would not read back"):
        commit_playbook(ws, pb, expected_text=text)
    assert history_versions(ws, "legal") == []


def test_section_and_metadata_from_a_dream_cannot_break_the_file(ws, legal_v3) -> None:
    write_dream(ws, "D1", "legal", [
        op("pb-new00001", section="Tools\n- [pb-inject01] injected", text="Sneaky."),
        op("pb-new00002", text="Keep me.", metadata={"sources": ["S 1", "S2-->", "S3"], "first_seen": "a b",
                                                    "last_seen": "2026-11-20"}),
    ], base_version=3)
    res = approve(ws, "D1", all_=True)
    assert [o.status for o in res.outcomes] == ["conflict", "applied"]
    assert "one '## ' heading line" in res.outcomes[0].reason
    pb = load_playbook(ws, "legal")
    assert [e.id for e in pb.entries()] == ["pb-aaaaaa01", "pb-new00002"]
    kept = pb.find("pb-new00002")
    assert (kept.sources, kept.first_seen, kept.last_seen) == (["S3"], None, "2026-11-20")


def test_bullet_heading_and_fence_lines_stay_in_the_entry(ws, legal_v3) -> None:
    text = "Lead line.\n- [pb-zzzzzz01] not an entry\n## not a section\n```\ncode"
    assert entry_text_problem(text) is None
    write_dream(ws, "D1", "legal", [op("pb-new00001", text=text, section="Tools")], base_version=3)
    approve(ws, "D1", all_=True)
    pb = parse_playbook(playbook_path(ws, "legal").read_text())
    assert [e.id for e in pb.entries()] == ["pb-aaaaaa01", "pb-new00001"]
    assert pb.find("pb-new00001").text == text and pb.sections == ["Tools"]


# --- memory writes and symlinks ---------------------------------------------------------------------

@pytest.fixture
def outside(ws) -> Path:
    out = ws.root.parent / "outside"
    out.mkdir()
    (out / "victim.md").write_text("keep me")
    mem = ws.memory_store("default") / "memories"
    mem.mkdir(parents=True)
    os.symlink(out, mem / "link")  # what the agent's bash tool could do
    return out


def test_memory_ops_through_a_symlinked_dir_are_refused(ws, legal_v3, outside) -> None:
    write_dream(ws, "M1", "legal", [
        op("mem-0000001a", "create", target="memory", path="/memories/link/new.md", text="escaped"),
        op("mem-0000001b", "retire", target="memory", path="/memories/link/victim.md", text=None),
        op("mem-0000001c", "create", target="memory", path="/memories/ok.md", text="fine"),
    ], base_version=3)
    res = approve(ws, "M1", all_=True)
    assert [o.status for o in res.outcomes] == ["conflict", "conflict", "applied"]
    assert "outside the memory store" in res.outcomes[0].reason
    assert sorted(p.name for p in outside.iterdir()) == ["victim.md"]
    assert (outside / "victim.md").read_text() == "keep me"
    assert (ws.memory_store("default") / "memories" / "ok.md").read_text() == "fine"
    with pytest.raises(ValueError, match="outside the memory store"):
        memory_path(ws, "default", "/memories/link/x.md")


def test_write_memory_rechecks_and_writes_nothing_when_one_target_escapes(ws, legal_v3, outside) -> None:
    root = ws.memory_store("default") / "memories"
    changes = [MemoryChange(root / "ok.md", None, "fine", root=root),
               MemoryChange(root / "link" / "new.md", None, "escaped", root=root),
               MemoryChange(root / "link" / "victim.md", "keep me", None, root=root)]
    with pytest.raises(InputError, match=r"link/new\.md.*outside the memory store"):
        write_memory(changes)
    assert not (root / "ok.md").exists() and sorted(p.name for p in outside.iterdir()) == ["victim.md"]


def test_a_symlink_made_after_planning_stops_the_approval_before_the_playbook_is_written(
    ws, legal_v3, monkeypatch
) -> None:
    write_dream(ws, "M1", "legal", [
        op("pb-new00001", text="A lesson."),
        op("mem-0000001a", "create", target="memory", path="/memories/sub/notes.md", text="notes"),
    ], base_version=3)
    out = ws.root.parent / "elsewhere"
    out.mkdir()
    real_apply = approval_mod.apply_operations

    def apply_then_race(*args, **kwargs):
        result = real_apply(*args, **kwargs)
        (ws.memory_store("default") / "memories").mkdir(parents=True, exist_ok=True)
        os.symlink(out, ws.memory_store("default") / "memories" / "sub")
        return result

    monkeypatch.setattr(approval_mod, "apply_operations", apply_then_race)
    before = _tree(ws.playbooks_dir)
    with pytest.raises(InputError, match=r"sub/notes\.md"):
        approve(ws, "M1", all_=True)
    assert _tree(ws.playbooks_dir) == before and list(out.iterdir()) == []
    assert decisions(ws, "M1") == [] and audit(ws) == []
