"""A workdir that is the workspace home, another name of it (a bind mount), or a folder inside it is
refused before the run starts: there the file tools' fences could not keep writes out of the workspace.
A copy under the workspace's `workdirs/` (copy_workdir) is the task's own and still runs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from dreamcli.agent.approvals import Approvals
from dreamcli.agent.tools import ToolEnv, Toolset
from dreamcli.agent.tools.paths import OwnFiles
from dreamcli.config import Config
from dreamcli.testing import FakeAnthropic
from dreamcli.workspace.home import Workspace
from tests.support.mounts import bind_mount
from tests.support.run import cli_env, run_cli, session_files
from tests.support.tools import SESSION_ID, call

FILE_TOOLS = ("read", "write", "edit", "glob", "grep")


pytestmark = pytest.mark.usefixtures("no_user_files")


@pytest.fixture
def marker(ws: Workspace) -> Path:
    """A file of the workspace's state/, which no refused run may touch."""
    (ws.state_dir / "marker.txt").write_text("kept\n")
    return ws.state_dir / "marker.txt"


@contextmanager
def workdir_at(ws: Workspace, where: str) -> Iterator[Path]:
    """The workdir named by `where`: `home`, a folder in it, or (`mnt...`) through a bind mount of it."""
    if not where.startswith("mnt"):
        yield ws.root.joinpath(*where.split("/")[1:])
        return
    with bind_mount(ws.root, ws.root.parent / "mnt") as mnt:
        yield mnt.joinpath(*where.split("/")[1:])


def toolset(ws: Workspace, wd: Path) -> Toolset:
    env = ToolEnv(ws=ws, config=Config(), workdir=wd, session_id=SESSION_ID, approvals=Approvals(yes=True))
    return Toolset(FILE_TOOLS, env)


INSIDE = ["home", "home/playbooks", "home/memory/default", "home/workdirs", "mnt", "mnt/playbooks"]


@pytest.mark.parametrize("where", INSIDE)
def test_the_file_tools_refuse_a_workdir_in_the_workspace(ws: Workspace, marker: Path, where: str) -> None:
    ws.ensure_layout()
    (ws.root / "workdirs").mkdir(exist_ok=True)
    (ws.memory_dir / "default").mkdir(parents=True, exist_ok=True)
    with workdir_at(ws, where) as wd, pytest.raises(OwnFiles) as e:
        toolset(ws, wd)
    message = str(e.value)
    assert "\n" not in message and "dreamcli's own workspace" in message and str(ws.root) in message
    assert ("by another name" in message or "another name of it" in message) == where.startswith("mnt")
    assert marker.read_text() == "kept\n"


@pytest.mark.parametrize("where", ["home/workdirs/task-01", "home/workdirs/task-01/sub", "mnt/workdirs/task-01"])
def test_a_copy_under_workdirs_is_the_tasks_own(ws: Workspace, where: str) -> None:
    (ws.root / "workdirs" / "task-01" / "sub").mkdir(parents=True)
    with workdir_at(ws, where) as wd:
        ts = toolset(ws, wd)
        try:
            assert not call(ts, "write", file_path="out.md", content="x").is_error
            assert call(ts, "read", file_path="out.md").content == "x"
        finally:
            ts.close()


def test_a_project_holding_its_workspace_still_runs(tmp_path: Path) -> None:
    """The README's layout: `dreamcli init` in the project, runs from it; only `.dreamcli/` is fenced."""
    wd = tmp_path / "proj"
    ws = Workspace(wd / ".dreamcli", "local").ensure_layout()
    ts = toolset(ws, wd)
    try:
        assert not call(ts, "write", file_path="notes.md", content="x").is_error
        assert call(ts, "write", file_path=".dreamcli/x.md", content="x").error_kind == "outside_root"
    finally:
        ts.close()


@pytest.mark.parametrize("where", ["home", "home/playbooks", "mnt"])
def test_dreamcli_run_refuses_it_in_one_line(fake_anthropic: FakeAnthropic, ws: Workspace, tmp_path: Path,
                                            where: str) -> None:
    env = cli_env(fake_anthropic.url, ws.root, DREAMCLI_CONFIG=str(tmp_path / "user" / "config.yaml"),
                  DREAMCLI_TRUST_FILE=str(tmp_path / "user" / "trusted.json"))
    with workdir_at(ws, where) as wd:
        p = run_cli(["run", "-p", "tidy up", "--workdir", str(wd), "--yes"], env=env)
    assert p.returncode == 2, (p.stdout, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "dreamcli's own workspace" in lines[0] and str(wd) in lines[0], p.stderr
    assert fake_anthropic.requests == [] and session_files(ws.root) == []
