"""A playbook with no entries (every entry reverted) gets no heading in the CLAUDE.md / AGENTS.md exports:
an empty `### default` told the agent nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from dreamcli.workspace.home import Workspace
from tests.support.playbooks import cli, write_playbook


@pytest.mark.parametrize("fmt", ["claude-md", "agents-md"])
def test_an_empty_playbook_has_no_heading(ws: Workspace, tmp_path: Path, fmt: str) -> None:
    write_playbook(ws, "default", [], version=3)
    write_playbook(ws, "legal", [("pb-aaaa0001", "Citing", "Cite contracts by section.")])
    r = cli(ws, "export", "-f", fmt, "-o", "-")
    assert r.exit_code == 0, r.output
    assert "# legal" in r.stdout and "- Cite contracts by section." in r.stdout
    assert "# default" not in r.stdout
    into = tmp_path / "CLAUDE.md"
    into.write_text("# My project\n\nMy own notes.\n")
    r = cli(ws, "export", "-f", fmt, "--into", str(into), "--playbook", "default")
    assert r.exit_code == 0, r.output
    text = into.read_text()
    assert "My own notes." in text and "# default" not in text
