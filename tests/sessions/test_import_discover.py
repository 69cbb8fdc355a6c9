"""Finding transcripts: one shared walk (sessions.importers.common.discover_files) for every format."""

from __future__ import annotations

from pathlib import Path

import pytest

from dreamcli.sessions.importers import claude_code, codex
from dreamcli.sessions.importers.common import discover_files


@pytest.fixture
def tree_of_files(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    for rel in ("b/2.jsonl", "b/1.jsonl", "a/z.jsonl", "a/sub/agent-1.jsonl", "a/notes.txt", "top.jsonl",
                "c/x.jsonl.bak"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("{}\n")
    (root / "d.jsonl").mkdir()  # a directory named like a transcript is not a file
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "o.jsonl").write_text("{}\n")
    (root / "linked").symlink_to(outside, target_is_directory=True)  # not followed
    return root


def test_discover_walks_sorted_regular_files_without_following_links(tree_of_files: Path) -> None:
    rels = [p.relative_to(tree_of_files).as_posix() for p in discover_files(tree_of_files)]
    assert rels == ["top.jsonl", "a/z.jsonl", "a/sub/agent-1.jsonl", "b/1.jsonl", "b/2.jsonl"]
    assert [p.name for p in discover_files(tree_of_files, ".txt")] == ["notes.txt"]
    one = tree_of_files / "a" / "notes.txt"
    assert discover_files(one) == [one]  # a file given directly is taken as it is


@pytest.mark.parametrize("fmt", [claude_code, codex])
def test_every_format_discovers_with_the_shared_walk(fmt: object, tree_of_files: Path) -> None:
    assert fmt.discover(tree_of_files) == discover_files(tree_of_files)  # type: ignore[attr-defined]
