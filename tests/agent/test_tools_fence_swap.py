"""A folder swapped for another name of the workspace (a bind mount that already exists, moved into place
by a rename while a tool call runs) is refused when it is opened: the identity check is made on the folders
actually opened, not on what a path named when it was first checked (grep's per-call cache, or `read`'s own
check a moment before the open), and glob lists only folders it opened and checked so."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import dreamcli.agent.tools.file_ops as file_ops
from dreamcli.agent.approvals import Approvals
from dreamcli.agent.tools import ToolEnv, Toolset
from dreamcli.config import Config
from dreamcli.workspace.home import Workspace
from tests.support.tools import SESSION_ID, call

SECRET = "NEEDLE secret line of the workspace's audit trail"


pytestmark = pytest.mark.usefixtures("no_user_files")


@pytest.fixture
def secret(ws: Workspace) -> Path:
    """The workspace's audit trail, holding SECRET."""
    (ws.root / "audit.jsonl").write_text(SECRET + "\n")
    return ws.root / "audit.jsonl"


@pytest.fixture
def workdir(tmp_path: Path, ws: Workspace, secret: Path) -> Iterator[Path]:
    """W/a/x/{aaa.txt, audit.jsonl} (ordinary files) and W/b/x, a bind mount of the workspace home
    (root only: skipped where mounting is not permitted)."""
    if os.geteuid() != 0:
        pytest.skip("bind mounts need root")
    wd = tmp_path / "proj"
    (wd / "a" / "x").mkdir(parents=True)
    (wd / "a" / "x" / "aaa.txt").write_text("NEEDLE innocent 1\n")
    (wd / "a" / "x" / "audit.jsonl").write_text("NEEDLE innocent 2\n")
    (wd / "b" / "x").mkdir(parents=True)
    try:
        done = subprocess.run(["mount", "--bind", str(ws.root), str(wd / "b" / "x")], capture_output=True)
    except OSError:
        pytest.skip("no mount command")
    if done.returncode != 0:
        pytest.skip("bind mounts not permitted here")
    try:
        yield wd
    finally:
        for mnt in (wd / "a" / "x", wd / "b" / "x", wd / "c" / "x"):
            subprocess.run(["umount", str(mnt)], capture_output=True)


@pytest.fixture
def tools(ws: Workspace, workdir: Path) -> Iterator[Toolset]:
    env = ToolEnv(ws=ws, config=Config(), workdir=workdir, session_id=SESSION_ID, approvals=Approvals(yes=True))
    ts = Toolset(("read", "write", "edit", "glob", "grep"), env)
    yield ts
    ts.close()


def swap(wd: Path) -> None:
    """The other actor's move: a/ away, and b/ (holding the mount at x) in its place."""
    os.rename(wd / "a", wd / "c")
    os.rename(wd / "b", wd / "a")


def swapping_after(fn: Callable[..., Any], wd: Path, calls: int = 1) -> Callable[..., Any]:
    """`fn`, which swaps the folders once it has returned `calls` times."""
    done = [0]

    def hooked(*args: Any, **kwargs: Any) -> Any:
        out = fn(*args, **kwargs)
        done[0] += 1
        if done[0] == calls:
            swap(wd)
        return out

    return hooked


def test_the_mount_is_refused_before_any_swap(tools: Toolset) -> None:
    got = call(tools, "read", file_path="b/x/audit.jsonl")
    assert got.is_error and got.error_kind == "outside_root" and "by another name" in got.content, got.content


def test_grep_does_not_read_a_mount_swapped_in_after_its_folder_was_checked(
        tools: Toolset, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(file_ops, "_grep_text", swapping_after(file_ops._grep_text, workdir))
    got = call(tools, "grep", pattern="NEEDLE")
    assert not got.is_error and (workdir / "a" / "x" / "audit.jsonl").read_text() == SECRET + "\n"
    assert got.content == "a/x/aaa.txt:1:NEEDLE innocent 1", got.content


@pytest.mark.parametrize("name", ["read", "write", "edit", "grep"])
def test_a_mount_swapped_in_between_the_check_and_the_open_is_refused(
        tools: Toolset, ws: Workspace, workdir: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setattr(file_ops, "resolve", swapping_after(file_ops.resolve, workdir))
    input = {"read": {"file_path": "a/x/audit.jsonl"},
             "write": {"file_path": "a/x/audit.jsonl", "content": "overwritten\n"},
             "edit": {"file_path": "a/x/audit.jsonl", "old_string": "NEEDLE", "new_string": "gone"},
             "grep": {"pattern": "NEEDLE", "path": "a/x/audit.jsonl"}}[name]
    got = call(tools, name, **input)
    assert got.is_error and got.error_kind == "outside_root", got.content
    assert "dreamcli's own workspace" in got.content and "secret" not in got.content, got.content
    assert (ws.root / "audit.jsonl").read_text() == SECRET + "\n"


@pytest.mark.parametrize("input", [{"pattern": "*", "path": "a/x"}, {"pattern": "x/*", "path": "a"},
                                   {"pattern": "**/*", "path": "a"}])
def test_glob_lists_no_name_of_a_mount_swapped_in_after_its_folder_was_checked(
        tools: Toolset, workdir: Path, monkeypatch: pytest.MonkeyPatch, input: dict[str, str]) -> None:
    monkeypatch.setattr(file_ops, "resolve", swapping_after(file_ops.resolve, workdir))
    got = call(tools, "glob", **input)
    listed = {Path(line).name for line in got.content.splitlines()} if not got.is_error else set()
    assert not listed & {"config.yaml", "sessions", "playbooks", "state", "dreams"}, got.content
    assert got.error_kind in (None, "outside_root") and "secret" not in got.content, got.content
