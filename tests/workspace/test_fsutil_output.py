"""Appends that survive a file without a final newline, and the check of an output target."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dreamcli.errors import UsageError
from dreamcli.workspace.fsutil import append_line, check_output_file


def test_append_line_starts_on_a_new_line(tmp_path: Path) -> None:
    path = tmp_path / "decisions.jsonl"
    path.write_text('{"a": 1}\n{"b": 2}')  # the last line has no newline (a torn write, an editor's save)
    append_line(path, json.dumps({"c": 3}))
    append_line(path, json.dumps({"d": 4}))
    assert [json.loads(ln) for ln in path.read_text().splitlines()] == [{"a": 1}, {"b": 2}, {"c": 3}, {"d": 4}]
    assert path.read_text().endswith("\n")


def test_append_line_to_an_empty_or_new_file_adds_no_blank_line(tmp_path: Path) -> None:
    empty, new = tmp_path / "empty.log", tmp_path / "sub" / "new.log"
    empty.write_text("")
    append_line(empty, "one")
    append_line(new, "one")
    assert empty.read_text() == new.read_text() == "one\n"


def test_check_output_file(tmp_path: Path) -> None:
    check_output_file(tmp_path / "new.xml", "--junit")  # missing: fine
    check_output_file(tmp_path / "missing" / "dir" / "new.xml", "--junit")  # made when written
    (tmp_path / "plain.xml").write_text("x")
    check_output_file(tmp_path / "plain.xml", "--junit")  # a regular file is replaced
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "link").symlink_to(tmp_path / "plain.xml")
    (tmp_path / "dir").mkdir()
    for bad in ("fifo", "link", "dir", "plain.xml/under"):
        with pytest.raises(UsageError) as e:
            check_output_file(tmp_path / bad, "--junit")
        assert "--junit" in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(UsageError):
        check_output_file(Path(""), "--summary")
