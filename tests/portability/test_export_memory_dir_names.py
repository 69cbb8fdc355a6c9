"""`export --format memory-dir`: each file name is unique among the files written, so a section split
into `foo-1.md`, `foo-2.md` and a section whose own name is `foo-1` never overwrite each other."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dreamcli.playbooks import parse_playbook
from dreamcli.portability.memory_dir import MAX_FILE_CHARS, render_memory_dir
from dreamcli.portability.select import select_playbooks
from dreamcli.workspace.home import Workspace
from tests.portability.support import cli
from tests.support.playbooks import write_playbook

LONG = "word " * 300  # three of these overflow one file: the section is split into parts


@pytest.mark.parametrize("order", ["split-first", "split-last"])
def test_no_entry_is_lost_when_a_section_name_matches_a_part_name(ws: Workspace, tmp_path: Path,
                                                                  order: str) -> None:
    split = [(f"nt-aaaa000{i}", "Foo", f"Long lesson {i}. {LONG}") for i in range(1, 4)]
    small = [("nt-bbbb0001", "Foo 1", "The only lesson of section Foo 1."),
             ("nt-cccc0001", "Foo 2", "The only lesson of section Foo 2.")]
    write_playbook(ws, "notes", split + small if order == "split-first" else small + split)
    out = tmp_path / "mem"
    r = cli(ws.root, "export", "-f", "memory-dir", "-o", str(out), "--json")
    assert r.exit_code == 0, r.output
    files = {p.relative_to(out).as_posix(): p.read_text() for p in out.rglob("*") if p.is_file()}
    written = "".join(text for name, text in files.items() if name != "memories/index.md")
    ids = [e.id for e in parse_playbook((ws.playbooks_dir / "notes.md").read_text()).entries()]
    assert len(ids) == 5
    for entry_id in ids:
        assert written.count(f"id={entry_id} ") == 1, entry_id
    listed = re.findall(r"`/(memories/[^`]+)`", files["memories/index.md"])
    assert len(listed) == len(set(listed)) == len(files) - 1
    assert set(listed) == set(files) - {"memories/index.md"}


def test_render_gives_one_file_per_name(ws: Workspace) -> None:
    write_playbook(ws, "notes", [*((f"nt-aaaa000{i}", "Foo", LONG) for i in range(1, 4)),
                                 ("nt-bbbb0001", "Foo 1", "short"), ("nt-dddd0001", "foo", "same slug")])
    files = render_memory_dir(select_playbooks(ws, None), created="2026-11-24T03:00:00Z")
    body = b"".join(data for name, data in files.items() if name != "memories/index.md")
    for entry_id in ("nt-aaaa0001", "nt-aaaa0002", "nt-aaaa0003", "nt-bbbb0001", "nt-dddd0001"):
        assert body.count(f"id={entry_id} ".encode()) == 1
    assert all(len(data) <= MAX_FILE_CHARS + 500 for data in files.values())
