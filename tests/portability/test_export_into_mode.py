"""`export --into FILE` updates a project file of the user's (CLAUDE.md, AGENTS.md): it keeps the file's
permission bits, through a symbolic link too, and a new file gets the umask's default, not 0600."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.workspace.home import Workspace
from tests.support.playbooks import write_playbook

USER_TEXT = "# p\n"


def _export(ws: Workspace, into: Path) -> Any:
    return CliRunner().invoke(app, ["--home", str(ws.root), "export", "-f", "agents-md", "--into", str(into)])


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("mode", [0o664, 0o644, 0o640, 0o600])
def test_into_keeps_the_files_mode(ws: Workspace, tmp_path: Path, mode: int) -> None:
    write_playbook(ws, "legal", [("pb-aaaaaa01", "Tools", "Use pandoc for docx.")])
    (tmp_path / "project").mkdir()
    target = tmp_path / "project" / "P.md"
    target.write_text(USER_TEXT)
    target.chmod(mode)
    r = _export(ws, target)
    assert r.exit_code == 0, r.output
    assert "Use pandoc" in target.read_text() and target.read_text().startswith(USER_TEXT)
    assert _mode(target) == mode
    assert [p.name for p in target.parent.iterdir()] == ["P.md"]  # no temporary file left beside it


def test_into_through_a_symlink_keeps_the_targets_mode_and_the_link(ws: Workspace, tmp_path: Path) -> None:
    write_playbook(ws, "legal", [("pb-aaaaaa01", "Tools", "Use pandoc for docx.")])
    real = tmp_path / "AGENTS.md"
    real.write_text(USER_TEXT)
    real.chmod(0o664)
    link = tmp_path / "CLAUDE.md"
    link.symlink_to("AGENTS.md")
    r = _export(ws, link)
    assert r.exit_code == 0, r.output
    assert link.is_symlink() and os.readlink(link) == "AGENTS.md"
    assert "Use pandoc" in real.read_text() and _mode(real) == 0o664


def test_into_a_new_file_gets_the_umask_default(ws: Workspace, tmp_path: Path, umask_022: None) -> None:
    write_playbook(ws, "legal", [("pb-aaaaaa01", "Tools", "Use pandoc for docx.")])
    target = tmp_path / "AGENTS.md"
    r = _export(ws, target)
    assert r.exit_code == 0, r.output
    assert target.read_text().startswith("<!-- dreamcli:begin") and _mode(target) == 0o644


def test_a_second_export_with_a_change_keeps_the_mode(ws: Workspace, tmp_path: Path) -> None:
    write_playbook(ws, "legal", [("pb-aaaaaa01", "Tools", "Use pandoc for docx.")])
    target = tmp_path / "AGENTS.md"
    target.write_text(USER_TEXT)
    target.chmod(0o644)
    assert _export(ws, target).exit_code == 0
    write_playbook(ws, "legal", [("pb-aaaaaa01", "Tools", "Use pandoc for docx."),
                                 ("pb-aaaaaa02", "Corrections", "Cite by section.")], version=2)
    assert _export(ws, target).exit_code == 0
    assert "Cite by section." in target.read_text() and _mode(target) == 0o644
