"""`doctor`'s permissions line fails on a workspace folder or file this user cannot write (a 0500
`playbooks/` makes `approve` exit 74), naming it and the `chmod u+w` that fixes it; git's read-only
objects are not counted. Root may write anyway: the owner's write bit decides, and os.access too."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.doctor import check_permissions
from dreamcli.workspace.home import Workspace


@pytest.fixture
def private_ws(ws: Workspace) -> Workspace:
    """The workspace with nothing open to others, so only writability can make the line not OK."""
    for dirpath, _dirs, files in os.walk(ws.root):
        os.chmod(dirpath, 0o700)
        for f in files:
            os.chmod(Path(dirpath) / f, 0o600)
    return ws


def _checked_with(root: Path, folder: Path, mode: int) -> list[Any]:
    """`check_permissions(root)` while `folder` has `mode` (0700 again after)."""
    os.chmod(folder, mode)
    try:
        return check_permissions(root)
    finally:
        os.chmod(folder, 0o700)


def test_a_folder_without_the_owner_write_bit_fails_with_its_chmod(private_ws: Workspace) -> None:
    ws = private_ws
    assert check_permissions(ws.root)[0].status == "ok"
    [c] = _checked_with(ws.root, ws.playbooks_dir, 0o500)
    assert c.status == "fail"
    assert "not writable by this user: playbooks 0500" in c.detail
    assert c.fix == f"chmod u+w {ws.playbooks_dir}"


def test_a_read_only_file_fails_and_the_cli_line_and_exit_say_so(private_ws: Workspace,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    ws = private_ws
    monkeypatch.setattr("dreamcli.doctor.check_tools", lambda names=(): [])
    ws.config_path.write_text("limits:\n  max_turns: 10\n")
    os.chmod(ws.config_path, 0o400)
    r = CliRunner().invoke(app, ["--home", str(ws.root), "doctor", "--json"], catch_exceptions=False)
    perm = next(c for c in json.loads(r.stdout)["checks"] if c["name"] == "permissions")
    assert r.exit_code != 0
    assert (perm["status"], perm["fix"]) == ("fail", f"chmod u+w {ws.config_path}")
    assert "config.yaml 0400" in perm["detail"]


def test_os_access_saying_no_is_enough(private_ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bits say writable but the system does not (another owner, a read-only mount, an ACL)."""
    ws = private_ws
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if Path(p) == ws.grades_dir and mode & os.W_OK
                        else real(p, mode, **kw))
    [c] = check_permissions(ws.root)
    assert c.status == "fail" and "grades 0700" in c.detail and c.fix == f"chmod u+w {ws.grades_dir}"


def test_open_and_unwritable_are_both_on_the_one_line(private_ws: Workspace) -> None:
    ws = private_ws
    [c] = _checked_with(ws.root, ws.sessions_dir, 0o555)
    assert c.status == "fail"
    assert c.detail == "not writable by this user: sessions 0555; open to group/others: sessions 0555"
    assert c.fix == f"chmod u+w {ws.sessions_dir}; chmod 700 {ws.sessions_dir}"


def test_git_objects_are_read_only_by_design(private_ws: Workspace) -> None:
    ws = private_ws
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@x"}
    (ws.playbooks_dir / "p.yaml").write_text("entries: []\n")
    os.chmod(ws.playbooks_dir / "p.yaml", 0o600)
    for cmd in (["init", "-q", "--shared=0600"], ["add", "-A"], ["commit", "-qm", "x"]):
        subprocess.run(["git", "-C", str(ws.playbooks_dir), *cmd], check=True, env=env, umask=0o077)
    objects = [p for p in (ws.playbooks_dir / ".git" / "objects").rglob("*") if p.is_file()]
    assert objects and all(not p.stat().st_mode & 0o200 for p in objects)  # git made them read-only
    [c] = check_permissions(ws.root)
    assert c.status == "ok", c
    assert c.detail.endswith("none open to others, all writable by this user")


def test_a_read_only_file_in_a_copied_workdir_is_the_tasks_own(private_ws: Workspace) -> None:
    """What is inside `workdirs/<task>-<id>/` is the project's and the agent's: a read-only file there (a
    project's generated file, what the agent chmod-ed) is not a fault of the workspace; the copy's folder is."""
    ws = private_ws
    copy = ws.root / "workdirs" / "contract-review-01m97dba19bvmez7gnsh3nhgvd"
    (copy / "src").mkdir(parents=True, mode=0o700)
    for folder in (ws.root / "workdirs", copy):
        os.chmod(folder, 0o700)
    (copy / "src" / "generated.py").write_text("x = 1\n")
    os.chmod(copy / "src" / "generated.py", 0o400)
    assert check_permissions(ws.root)[0].status == "ok"
    [c] = _checked_with(ws.root, copy, 0o500)
    assert c.status == "fail" and "workdirs/contract-review-01m97dba19bvmez7gnsh3nhgvd 0500" in c.detail


def test_a_read_only_file_of_the_users_own_in_an_adopted_folder_is_left_alone(private_ws: Workspace) -> None:
    """`--home DIR init` on a folder of other files keeps them: a read-only `docs/spec.pdf` there is the user's,
    and dreamcli never writes it; a read-only file of dreamcli's own layout still fails."""
    ws = private_ws
    (ws.root / "docs").mkdir(mode=0o700)
    (ws.root / "docs" / "spec.pdf").write_bytes(b"%PDF-1.4\n")
    os.chmod(ws.root / "docs" / "spec.pdf", 0o400)
    assert check_permissions(ws.root)[0].status == "ok"
    ws.config_path.write_text("{}\n")
    os.chmod(ws.config_path, 0o400)
    [c] = check_permissions(ws.root)
    assert c.status == "fail" and "config.yaml 0400" in c.detail and "spec.pdf" not in c.detail
