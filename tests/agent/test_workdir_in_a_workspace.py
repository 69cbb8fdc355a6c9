"""No run starts with its working directory in a dreamcli workspace, whatever tools it has: not in this run's
workspace by any name (a bind mount of a folder of it too), nor in another workspace (a project's
`.dreamcli/`, or any folder a dreamcli command has opened as its workspace). A project folder that merely
looks like one (a `config.yaml`, a `sessions/` folder) still runs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.agent.approvals import Approvals
from dreamcli.agent.tools import ToolEnv, Toolset
from dreamcli.agent.tools.paths import OwnFiles
from dreamcli.cli.app import app
from dreamcli.config import Config
from dreamcli.testing import FakeAnthropic
from dreamcli.workspace.home import Workspace
from tests.support.mounts import bind_mount, tmpfs
from tests.support.run import cli_env, run_cli, session_files
from tests.support.tools import SESSION_ID, call

pytestmark = pytest.mark.usefixtures("no_user_files")

FILE_TOOLS = ("read", "write", "edit", "glob", "grep")


def toolset(ws: Workspace, wd: Path, names: tuple[str, ...] = FILE_TOOLS) -> Toolset:
    env = ToolEnv(ws=ws, config=Config(), workdir=wd, session_id=SESSION_ID, approvals=Approvals(yes=True))
    return Toolset(names, env)


def refusal(ws: Workspace, wd: Path, names: tuple[str, ...] = FILE_TOOLS) -> str:
    with pytest.raises(OwnFiles) as e:
        toolset(ws, wd, names)
    message = str(e.value)
    assert "\n" not in message and "dreamcli" in message and "workspace" in message, message
    return message


@pytest.fixture
def other(tmp_path: Path) -> Workspace:
    """Another workspace: `dreamcli init` in a project (`proj/.dreamcli`), not the run's."""
    other = Workspace(tmp_path / "proj" / ".dreamcli", "local").ensure_layout()
    (other.playbooks_dir / "default.md").write_text("# default\n")
    (other.memory_store() / "memories").mkdir(parents=True)
    return other


@pytest.mark.parametrize("where", ["", "playbooks", "state", "memory/default/memories"])
def test_a_workdir_in_another_projects_workspace_is_refused(ws: Workspace, other: Workspace, where: str) -> None:
    wd = other.root / where if where else other.root
    message = refusal(ws, wd)
    assert str(other.root) in message and "another" in message, message
    assert (other.playbooks_dir / "default.md").read_text() == "# default\n"


def test_a_folder_a_dreamcli_command_opened_as_its_workspace_is_one(ws: Workspace, tmp_path: Path) -> None:
    """Any name: `state/live/.swept/` is what the first command in a workspace leaves there (`init` too)."""
    named = Workspace(tmp_path / "team-ws", "option")
    assert CliRunner().invoke(app, ["--home", str(named.root), "init"]).exit_code == 0
    message = refusal(ws, named.playbooks_dir)
    assert str(named.root) in message, message


@pytest.mark.parametrize("wd", ["infra", "infra/modules", "srv/app"])
def test_a_project_with_a_state_live_folder_of_its_own_still_runs(ws: Workspace, tmp_path: Path, wd: str) -> None:
    """`state/live/` alone is no workspace: an infrastructure repository may hold one (review of 723e424)."""
    for project in ("infra", "srv"):
        (tmp_path / project / "state" / "live").mkdir(parents=True)
    (tmp_path / "infra" / "modules").mkdir()
    (tmp_path / "srv" / "app").mkdir()
    ts = toolset(ws, tmp_path / wd)
    try:
        assert not call(ts, "write", file_path="notes.md", content="x").is_error
    finally:
        ts.close()


def test_a_folder_above_that_cannot_be_looked_into_is_not_a_workspace(ws: Workspace, tmp_path: Path) -> None:
    """A folder whose `state/` this user cannot read (someone's home named `state`) is no workspace, and no
    internal error either (review of 723e424: PermissionError from `Path.is_dir`)."""
    srv = tmp_path / "srv"
    (srv / "state" / "live").mkdir(parents=True)
    (srv / "app").mkdir()
    real_isdir = os.path.isdir

    def isdir(path: Any) -> bool:
        if str(path).startswith(str(srv / "state")):
            return False  # as os.path.isdir answers for EACCES
        return real_isdir(path)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os.path, "isdir", isdir)
        ts = toolset(ws, srv / "app")
    ts.close()


def test_a_refusal_is_one_line_whatever_the_folder_is_called(ws: Workspace, tmp_path: Path) -> None:
    other = Workspace(tmp_path / "we\nird" / ".dreamcli", "local").ensure_layout()
    message = refusal(ws, other.playbooks_dir)
    assert "\n" not in message and "we\\nird" in message, message


def test_a_project_that_looks_like_a_workspace_still_runs(ws: Workspace, tmp_path: Path) -> None:
    """A repository with its own config.yaml, sessions/, state/ and playbooks/ is no workspace: the documented
    signs of one (docs/workspace.md) are for a folder named as the home, not for every folder above a workdir."""
    proj = tmp_path / "webapp"
    for sub in ("sessions", "state", "playbooks/.history", "src"):
        (proj / sub).mkdir(parents=True)
    (proj / "config.yaml").write_text("debug: true\n")
    (proj / "audit.jsonl").write_text("{}\n")
    for wd in (proj, proj / "src", proj / "state"):
        ts = toolset(ws, wd)
        try:
            assert not call(ts, "write", file_path="notes.md", content="x").is_error
        finally:
            ts.close()


def test_a_copy_under_another_workspaces_workdirs_is_refused_too(ws: Workspace, other: Workspace) -> None:
    """Only this run's `workdirs/` holds copies made for it; another's is in a folder a later run loads."""
    copy = other.root / "workdirs" / "task-01"
    copy.mkdir(parents=True)
    refusal(ws, copy)


@pytest.mark.parametrize("sub", ["playbooks", "state", "memory/default", "sessions"])
def test_a_folder_of_the_workspace_mounted_elsewhere_is_refused(ws: Workspace, tmp_path: Path, sub: str) -> None:
    folder = ws.root / sub
    (folder / "inner").mkdir(parents=True, exist_ok=True)
    (ws.playbooks_dir / "default.md").write_text("# default\n")
    with bind_mount(folder, tmp_path / "mnt") as mnt:
        for wd, real in ((mnt, folder), (mnt / "inner", folder / "inner")):
            message = refusal(ws, wd)
            assert f"{wd} is inside dreamcli's own workspace {ws.root} (it is {real}, by another name)" in message
    assert (ws.playbooks_dir / "default.md").read_text() == "# default\n"


def test_a_folder_of_a_disk_mounted_in_the_workspace_and_mounted_again_elsewhere_is_refused(
        ws: Workspace, tmp_path: Path) -> None:
    """sessions/ on a disk of its own (a tmpfs here), a folder of it bound under a name with a space."""
    with tmpfs(ws.root / "sessions" / "2026", "size=1m") as disk:
        (disk / "12").mkdir()
        with bind_mount(disk / "12", tmp_path / "old runs") as mnt:
            message = refusal(ws, mnt)
    assert f"(it is {ws.root / 'sessions' / '2026' / '12'}, by another name)" in message, message


def test_a_bind_mount_of_another_projects_workspace_folder_is_refused(ws: Workspace, other: Workspace,
                                                                      tmp_path: Path) -> None:
    with bind_mount(other.playbooks_dir, tmp_path / "mnt") as mnt:
        message = refusal(ws, mnt)
    assert f"is inside another dreamcli workspace, {other.root} (by another name" in message, message


def test_a_bind_mount_of_a_folder_of_a_workspace_of_any_name_is_refused(ws: Workspace, tmp_path: Path) -> None:
    """Not called `.dreamcli`: known by the stamp its first command left, looked for above the mounted folder in
    its file system."""
    named = Workspace(tmp_path / "team-ws", "option")
    assert CliRunner().invoke(app, ["--home", str(named.root), "init"]).exit_code == 0
    (named.playbooks_dir / "team").mkdir(parents=True)
    with bind_mount(named.playbooks_dir / "team", tmp_path / "mnt") as mnt:
        message = refusal(ws, mnt)
    assert f"is inside another dreamcli workspace, {named.root} (by another name" in message, message


@pytest.mark.parametrize("name", ["team-ws", "proj/.dreamcli"])
def test_a_bind_mount_of_a_folder_of_a_disk_mounted_in_another_workspace_is_refused(ws: Workspace, tmp_path: Path,
                                                                                   name: str) -> None:
    """The folder's file system is mounted inside the workspace: the walk goes on above its mount point."""
    other = Workspace(tmp_path / name, "option")
    assert CliRunner().invoke(app, ["--home", str(other.root), "init"]).exit_code == 0
    with tmpfs(other.root / "extra", "size=1m") as disk:
        (disk / "2026").mkdir()
        with bind_mount(disk / "2026", tmp_path / "mnt") as mnt:
            message = refusal(ws, mnt)
    assert f"is inside another dreamcli workspace, {other.root} (by another name" in message, message


@pytest.mark.parametrize("first", ["elsewhere", "in the workspace"])
def test_a_disk_mounted_elsewhere_and_bound_whole_into_another_workspace_is_refused_in_either_order(
        ws: Workspace, tmp_path: Path, first: str) -> None:
    """A tmpfs at `d` and the same tmpfs bound at `team-ws/extra`: `d/proj` is `team-ws/extra/proj`, whichever was
    mounted first (review of 83a1c8a: only the first mount listed that showed a folder was followed)."""
    other = Workspace(tmp_path / "team-ws", "option")
    assert CliRunner().invoke(app, ["--home", str(other.root), "init"]).exit_code == 0
    d, extra = tmp_path / "d", other.root / "extra"
    disk_at, bound_at = (d, extra) if first == "elsewhere" else (extra, d)
    with tmpfs(disk_at, "size=1m") as disk, bind_mount(disk, bound_at):
        (d / "proj").mkdir()
        assert (extra / "proj").is_dir()
        message = refusal(ws, d / "proj")
    assert f"{d / 'proj'} is inside another dreamcli workspace, {other.root} (by another name" in message, message


def test_a_folder_of_a_workspace_mounted_inside_the_workdir_is_refused(ws: Workspace, other: Workspace,
                                                                       tmp_path: Path) -> None:
    """The tools would reach it below the root: the run's own workspace, or another, bound into the project."""
    wd = tmp_path / "project"
    (wd / "src").mkdir(parents=True)
    with bind_mount(ws.playbooks_dir, wd / "pb") as mnt:
        message = refusal(ws, wd)
    assert message.startswith(f"working directory {wd} holds {mnt}, which is inside dreamcli's own workspace "
                              f"{ws.root} (it is {ws.playbooks_dir}, by another name)"), message
    with bind_mount(other.playbooks_dir, wd / "theirs") as mnt:
        message = refusal(ws, wd)
    assert message.startswith(f"working directory {wd} holds {mnt}, which is inside another dreamcli workspace, "
                              f"{other.root}"), message


def test_a_disk_mounted_inside_the_runs_own_home_in_the_workdir_still_runs(tmp_path: Path) -> None:
    """`dreamcli init .` in a devcontainer whose `.dreamcli/…` is a volume: the home lies in the workdir by its
    path, and the file tools fence it so, mounts inside it too."""
    home = Workspace(tmp_path / "proj" / ".dreamcli", "local").ensure_layout()
    with tmpfs(home.root / "volume", "size=1m"):
        ts = toolset(home, home.root.parent)
        try:
            assert call(ts, "write", file_path=".dreamcli/volume/x.md", content="x").is_error
            assert not call(ts, "write", file_path="notes.md", content="x").is_error
        finally:
            ts.close()


def test_a_disk_mounted_inside_the_workdir_is_the_tasks_own(ws: Workspace, tmp_path: Path) -> None:
    wd = tmp_path / "project"
    wd.mkdir()
    with tmpfs(wd / "scratch", "size=1m") as disk:
        ts = toolset(ws, wd)
        try:
            assert not call(ts, "write", file_path="scratch/out.md", content="x").is_error
        finally:
            ts.close()
        assert (disk / "out.md").read_text() == "x"


def test_a_copy_under_workdirs_mounted_elsewhere_is_the_tasks_own(ws: Workspace, tmp_path: Path) -> None:
    copy = ws.root / "workdirs" / "task-01"
    copy.mkdir(parents=True)
    with bind_mount(copy, tmp_path / "mnt") as mnt:
        ts = toolset(ws, mnt)
        try:
            assert not call(ts, "write", file_path="out.md", content="x").is_error
        finally:
            ts.close()
    assert (copy / "out.md").read_text() == "x"


@pytest.mark.parametrize("names", [("bash",), ("memory",), ()])
def test_the_refusal_does_not_depend_on_the_tools(ws: Workspace, other: Workspace, names: tuple[str, ...]) -> None:
    assert f"{ws.root} is dreamcli's own workspace {ws.root}, " in refusal(ws, ws.root, names)
    assert f"{ws.playbooks_dir} is inside dreamcli's own workspace {ws.root}, " in refusal(ws, ws.playbooks_dir, names)
    assert f"{other.root} is another dreamcli workspace, " in refusal(ws, other.root, names)
    assert (f"{other.playbooks_dir} is inside another dreamcli workspace, {other.root}, "
            in refusal(ws, other.playbooks_dir, names))


@pytest.mark.parametrize("tools", ["[bash]", "[]"])
def test_dreamcli_run_with_bash_only_refuses_it_in_one_line(fake_anthropic: FakeAnthropic, ws: Workspace,
                                                             tmp_path: Path, tools: str) -> None:
    task = tmp_path / "task.yaml"
    task.write_text(f"name: tidy\nprompt: tidy up\nworkdir: {ws.playbooks_dir}\ntools: {tools}\n")
    env = cli_env(fake_anthropic.url, ws.root, DREAMCLI_CONFIG=str(tmp_path / "user" / "config.yaml"),
                  DREAMCLI_TRUST_FILE=str(tmp_path / "user" / "trusted.json"))
    p = run_cli(["run", str(task), "--yes"], env=env)
    assert p.returncode == 2, (p.stdout, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "dreamcli's own workspace" in lines[0] and str(ws.playbooks_dir) in lines[0], p.stderr
    assert fake_anthropic.requests == [] and session_files(ws.root) == []


def test_dreamcli_run_in_another_workspace_refuses_it_in_one_line(fake_anthropic: FakeAnthropic, ws: Workspace,
                                                                 other: Workspace, tmp_path: Path) -> None:
    env = cli_env(fake_anthropic.url, ws.root, DREAMCLI_CONFIG=str(tmp_path / "user" / "config.yaml"),
                  DREAMCLI_TRUST_FILE=str(tmp_path / "user" / "trusted.json"))
    p = run_cli(["run", "-p", "tidy up", "--workdir", str(other.playbooks_dir), "--yes"], env=env)
    assert p.returncode == 2, (p.stdout, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and str(other.root) in lines[0] and str(other.playbooks_dir) in lines[0], p.stderr
    assert fake_anthropic.requests == [] and session_files(ws.root) == [] and session_files(other.root) == []
