"""Issue 20: `export --format claude-md|agents-md --into FILE` keeps the user's text and replaces only
dreamcli's marked block, idempotently."""

from __future__ import annotations

import os
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


MARKERS = "<!-- dreamcli:end -->"


@pytest.mark.parametrize("where", ["entry", "description", "entry-first-line", "section"])
def test_marker_lines_inside_the_playbook_do_not_end_the_block(ws: Workspace, tmp_path: Path, where: str) -> None:
    text = {"entry": f"Close HTML comments properly, e.g.\n{MARKERS}\nand so on.",
            "entry-first-line": f"{MARKERS}\n<!-- dreamcli:begin x -->"}.get(where, "A plain lesson.")
    section = MARKERS if where == "section" else "Things"
    written = write_playbook(ws, "odd", [("pb-aaaaaa01", section, text)])
    if where == "description":
        written = written.replace("description: odd playbook", "description: |\n  first\n  <!-- dreamcli:end -->\n"
                                  "  <!-- dreamcli:begin -->")
        (ws.playbooks_dir / "odd.md").write_text(written)
    target = tmp_path / "CLAUDE.md"
    target.write_text(USER_TEXT)
    first = _export(ws, target)
    assert first.exit_code == 0, first.output
    once = target.read_text()
    lines = once.splitlines()
    assert [i for i, ln in enumerate(lines) if ln.startswith("<!-- dreamcli:begin")] == [4]
    assert [ln for ln in lines if ln.strip() == MARKERS] == [MARKERS] and lines[-1] == MARKERS
    again = _export(ws, target)  # the block written reads back: the second export finds one block
    assert again.exit_code == 0, again.output
    assert target.read_text() == once and "already up to date" in again.stderr


def test_only_markers_as_written_count() -> None:
    block = "<!-- dreamcli:begin x -->\nnew\n<!-- dreamcli:end -->"
    existing = "mine\n\n<!-- dreamcli:begin x -->\nold\n  <!-- dreamcli:end -->\nold\n<!-- dreamcli:end -->\ntail\n"
    assert splice(existing, block) == "mine\n\n" + block + "\ntail\n"


@pytest.mark.timeout(30)
def test_into_a_fifo_is_refused_and_a_symlink_is_written_through(ws: Workspace, tmp_path: Path) -> None:
    write_playbook(ws, "legal", [("pb-aaaaaa01", "Tools", "Use pandoc for docx.")])
    fifo = tmp_path / "fifo.md"
    os.mkfifo(fifo)
    r = _export(ws, fifo)  # reading it would wait for a writer forever
    assert r.exit_code == 2 and "not a regular file" in r.stderr and fifo.is_fifo()
    real = tmp_path / "AGENTS.md"
    real.write_text(USER_TEXT)
    link = tmp_path / "CLAUDE.md"
    link.symlink_to("AGENTS.md")  # a common set-up: one file for both tools
    r = _export(ws, link)
    assert r.exit_code == 0, r.output
    assert link.is_symlink() and real.read_text().startswith(USER_TEXT) and "Use pandoc" in real.read_text()
