"""`dreamcli playbooks edit --editor`: the reviewer's $EDITOR changes the pending text (audited)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from dreamcli.playbooks.proposals import load_dream
from dreamcli.workspace.home import Workspace
from tests.support.playbooks import cli, op, write_dream, write_playbook

DREAM = "01JD3Z0000000000000000DRM2"


def _editor(tmp_path: Path, script: str) -> str:
    path = tmp_path / "fake-editor.sh"
    path.write_text("#!/bin/sh\n" + script + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


@pytest.fixture
def interactive_review(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """legal v1 and DREAM with one pending entry, reviewed "on a terminal", with no $VISUAL set."""
    write_playbook(ws, "legal", [("pb-aaaaaa01", "Tools", "Use pandoc for docx.")], version=1)
    write_dream(ws, DREAM, "legal", [op("pb-new00001", text="Convert .docx with pandoc first.", section="Tools")])
    monkeypatch.setattr("dreamcli.cli.playbooks_review._interactive", lambda: True)
    monkeypatch.delenv("VISUAL", raising=False)


def test_the_editor_changes_the_pending_text(
    ws, interactive_review, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EDITOR", _editor(tmp_path, "sed -i 's/first/before reading it/' \"$1\""))
    r = cli(ws, "playbooks", "edit", DREAM, "pb-new00001", "--editor")
    assert r.exit_code == 0, r.output
    dream = load_dream(ws, DREAM)
    assert dream.text_for(dream.proposal.operations[0]) == "Convert .docx with pandoc before reading it."


def test_an_unchanged_text_or_a_failing_editor_changes_nothing(ws, interactive_review, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDITOR", _editor(tmp_path, "true"))
    r = cli(ws, "playbooks", "edit", DREAM, "pb-new00001", "--editor")
    assert r.exit_code == 0 and "no change" in r.stderr
    monkeypatch.setenv("EDITOR", _editor(tmp_path, "exit 3"))
    r = cli(ws, "playbooks", "edit", DREAM, "pb-new00001", "--editor")
    assert r.exit_code == 2 and "exited with status 3" in r.stderr
    monkeypatch.setenv("EDITOR", os.path.join(str(tmp_path), "no-such-editor"))
    r = cli(ws, "playbooks", "edit", DREAM, "pb-new00001", "--editor")
    assert r.exit_code == 2 and "cannot start the editor" in r.stderr
    dream = load_dream(ws, DREAM)
    assert dream.text_for(dream.proposal.operations[0]) == "Convert .docx with pandoc first."
