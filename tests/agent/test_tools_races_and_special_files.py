"""Escapes a reviewer found in the file and memory tools: a symlinked memory root, symlinks swapped
in between the check and the open (write, grep, memory), hard links and FIFOs seen by grep and
write, and a view_range read of a file with one enormous line."""

from __future__ import annotations

import contextlib
import os
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import dreamcli.agent.tools.file_ops as file_ops
from dreamcli.agent.tools import Toolset
from dreamcli.agent.tools.base import ToolResult
from dreamcli.agent.tools.memory_ops import MemoryStore
from tests.support.tools import call, make_tools


@pytest.fixture
def wd(tmp_path: Path) -> Path:
    d = tmp_path / "wd"
    d.mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("TOPSECRET outside\n")
    return d


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    return tmp_path / "outside"


def make(tmp_path: Path, wd: Path) -> Toolset:
    return make_tools(tmp_path, wd, ("read", "write", "edit", "grep", "memory"))


@pytest.fixture
def tools(tmp_path: Path, wd: Path) -> Iterator[Toolset]:
    ts = make(tmp_path, wd)
    yield ts
    ts.close()


# --- 1. a symlinked memory root ---------------------------------------------------------------------
@pytest.mark.parametrize("linked", ["memory/default/memories", "memory/default", "memory"])
def test_a_memory_root_that_is_a_symlink_is_refused(tmp_path: Path, wd: Path, outside: Path, linked: str) -> None:
    home = tmp_path / "home"
    victim = tmp_path / "victim"
    (victim / "default" / "memories").mkdir(parents=True)
    keys = victim / "authorized_keys"
    keys.write_text("ssh-ed25519 AAAA legit@host\n")
    for d in (victim / "default" / "memories", victim / "default"):
        (d / "authorized_keys").write_text("ssh-ed25519 AAAA legit@host\n")
    link = home / linked
    link.parent.mkdir(parents=True, exist_ok=True)
    target = {"memory/default/memories": victim, "memory/default": victim, "memory": victim}[linked]
    os.symlink(target, link)
    before = {p: p.read_text() for p in victim.rglob("authorized_keys")}
    ts = make(tmp_path, wd)
    try:
        listing = call(ts, "memory", command="view", path="/memories")
        assert listing.is_error and "symlink" in listing.content and listing.error_kind == "outside_root"
        assert "authorized_keys" not in listing.content
        read = call(ts, "memory", command="view", path="/memories/authorized_keys")
        assert read.is_error and "legit" not in read.content
        wrote = call(ts, "memory", command="insert", path="/memories/authorized_keys", insert_line=1,
                     insert_text="ssh-ed25519 AAAAATTACKER evil@host")
        assert wrote.is_error
        made = call(ts, "memory", command="create", path="/memories/new.md", file_text="x")
        assert made.is_error
    finally:
        ts.close()
    assert {p: p.read_text() for p in victim.rglob("authorized_keys")} == before
    assert not list(victim.rglob("new.md"))


# --- 2. symlinks swapped in after the check ---------------------------------------------------------
def _swap_after_the_check(wd: Path, outside: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`wd/real` becomes a symlink to `outside` right after the tools' path check has passed."""
    original = file_ops.resolve

    def resolve_then_swap(root: Path, path: str, op: str, *fences: Any) -> Path:
        target = original(root, path, op, *fences)
        os.rename(wd / "real", wd / ".bak")
        os.symlink(outside, wd / "real")
        return target

    monkeypatch.setattr(file_ops, "resolve", resolve_then_swap)


def test_write_does_not_follow_a_directory_swapped_for_a_symlink_after_the_check(
        tools: Toolset, wd: Path, outside: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (wd / "real").mkdir()
    _swap_after_the_check(wd, outside, monkeypatch)
    result = call(tools, "write", file_path="real/pwn.txt", content="ESCAPED")
    assert result.is_error and result.error_kind == "outside_root"
    assert not (outside / "pwn.txt").exists()


def test_write_does_not_create_folders_through_a_swapped_symlink(
        tools: Toolset, wd: Path, outside: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (wd / "real").mkdir()
    _swap_after_the_check(wd, outside, monkeypatch)
    result = call(tools, "write", file_path="real/new/deeper/pwn.txt", content="ESCAPED")
    assert result.is_error
    assert not (outside / "new").exists()


def test_grep_does_not_follow_a_file_swapped_for_a_symlink_after_the_check(
        tools: Toolset, wd: Path, outside: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (wd / "f.txt").write_text("nothing\n")
    original = file_ops.resolve

    def resolve_then_swap(root: Path, path: str, op: str, *fences: Any) -> Path:
        target = original(root, path, op, *fences)
        os.rename(wd / "f.txt", wd / ".reg")
        os.symlink(outside / "secret.txt", wd / "f.txt")
        return target

    monkeypatch.setattr(file_ops, "resolve", resolve_then_swap)
    result = call(tools, "grep", pattern="TOPSECRET", path="f.txt")
    assert "TOPSECRET" not in result.content


def test_grep_walk_does_not_follow_a_folder_swapped_for_a_symlink(
        tools: Toolset, wd: Path, outside: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (wd / "d").mkdir()
    (wd / "d" / "secret.txt").write_text("harmless\n")
    original = file_ops._walk

    def walk_then_swap(start: Path, base: Path, *fences: Any) -> Iterator[Path]:
        files = list(original(start, base, *fences))
        os.rename(wd / "d", wd / ".bak")
        os.symlink(outside, wd / "d")
        yield from files

    monkeypatch.setattr(file_ops, "_walk", walk_then_swap)
    assert "TOPSECRET" not in call(tools, "grep", pattern="TOPSECRET").content


def test_memory_writes_do_not_follow_a_folder_swapped_for_a_symlink(
        tools: Toolset, tmp_path: Path, outside: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert not call(tools, "memory", command="create", path="/memories/sub/a.md", file_text="a").is_error
    memories = tmp_path / "home" / "memory" / "default" / "memories"
    original = MemoryStore.resolve

    def resolve_then_swap(self: MemoryStore, path: str, **kw: Any) -> Path:
        target = original(self, path, **kw)
        if (memories / "sub").is_dir() and not (memories / "sub").is_symlink():
            os.rename(memories / "sub", memories / ".bak")
            os.symlink(outside, memories / "sub")
        return target

    monkeypatch.setattr(MemoryStore, "resolve", resolve_then_swap)
    assert call(tools, "memory", command="create", path="/memories/sub/pwn.md", file_text="x").is_error
    assert not (outside / "pwn.md").exists()
    os.unlink(memories / "sub")
    (outside / "a.md").write_text("outside a\n")
    viewed = call(tools, "memory", command="view", path="/memories/sub/a.md")
    assert viewed.is_error and "outside a" not in viewed.content


# --- 3. hard links in grep --------------------------------------------------------------------------
def test_grep_refuses_hard_linked_files_as_read_does(tools: Toolset, wd: Path, outside: Path) -> None:
    os.link(outside / "secret.txt", wd / "hl.txt")
    (wd / "a.txt").write_text("alpha\n")
    assert call(tools, "read", file_path="hl.txt").error_kind == "outside_root"
    assert "TOPSECRET" not in call(tools, "grep", pattern="TOPSECRET").content
    single = call(tools, "grep", pattern="TOPSECRET", path="hl.txt")
    assert single.is_error and single.error_kind == "outside_root" and "hard links" in single.content
    assert call(tools, "grep", pattern="alpha").content == "a.txt:1:alpha"


# --- 4. FIFOs ---------------------------------------------------------------------------------------
def in_time(fn: Callable[[], ToolResult], fifo: Path) -> ToolResult:
    """fn() within 10 s; a call stuck on the FIFO is freed (by opening its other end) and fails the test."""
    out: list[ToolResult] = []
    th = threading.Thread(target=lambda: out.append(fn()), daemon=True)
    th.start()
    th.join(10)
    if th.is_alive():
        for flags in (os.O_RDONLY | os.O_NONBLOCK, os.O_WRONLY | os.O_NONBLOCK):
            with contextlib.suppress(OSError):
                os.close(os.open(fifo, flags))
        th.join(5)
        pytest.fail("the tool blocked on a FIFO")
    return out[0]


def test_grep_skips_a_fifo(tools: Toolset, wd: Path) -> None:
    (wd / "a.txt").write_text("needle\n")
    os.mkfifo(wd / "zz.fifo")
    assert in_time(lambda: call(tools, "grep", pattern="needle"), wd / "zz.fifo").content == "a.txt:1:needle"
    single = in_time(lambda: call(tools, "grep", pattern="needle", path="zz.fifo"), wd / "zz.fifo")
    assert single.is_error and "not a regular file" in single.content


@pytest.mark.parametrize("tool", ["write", "read", "edit"])
def test_write_read_and_edit_refuse_a_fifo(tools: Toolset, wd: Path, tool: str) -> None:
    os.mkfifo(wd / "out.txt")
    args = {"write": {"content": "hello"}, "read": {}, "edit": {"old_string": "a", "new_string": "b"}}[tool]
    result = in_time(lambda: call(tools, tool, file_path="out.txt", **args), wd / "out.txt")
    assert result.is_error and "not a regular file" in result.content


def test_write_refuses_a_hard_linked_file_without_truncating_it(tools: Toolset, wd: Path, outside: Path) -> None:
    os.link(outside / "secret.txt", wd / "hl.txt")
    result = call(tools, "write", file_path="hl.txt", content="pwned")
    assert result.error_kind == "outside_root" and "hard links" in result.content
    assert (outside / "secret.txt").read_text() == "TOPSECRET outside\n"


# --- 5. a view_range read of one enormous line ------------------------------------------------------
def test_view_range_reads_lines_with_a_length_limit(tools: Toolset, wd: Path) -> None:
    with open(wd / "blob.min.js", "wb") as f:
        f.truncate(64 * 1024 * 1024)  # sparse, no newline
    tracemalloc.start()
    try:
        result = call(tools, "read", file_path="blob.min.js", view_range=[1, 5])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.is_error and "ask for fewer" in result.content
    assert peak < 8 * 1024 * 1024
    with open(wd / "blob.min.js", "r+b") as f:
        f.write(b"first\nsecond\n")
    tracemalloc.start()
    try:
        result = call(tools, "read", file_path="blob.min.js", view_range=[2, 2])
        assert result.content == "second"
        skipped = call(tools, "read", file_path="blob.min.js", view_range=[4, 5])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert not skipped.is_error and skipped.content == ""
    assert peak < 8 * 1024 * 1024
