"""`grade --junit FILE` in a folder that cannot be written in: one line naming FILE and the cause, exit 2 (as
`--summary`, `--html` and `export -o` are), never an internal error after the grading was done."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

from dreamcli.errors import UsageError
from dreamcli.outcomes.report import JUnitWriter


def test_a_junit_file_that_cannot_be_written_is_a_usage_error(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(suffix: str = "", prefix: str = "", dir: Any = None, **kwargs: Any) -> Any:
        name = os.path.join(dir, f"{prefix}abcd1234{suffix}")  # as in a `chmod 500` folder, root or not
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), name)

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    path = tmp_path / "j.xml"
    with pytest.raises(UsageError) as e:
        JUnitWriter(path).close()
    assert str(e.value) == f"--junit {path}: cannot write it: Permission denied"
    assert e.value.exit_code == 2
