"""glob and grep check each folder's identity against the fences once per call, not once for every path
through it, and still leave out a second name of the workspace wherever it lies in the tree."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import dreamcli.agent.tools.paths as paths
from dreamcli.agent.approvals import Approvals
from dreamcli.agent.tools import ToolEnv, Toolset
from dreamcli.config import Config
from dreamcli.workspace.home import Workspace
from tests.support.mounts import bind_mount
from tests.support.tools import SESSION_ID, call

DEPTH = 12
FILES = 20


pytestmark = pytest.mark.usefixtures("no_user_files")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project with its workspace inside (identity checks on) and FILES files DEPTH folders deep."""
    wd = tmp_path / "proj"
    ws = Workspace(wd / ".dreamcli", "local").ensure_layout()
    (ws.sessions_dir / "old.jsonl").write_text('{"text": "needle of an earlier run"}\n')
    deep = wd.joinpath(*(f"d{i}" for i in range(DEPTH)))
    deep.mkdir(parents=True)
    for n in range(FILES):
        (deep / f"f{n}.txt").write_text(f"needle {n}\n")
    return wd


@pytest.fixture
def tools(project: Path) -> Iterator[Toolset]:
    env = ToolEnv(ws=Workspace(project / ".dreamcli", "local"), config=Config(), workdir=project,
                  session_id=SESSION_ID, approvals=Approvals())
    ts = Toolset(("glob", "grep"), env)
    yield ts
    ts.close()


@pytest.fixture
def stats(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths whose identity (device, inode) the fence check stat'ed."""
    seen: list[str] = []
    ident = paths._ident

    def counted(path: str | Path) -> tuple[int, int] | None:
        seen.append(str(path))
        return ident(path)

    monkeypatch.setattr(paths, "_ident", counted)
    return seen


@pytest.mark.parametrize(("name", "input", "found"), [
    ("grep", {"pattern": "needle"}, FILES),
    ("grep", {"pattern": "needle", "path": "d0"}, FILES),
    ("glob", {"pattern": "**/*"}, FILES + DEPTH),
    ("glob", {"pattern": "**/*.txt", "path": "d0"}, FILES),
])
def test_each_folder_is_stated_once_a_call(tools: Toolset, stats: list[str], name: str, input: dict[str, str],
                                           found: int) -> None:
    result = call(tools, name, **input)
    assert not result.is_error, result.content
    assert len(result.content.splitlines()) == found and "earlier run" not in result.content
    assert len(stats) == len(set(stats)), sorted(p for p in set(stats) if stats.count(p) > 1)[:3]
    assert len(stats) <= DEPTH + FILES + 1  # each folder, each file, the search path


@pytest.mark.parametrize("where", ["d0/d1/d2/mnt", f"{'/'.join(f'd{i}' for i in range(DEPTH))}/mnt"])
def test_a_deep_bind_mount_of_the_workspace_is_left_out_after_folders_were_seen(
        tools: Toolset, project: Path, where: str) -> None:
    (project / where).parent.mkdir(parents=True, exist_ok=True)
    with bind_mount(project / ".dreamcli", project / where):
        for input in ({"pattern": "needle"}, {"pattern": "needle", "path": "d0"}):
            grep = call(tools, "grep", **input).content
            assert grep.count("needle") == FILES and "earlier run" not in grep, grep
        for input in ({"pattern": "**/*"}, {"pattern": "**/*", "path": "d0"}):
            glob = call(tools, "glob", **input).content.splitlines()
            assert len(glob) > FILES and not [p for p in glob if "mnt" in p or ".jsonl" in p], glob
        for pattern, path in (("**/*.jsonl", "d0"), (f"{where}/**/*", None)):
            own = call(tools, "glob", pattern=pattern, path=path)
            assert own.is_error and own.error_kind == "outside_root" and "dreamcli's own" in own.content, own.content
