"""`dreamcli init` says what goes wrong the way every command does: `warning: …` lines from the UI's
`warn` (a missing storage driver, a workspace root that cannot be made private), and a plain line for
what it did (a root tightened to 0700)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.store import schemes


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def test_a_missing_driver_is_one_warning_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = schemes.find_spec
    monkeypatch.setattr(schemes, "find_spec", lambda name: None if name == "s3fs" else real(name))
    r = invoke("init", str(tmp_path / "p"), "--sessions-url", "s3://bucket/prefix")
    assert r.exit_code == 0, r.output
    lines = [line for line in r.stderr.splitlines() if "s3fs" in line]
    assert lines == ["warning: sessions.url s3://bucket/prefix needs s3fs, which is not installed: "
                     "pip install 'dreamcli[s3]'"]


@pytest.mark.skipif(os.name != "posix", reason="modes are POSIX")
@pytest.mark.parametrize("denied", [True, False])
def test_a_root_that_cannot_be_tightened_is_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      denied: bool) -> None:
    root = tmp_path / "p" / ".dreamcli"
    root.mkdir(parents=True)
    root.chmod(0o755)
    real = os.chmod

    def chmod(path: Any, mode: int, *args: Any, **kwargs: Any) -> None:
        if denied and Path(path) == root:
            raise PermissionError(1, "Operation not permitted", str(path))
        real(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "chmod", chmod)
    r = invoke("init", str(tmp_path / "p"))
    assert r.exit_code == 0, r.output
    said = (f"warning: {root} is mode 0755, open to others, and cannot be made 0700: Operation not permitted"
            if denied else f"Tightened {root} from mode 0755 to 0700 (a workspace is private)")
    assert said in r.stderr.splitlines() and r.stderr.count("warning:") == denied
