"""Applying proposals: each operation kind, conflicts against newer versions, counts by delta,
memory operations, malformed proposals refused with file and field."""

from __future__ import annotations

import json

import pytest

from dreamcli.errors import InputError
from dreamcli.playbooks import load_playbook, parse_playbook, render_playbook
from dreamcli.playbooks.apply import apply_operations, memory_path
from dreamcli.playbooks.approval import approve
from dreamcli.playbooks.proposals import load_dream, parse_proposal
from dreamcli.playbooks.store import history_versions, load_version
from dreamcli.workspace.home import Workspace
from tests.support.playbooks import SID, op, write_dream, write_playbook

ENTRIES = [("pb-aaaaaa01", "Tools", "Use pandoc for docx."), ("pb-aaaaaa02", "Tools", "Read PDFs with pdftotext."),
           ("pb-aaaaaa03", "Corrections", "Cite by section.")]


@pytest.fixture
def legal_v3(ws: Workspace) -> None:
    """The legal playbook at version 3 (ENTRIES)."""
    write_playbook(ws, "legal", ENTRIES, version=3)


def test_each_operation_kind(ws, legal_v3) -> None:
    write_dream(ws, "D1", "legal", [
        op("pb-new00001", section="Tools", text="Check the encoding first."),
        op("pb-aaaaaa03", "update", text="Cite by section number.", old_text="Cite by section."),
        op("pb-merged01", "merge", text="Extract text first (pandoc for docx, pdftotext for PDF).",
           merged_ids=["pb-aaaaaa01", "pb-aaaaaa02"], section="Tools"),
        op("pb-new00002", section="Brand new", text="Line one\nline two"),
    ], base_version=3)
    res = approve(ws, "D1", all_=True, actor="alice")
    assert [o.status for o in res.outcomes] == ["applied"] * 4
    pb = load_playbook(ws, "legal")
    assert pb.version == 4
    assert [e.id for e in pb.entries()] == ["pb-merged01", "pb-new00001", "pb-aaaaaa03", "pb-new00002"]
    merged = pb.find("pb-merged01")
    assert merged.section == "Tools" and merged.helpful == 2  # counts of both merged entries kept
    assert merged.sources == [SID]
    assert pb.find("pb-aaaaaa03").text == "Cite by section number."
    assert pb.find("pb-aaaaaa03").helpful == 1  # an update keeps counts
    assert pb.find("pb-new00002").text == "Line one\nline two"
    assert "## Brand new" in render_playbook(pb)
    assert history_versions(ws, "legal") == [3, 4]
    assert render_playbook(load_version(ws, "legal", 4)) == render_playbook(pb)


def test_retire_and_counts(ws, legal_v3) -> None:
    write_dream(ws, "D1", "legal", [
        op("pb-aaaaaa01", "retire", text=None, old_text="Use pandoc for docx.", reason="hurts graded runs"),
        op("pb-aaaaaa02", "counts", text=None, metadata={"helpful": 5, "harmful": 2, "sources": ["S2"],
                                                         "last_seen": "2026-11-30"}),
    ], base_version=3)
    approve(ws, "D1", all_=True)
    pb = load_playbook(ws, "legal")
    assert pb.find("pb-aaaaaa01") is None
    e = pb.find("pb-aaaaaa02")
    assert (e.helpful, e.harmful, e.sources, e.last_seen, e.first_seen) == (5, 2, ["S2", SID], "2026-11-30",
                                                                            "2026-11-01")


def test_older_base_applies_what_fits_and_refuses_conflicts(ws, legal_v3) -> None:
    # v4 changes entry 03 and retires entry 02 after the dream read v3
    write_dream(ws, "EARLY", "legal", [
        op("pb-aaaaaa03", "update", text="Cite clauses as § N.", old_text="Cite by section."),
        op("pb-aaaaaa02", "retire", text=None, old_text="Read PDFs with pdftotext."),
    ], base_version=3)
    approve(ws, "EARLY", all_=True)
    write_dream(ws, "LATE", "legal", [
        op("pb-late0001", text="A brand-new lesson."),
        op("pb-aaaaaa03", "update", text="Cite by section, never page.", old_text="Cite by section."),
        op("pb-aaaaaa02", "update", text="Use pdftotext -layout.", old_text="Read PDFs with pdftotext."),
        op("pb-aaaaaa01", "update", text="Use pandoc -t plain for docx.", old_text="Use pandoc for docx."),
        op("pb-aaaaaa04", "counts", text=None, metadata={"helpful": 1}),
    ], base_version=3)
    res = approve(ws, "LATE", all_=True)
    status = {o.entry_id: (o.status, o.reason) for o in res.outcomes}
    assert status["pb-late0001"][0] == "applied"
    assert status["pb-aaaaaa01"][0] == "applied"  # untouched since v3: still fits
    assert status["pb-aaaaaa03"][0] == "conflict"
    assert "changed after the dream read version 3" in status["pb-aaaaaa03"][1]
    assert status["pb-aaaaaa02"][0] == "conflict" and "no longer in the playbook" in status["pb-aaaaaa02"][1]
    assert status["pb-aaaaaa04"][0] == "conflict"
    pb = load_playbook(ws, "legal")
    assert pb.version == 5
    assert pb.find("pb-aaaaaa03").text == "Cite clauses as § N."  # the newer approval is not overwritten
    assert pb.find("pb-late0001") is not None
    # refused entries stay pending for a reviewer to reject
    dream = load_dream(ws, "LATE")
    assert {o.entry_id for o in dream.undecided()} == {"pb-aaaaaa03", "pb-aaaaaa02", "pb-aaaaaa04"}
    assert dream.computed_status() == "partially_approved"


def test_counts_move_by_delta_against_the_base_version(ws, legal_v3) -> None:
    write_dream(ws, "A", "legal", [op("pb-aaaaaa01", "counts", text=None, metadata={"helpful": 4})], base_version=3)
    write_dream(ws, "B", "legal", [op("pb-aaaaaa01", "counts", text=None, metadata={"helpful": 3, "harmful": 1})],
                base_version=3)
    approve(ws, "A", all_=True)
    approve(ws, "B", all_=True)
    e = load_playbook(ws, "legal").find("pb-aaaaaa01")
    # base had helpful=1: A adds 3, B adds 2 and one harmful; nothing is lost
    assert (e.helpful, e.harmful) == (6, 1)


def test_add_of_an_existing_id(ws, legal_v3) -> None:
    pb = parse_playbook(render_playbook(load_playbook(ws, "legal")))
    proposal = parse_proposal({"dream_id": "X", "playbook": "legal", "base_version": 3, "operations": [
        op("pb-aaaaaa01", text="Use pandoc for docx."), op("pb-aaaaaa02", text="Something else")]}, "p.json")
    res = apply_operations(pb, proposal.operations, base_version=3)
    assert [o.status for o in res.outcomes] == ["already", "conflict"]


def test_memory_operations(ws, legal_v3) -> None:
    mem = ws.memory_store("default") / "memories"
    mem.mkdir(parents=True)
    (mem / "old.md").write_text("old notes\n")
    (mem / "a.md").write_text("a\n")
    (mem / "b.md").write_text("b\n")
    write_dream(ws, "M", "legal", [
        op("mem-0000001a", "create", target="memory", path="/memories/index.md", text="# Index\n- docx: pandoc"),
        op("mem-0000001b", "update", target="memory", path="/memories/old.md", text="new notes",
           old_text="old notes"),
        op("mem-0000001c", "merge", target="memory", path="/memories/ab.md", text="a and b",
           merged_paths=["/memories/a.md", "/memories/b.md"]),
        op("mem-0000001d", "create", target="memory", path="/memories/../escape.md", text="x"),
    ], base_version=3)
    res = approve(ws, "M", all_=True)
    assert [o.status for o in res.outcomes] == ["applied", "applied", "applied", "conflict"]
    assert (mem / "index.md").read_text() == "# Index\n- docx: pandoc"  # file content exactly as proposed
    assert (mem / "old.md").read_text() == "new notes"
    assert (mem / "ab.md").read_text() == "a and b"
    assert not (mem / "a.md").exists() and not (mem / "b.md").exists()
    assert not (ws.memory_store("default") / "escape.md").exists()
    assert res.commit is None  # memory only: the playbook version does not move
    assert load_playbook(ws, "legal").version == 3


def test_memory_merge_keeping_the_text_still_removes_the_duplicates(ws, legal_v3) -> None:
    mem = ws.memory_store("default") / "memories"
    mem.mkdir(parents=True)
    (mem / "keep.md").write_text("docx: use pandoc\n")
    (mem / "dup.md").write_text("docx: pandoc\n")
    write_dream(ws, "M2", "legal", [op("mem-0000002a", "merge", target="memory", path="/memories/keep.md",
                                       text="docx: use pandoc\n", old_text="docx: use pandoc\n",
                                       merged_paths=["/memories/dup.md"])])
    res = approve(ws, "M2", all_=True)
    assert [o.status for o in res.outcomes] == ["applied"]
    assert (mem / "keep.md").read_text() == "docx: use pandoc\n" and not (mem / "dup.md").exists()


def test_memory_path_refuses_escapes(ws, legal_v3) -> None:
    assert memory_path(ws, "default", "/memories/x/y.md") == ws.memory_store("default") / "memories" / "x" / "y.md"
    for bad in ("/memories/../x", "/etc/passwd", "../x", "/memories/"):
        with pytest.raises(ValueError):
            memory_path(ws, "default", bad)


@pytest.mark.parametrize(("patch", "field"), [
    ({"operations": [{"entry_id": "pb-aaaaaa01", "op": "explode", "text": "x"}]}, "operations.0.op"),
    ({"operations": [{"entry_id": "BAD", "op": "add", "text": "x"}]}, "operations.0.entry_id"),
    ({"operations": [{"entry_id": "pb-aaaaaa01", "op": "add", "text": ""}]}, "operations.0.text"),
    ({"operations": [{"entry_id": "pb-aaaaaa01", "op": "merge", "text": "x"}]}, "operations.0.merged_ids"),
    ({"base_version": "three"}, "base_version"),
    ({"v": 2}, "v"),
    ({"playbook": "../etc"}, "playbook"),
])
def test_malformed_proposals_name_file_and_field(ws, legal_v3, patch, field) -> None:
    d = write_dream(ws, "BAD", "legal", [op("pb-aaaaaa09")])
    data = json.loads((d / "proposal.json").read_text())
    data.update(patch)
    (d / "proposal.json").write_text(json.dumps(data))
    with pytest.raises(InputError) as info:
        load_dream(ws, "BAD")
    assert info.value.field == field
    # named relative to the workspace, as session files are: short enough for one line
    assert str(info.value).startswith("dreams/BAD/proposal.json: ")


def test_invalid_json_names_the_line(ws, legal_v3) -> None:
    d = write_dream(ws, "BAD", "legal", [op("pb-aaaaaa09")])
    (d / "proposal.json").write_text('{\n  "v": 1,\n  "dream_id": oops\n}')
    with pytest.raises(InputError) as info:
        load_dream(ws, "BAD")
    assert info.value.line == 3
