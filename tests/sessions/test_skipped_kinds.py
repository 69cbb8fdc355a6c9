"""`skipped_kinds` sorts the files a listing skipped: those that cannot be opened first (the OS's reason
in the example), then those whose first line is no readable session.start."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from dreamcli.sessions.summary import SkippedKind, skipped_kinds


def test_the_kinds_in_order_each_counted_with_its_first_file() -> None:
    reasons = {"a": None, "b": "Permission denied", "c": None, "d": "Is a directory"}
    assert skipped_kinds(["a", "b", "c", "d"], reasons.get) == [
        SkippedKind(2, "unreadable", "b: Permission denied"),
        SkippedKind(2, "corrupt or wrong-typed first line", "a")]


def test_one_kind_alone_and_none() -> None:
    assert skipped_kinds(["x"], lambda _: None) == [SkippedKind(1, "corrupt or wrong-typed first line", "x")]
    assert skipped_kinds(["x"], lambda _: "Permission denied") == [SkippedKind(1, "unreadable",
                                                                               "x: Permission denied")]
    assert skipped_kinds([]) == []


def test_the_files_themselves_by_default(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.jsonl"
    corrupt.write_text("not json\n")
    folder = tmp_path / "folder.jsonl"
    folder.mkdir()
    kinds = skipped_kinds([str(corrupt), str(folder)])
    assert kinds == [SkippedKind(1, "unreadable", f"{folder}: {os.strerror(errno.EISDIR)}"),
                     SkippedKind(1, "corrupt or wrong-typed first line", str(corrupt))]


@pytest.mark.skipif(os.geteuid() == 0, reason="root opens any file")
def test_a_file_without_read_permission_is_unreadable(tmp_path: Path) -> None:
    locked = tmp_path / "locked.jsonl"
    locked.write_text("{}\n")
    locked.chmod(0)
    assert skipped_kinds([str(locked)])[0].why == "unreadable"
