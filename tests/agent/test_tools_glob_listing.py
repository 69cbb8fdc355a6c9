"""glob lists from folders it opened and checked by descriptor, with pathlib's patterns: the same names as
`Path.glob` on an ordinary tree, newest first, dreamcli's own folders left out, and "no matches" (not a
refusal) when a pattern that enters them finds nothing there either."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import dreamcli.agent.tools.file_ops as file_ops
from dreamcli.agent.approvals import Approvals
from dreamcli.agent.tools import ToolEnv, Toolset
from dreamcli.config import Config
from dreamcli.workspace.home import Workspace
from tests.support.tools import SESSION_ID, call

pytestmark = pytest.mark.usefixtures("no_user_files")

FILES = ["a/b/x.txt", "a/b/y.py", "a/c/x.txt", "a/.hid/z.txt", ".top.txt", "b.txt", "ab.txt", "c/d/e/f.txt",
         "[x].txt", "empty/.keep"]
PATTERNS = ["*", "**", "**/*", "**/*.txt", "*/", "**/", "a/**", "a/*/x.txt", "[ab]*", "?.txt", "**/.*", "a",
            "a/b", "nope/*", "**/**/*.txt", "*/*", "a/**/", "c/**/f.txt", "[[]x].txt", "*.xyz"]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    wd = tmp_path / "proj"
    for rel in FILES:
        (wd / rel).parent.mkdir(parents=True, exist_ok=True)
        (wd / rel).write_text(rel)
    (wd / "emptydir").mkdir()
    return wd


def tools_in(wd: Path, ws: Workspace) -> Iterator[Toolset]:
    ts = Toolset(("glob",), ToolEnv(ws=ws, config=Config(), workdir=wd, session_id=SESSION_ID,
                                    approvals=Approvals()))
    yield ts
    ts.close()


@pytest.fixture
def tools(project: Path, ws: Workspace) -> Iterator[Toolset]:
    yield from tools_in(project, ws)


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("path", [None, "a"])
def test_the_names_are_pathlibs(tools: Toolset, project: Path, monkeypatch: pytest.MonkeyPatch, pattern: str,
                                path: str | None) -> None:
    monkeypatch.setattr(file_ops, "GLOB_RESULTS", 1000)
    start = project / path if path else project
    want = sorted(p.relative_to(project).as_posix() for p in start.glob(pattern))
    got = call(tools, "glob", pattern=pattern, **({"path": path} if path else {}))
    assert not got.is_error, got.content
    assert sorted(got.content.splitlines()) == (want or ["no matches"])


def test_newest_first(tools: Toolset, project: Path) -> None:
    for n, rel in enumerate(("b.txt", "ab.txt", ".top.txt")):
        os.utime(project / rel, (1_000_000 + n, 1_000_000 + n))
    assert call(tools, "glob", pattern="*.txt").content.splitlines()[-3:] == [".top.txt", "ab.txt", "b.txt"]


def test_an_invalid_pattern_is_the_models_error(tools: Toolset) -> None:
    got = call(tools, "glob", pattern="a**/x")
    assert got.is_error and got.error_kind == "invalid_input" and "'**'" in got.content, got.content


@pytest.fixture
def inner(project: Path) -> Iterator[Toolset]:
    """The project's own workspace inside it (`dreamcli init` there), with a playbook."""
    ws = Workspace(project / ".dreamcli", "local").ensure_layout()
    (ws.playbooks_dir / "default.md").write_text("# default\n")
    yield from tools_in(project, ws)


@pytest.mark.parametrize(("pattern", "path"), [("**/*.xyz", None), ("*.xyz", None), ("**/*.md", "a")])
def test_nothing_anywhere_is_no_matches(inner: Toolset, pattern: str, path: str | None) -> None:
    got = call(inner, "glob", pattern=pattern, **({"path": path} if path else {}))
    assert not got.is_error and got.content == "no matches", got.content


@pytest.mark.parametrize("pattern", ["**/*.md", ".dreamcli/**/*", ".dreamcli", "*/playbooks/*", ".d*"])
def test_all_of_it_in_the_workspace_is_said_so(inner: Toolset, pattern: str) -> None:
    got = call(inner, "glob", pattern=pattern)
    assert got.is_error and got.error_kind == "outside_root", got.content
    assert f"all that {pattern} matches is in dreamcli's own workspace (.dreamcli)" in got.content, got.content


def test_the_workspace_is_left_out_of_a_listing_that_finds_more(inner: Toolset) -> None:
    listed = call(inner, "glob", pattern="**/*").content.splitlines()
    assert "a/b/x.txt" in listed and not [p for p in listed if ".dreamcli" in p], listed


def test_the_listing_stops_at_its_cap(tools: Toolset, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(file_ops, "WALK_MAX_ENTRIES", 3)
    assert len(call(tools, "glob", pattern="**/**/*").content.splitlines()) == 3
