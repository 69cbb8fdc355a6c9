"""Issue 20: `export --format claude-md|agents-md --into FILE` keeps the user's text and replaces only
dreamcli's marked block, idempotently."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.errors import UsageError
from dreamcli.portability.into import splice
from dreamcli.workspace.home import Workspace
from tests.support.playbooks import write_playbook

USER_TEXT = "# My project\n\nRun `make test` before committing.\n"


def _export(ws: Workspace, into: Path, fmt: str = "claude-md") -> Any:
    return CliRunner().invoke(app, ["--home", str(ws.root), "export", "--format", fmt, "--into", str(into)])


def test_into_keeps_the_users_text_and_is_idempotent(ws: Workspace, tmp_path: Path) -> None:
    write_playbook(ws, "legal", [("pb-aaaaaa01", "Tools", "Use pandoc for docx.")])
    target = tmp_path / "CLAUDE.md"
    target.write_text(USER_TEXT)
    r = _export(ws, target)
    assert r.exit_code == 0, r.output
    first = target.read_text()
    assert first.startswith(USER_TEXT) and "Use pandoc for docx." in first
    assert first.count("<!-- dreamcli:begin") == 1 and first.rstrip().endswith("<!-- dreamcli:end -->")
    # the user adds text after the block; a new approval changes only the block
    target.write_text(first + "\n## Notes\n\nMine.\n")
    write_playbook(ws, "legal", [("pb-aaaaaa01", "Tools", "Use pandoc for docx."),
                                 ("pb-aaaaaa02", "Corrections", "Cite by section.")], version=2)
    assert _export(ws, target).exit_code == 0
    second = target.read_text()
    assert second.startswith(USER_TEXT) and second.endswith("\n## Notes\n\nMine.\n")
    assert "Cite by section." in second and second.count("<!-- dreamcli:begin") == 1
    # again: nothing changes
    r = _export(ws, target)
    assert target.read_text() == second and "already up to date" in r.stderr


def test_into_creates_a_missing_file_and_refuses_other_formats(ws: Workspace, tmp_path: Path) -> None:
    write_playbook(ws, "legal", [("pb-aaaaaa01", "Tools", "Use pandoc for docx.")])
    target = tmp_path / "AGENTS.md"
    assert _export(ws, target, "agents-md").exit_code == 0
    assert target.read_text().startswith("<!-- dreamcli:begin")
    assert _export(ws, tmp_path / "x.json", "json").exit_code == 2


def test_a_damaged_block_is_refused() -> None:
    with pytest.raises(UsageError):
        splice("<!-- dreamcli:end -->\n<!-- dreamcli:begin x -->\n", "B")
