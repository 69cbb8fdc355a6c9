"""Workspace resolution, permissions, atomic writes and locks."""

from __future__ import annotations

import multiprocessing
import os
import stat
import time
from pathlib import Path

import pytest

from dreamcli.errors import LockHeld, UsageError
from dreamcli.workspace.fsutil import append_line, atomic_write_text, ensure_dir
from dreamcli.workspace.home import Workspace, resolve_home
from dreamcli.workspace.lock import workspace_lock


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "proj" / "sub" / "deeper"
    project.mkdir(parents=True)
    local = tmp_path / "proj" / ".dreamcli"
    local.mkdir()
    env_home = tmp_path / "envhome"
    monkeypatch.setenv("DREAMCLI_HOME", str(env_home))
    opt = tmp_path / "opt"
    assert resolve_home(str(opt), cwd=project).root == opt
    assert resolve_home(None, cwd=project).root == env_home
    monkeypatch.delenv("DREAMCLI_HOME")
    ws = resolve_home(None, cwd=project)
    assert ws.root == local and ws.source == "local"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    ws = resolve_home(None, cwd=tmp_path)
    assert ws.source == "default" and "dreamcli" in ws.root.name


def test_home_that_is_a_file_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "home"
    f.write_text("x")
    with pytest.raises(UsageError, match="is a file"):
        resolve_home(str(f))


def test_layout_permissions(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws", "option").ensure_layout()
    assert mode(ws.root) == 0o700
    for d in (ws.sessions_dir, ws.playbooks_dir, ws.dreams_dir, ws.state_dir):
        assert mode(d) == 0o700
    atomic_write_text(ws.root / "a" / "b" / "f.txt", "hello")
    assert mode(ws.root / "a") == 0o700 and mode(ws.root / "a" / "b") == 0o700
    assert mode(ws.root / "a" / "b" / "f.txt") == 0o600
    append_line(ws.root / "log.jsonl", '{"x":1}')
    assert mode(ws.root / "log.jsonl") == 0o600


def test_atomic_write_leaves_old_content_on_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "f.txt"
    atomic_write_text(target, "old")

    def boom(*_a: object, **_k: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]  # no temp file left behind


def test_append_line_adds_one_whole_line(tmp_path: Path) -> None:
    p = tmp_path / "x.jsonl"
    append_line(p, "a")
    append_line(p, "b\n")
    assert p.read_text() == "a\nb\n"


def _hold_lock(root: str, ready: multiprocessing.Event, release: multiprocessing.Event) -> None:  # type: ignore[valid-type]
    ws = Workspace(Path(root), "option")
    with workspace_lock(ws, "dream"):
        ready.set()  # type: ignore[attr-defined]
        release.wait(10)  # type: ignore[attr-defined]


def test_lock_is_exclusive_across_processes_and_can_wait(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws", "option").ensure()
    ctx = multiprocessing.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_hold_lock, args=(str(ws.root), ready, release))
    proc.start()
    try:
        assert ready.wait(10)
        with pytest.raises(LockHeld) as info, workspace_lock(ws, "dream"):
            pass
        assert info.value.exit_code == 75
        with workspace_lock(ws, "other"):  # other locks are independent
            pass
        t0 = time.monotonic()
        with pytest.raises(LockHeld), workspace_lock(ws, "dream", wait=0.3):
            pass
        assert time.monotonic() - t0 >= 0.25
        release.set()
        with workspace_lock(ws, "dream", wait=5):
            pass
    finally:
        release.set()
        proc.join(10)


def test_ensure_dir_does_not_change_existing_dirs(tmp_path: Path) -> None:
    d = tmp_path / "shared"
    d.mkdir(mode=0o755)
    os.chmod(d, 0o755)
    ensure_dir(d / "child")
    assert mode(d) == 0o755 and mode(d / "child") == 0o700


def test_home_pointing_at_a_project_uses_its_dreamcli_dir(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    (project / ".dreamcli").mkdir(parents=True)
    assert resolve_home(str(project)).root == project / ".dreamcli"
    # a directory that already is a workspace is used as it is, even with a .dreamcli inside
    (project / "sessions").mkdir()
    assert resolve_home(str(project)).root == project
