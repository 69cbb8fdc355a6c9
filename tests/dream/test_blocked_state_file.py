"""`journal.blocked_file`: the one check of what stands where a file belongs, which the dream's state
check (`check_state_paths`) and `doctor`'s state check share, each keeping its own words."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dreamcli.dream.journal import blocked_file


def test_a_file_a_symlink_or_nothing_is_not_blocked(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("{}")
    (tmp_path / "link").symlink_to(tmp_path / "f")
    assert [blocked_file(tmp_path / n) for n in ("f", "link", "missing")] == [None, None, None]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_directory_or_a_fifo_is_named(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    os.mkfifo(tmp_path / "fifo")
    assert blocked_file(tmp_path / "d") == "a directory"
    assert blocked_file(tmp_path / "fifo") == "a FIFO"


def test_a_path_through_a_file_raises(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("{}")
    with pytest.raises(NotADirectoryError):
        blocked_file(tmp_path / "f" / "watermark.json")
