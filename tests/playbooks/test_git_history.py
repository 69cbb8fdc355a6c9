"""Git-backed playbook history (opt-in): one commit per approve, reject, edit, revert and import, naming
the dream, the entries and the reviewer; history and revert work the same."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.workspace.home import Workspace
from tests.support.playbooks import cli, op, write_dream

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
DREAM = "01JD3Z0000GITHISTORY000001"


def _git(ws: Workspace, *args: str) -> str:
    return subprocess.run(["git", "-C", str(ws.playbooks_dir), *args], capture_output=True, text=True,
                          check=True).stdout


def _subjects(ws: Workspace) -> list[str]:
    return _git(ws, "log", "--format=%s").splitlines()


def _review(ws: Workspace) -> None:
    write_dream(ws, DREAM, "legal", [op("pb-aaaa0001"), op("pb-aaaa0002", text="Another lesson."),
                                     op("pb-aaaa0003", text="Third lesson.")], base_version=0)
    assert cli(ws, "playbooks", "approve", DREAM, "-e", "pb-aaaa0001", "--yes", "--reviewer", "Ana").exit_code == 0
    assert cli(ws, "playbooks", "edit", DREAM, "pb-aaaa0002", "--text", "Edited lesson.").exit_code == 0
    assert cli(ws, "playbooks", "reject", DREAM, "-e", "pb-aaaa0003", "--reason", "wrong", "--yes").exit_code == 0
    assert cli(ws, "playbooks", "approve", DREAM, "-e", "pb-aaaa0002", "--yes").exit_code == 0


def test_init_git_and_one_commit_per_review_step(home: Path) -> None:
    from dreamcli.cli.app import app

    r = CliRunner().invoke(app, ["--home", str(home), "init", "--git", "--json"], env={"DREAMCLI_ACTOR": "tester"})
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["git"] is True
    ws = Workspace(home, "option")
    assert stat.S_IMODE((ws.playbooks_dir / ".git").stat().st_mode) == 0o700
    assert "git: true" in ws.config_path.read_text()
    _review(ws)
    subjects = _subjects(ws)
    assert subjects == ["approve: legal v1 → v2 (1 entry)", "reject: legal (1 entry)", "edit: legal (1 entry)",
                        "approve: legal v0 → v1 (1 entry)", "dreamcli: track playbooks"]
    body = _git(ws, "log", "-1", "--format=%B%n%an")
    assert f"Dream: {DREAM}" in body and "Entries: pb-aaaa0002" in body and "Reviewer: tester" in body
    assert "Audit-Line: 4" in body and "Audit-Hash: sha256:" in body and body.strip().endswith("tester")
    first = _git(ws, "log", "--format=%an", "--reverse").splitlines()[1]
    assert first == "Ana"
    assert "Edited lesson." in _git(ws, "show", "HEAD", "--", "legal.md")
    assert _git(ws, "status", "--porcelain") == ""  # .history/ is dreamcli's own, ignored
    lax = [p for p in ws.playbooks_dir.rglob("*") if p.lstat().st_mode & 0o077 and not p.is_symlink()]
    assert lax == []  # git's files are private too
    r = cli(ws, "playbooks", "revert", "legal", "1", "--yes")
    assert r.exit_code == 0, r.output
    assert _subjects(ws)[0] == "revert: legal v2 → v3 (1 entry)"
    versions = json.loads(cli(ws, "playbooks", "history", "legal", "--json").stdout)["versions"]
    assert [v["version"] for v in versions] == [1, 2, 3] and versions[-1]["action"] == "revert"
    assert cli(ws, "playbooks", "audit", "--verify").exit_code == 0


def test_config_git_true_starts_the_repository_on_first_change(ws: Workspace) -> None:
    ws.config_path.write_text("playbooks:\n  git: true\n")
    write_dream(ws, DREAM, "legal", [op("pb-aaaa0001")], base_version=0)
    assert cli(ws, "playbooks", "approve", DREAM, "--all", "--yes").exit_code == 0
    assert _subjects(ws) == ["approve: legal v0 → v1 (1 entry)", "dreamcli: track playbooks"]


def test_without_git_nothing_changes(ws: Workspace) -> None:
    write_dream(ws, DREAM, "legal", [op("pb-aaaa0001")], base_version=0)
    assert cli(ws, "playbooks", "approve", DREAM, "--all", "--yes").exit_code == 0
    assert not (ws.playbooks_dir / ".git").exists()
    assert cli(ws, "playbooks", "revert", "legal", "1", "--yes").exit_code == 0
