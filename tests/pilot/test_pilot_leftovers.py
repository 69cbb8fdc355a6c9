"""What a pilot killed with -9 leaves behind (review defect #5): each trial's private memory copy
(`memory/.tmp-pilot-<session>-<pid>/`) and workdir copy (`$TMPDIR/dreamcli-pilot-<pid>-<random>/`)
carry the pilot's pid, and the sweep the next command runs removes those of a dead process; a live
process's copies are never touched (docs/reliability.md)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from dreamcli.recovery import sweep_dead
from dreamcli.testing import FakeAnthropic, RecordedRequest, Reply, text_reply
from dreamcli.workspace.home import Workspace
from tests.pilot.helpers import DREAM, run_pilot_api, seed_workspace, write_task
from tests.support.run import DREAMCLI, cli_env

NOTE = "remember: quote section numbers\n"


@pytest.fixture
def tmpdir_(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private system temp directory for this test (TMPDIR, and tempfile's cached one)."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setenv("TMPDIR", str(root))
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


def with_note(ws: Workspace) -> None:
    seed_workspace(ws)
    notes = ws.memories_root("default")
    notes.mkdir(parents=True)
    (notes / "note.md").write_text(NOTE)


def copies(ws: Workspace, tmp: Path) -> tuple[list[str], list[str]]:
    """(the trials' memory copies, the trials' workdir copies)."""
    mem = sorted(p.name for p in ws.memory_dir.iterdir() if p.name != "default")
    return mem, sorted(p.name for p in tmp.iterdir() if p.name.startswith("dreamcli-pilot-"))


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_trial_names_its_copies_with_its_pid_and_a_sweep_meanwhile_keeps_them(
        fake_anthropic: FakeAnthropic, ws: Workspace, tmp_path: Path, tmpdir_: Path) -> None:
    with_note(ws)
    task = write_task(tmp_path, tools="[read, write, memory]")
    seen: list[tuple[list[str], list[str]]] = []

    def responder(req: RecordedRequest) -> Reply:
        sweep_dead(ws)  # another command's sweep while this trial runs
        seen.append(copies(ws, tmpdir_))
        return text_reply("SOLVED")

    fake_anthropic.responder = responder
    run_pilot_api(ws, task, trials=1, parallel=1)
    assert len(seen) == 2
    for mem, work in seen:
        [m], [w] = mem, work
        assert re.fullmatch(rf"\.tmp-pilot-[0-9A-Z]{{26}}-{os.getpid()}", m)
        assert re.fullmatch(rf"dreamcli-pilot-{os.getpid()}-[a-z0-9_]+", w)
    assert copies(ws, tmpdir_) == ([], [])  # removed when each trial ended
    assert (ws.memories_root("default") / "note.md").read_text() == NOTE


@pytest.mark.slow
def test_the_copies_of_a_pilot_killed_with_9_are_swept_by_the_next_command(
        fake_anthropic: FakeAnthropic, ws: Workspace, tmp_path: Path, tmpdir_: Path) -> None:
    from typer.testing import CliRunner

    from dreamcli.cli.app import app

    with_note(ws)
    task = write_task(tmp_path, tools="[read, write, memory]")
    lock = threading.Lock()
    arrived: list[int] = []
    both_in_flight, release = threading.Event(), threading.Event()

    def responder(req: RecordedRequest) -> Reply:
        with lock:
            arrived.append(1)
            if len(arrived) == 2:
                both_in_flight.set()
        release.wait(60)  # hold each trial in its model call until the pilot is killed
        return text_reply("SOLVED")

    fake_anthropic.responder = responder
    fake_anthropic.allow_leftovers = True
    env = cli_env(fake_anthropic.url, ws.root, TMPDIR=str(tmpdir_))
    proc = subprocess.Popen([DREAMCLI, "--home", str(ws.root), "pilot", str(task), "--proposal", DREAM,
                             "--trials", "1", "--parallel", "2", "--yes"], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert both_in_flight.wait(60), "the two trials did not start"
        mem, work = copies(ws, tmpdir_)
        assert len(mem) == len(work) == 2
        assert all(m.endswith(f"-{proc.pid}") for m in mem)
        assert all(w.startswith(f"dreamcli-pilot-{proc.pid}-") for w in work)
        sweep_dead(ws)  # a sweep while the pilot runs: its copies are a live process's
        assert copies(ws, tmpdir_) == (mem, work)
        proc.kill()
        proc.wait()
    finally:
        release.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert copies(ws, tmpdir_) == (mem, work)  # what kill -9 leaves

    r = CliRunner().invoke(app, ["--home", str(ws.root), "sessions", "list"], env={"NO_COLOR": "1"})
    assert r.exit_code == 0, r.stderr

    assert copies(ws, tmpdir_) == ([], [])
    assert (ws.memories_root("default") / "note.md").read_text() == NOTE  # the live store is untouched


def test_sweep_tempdirs_removes_only_dead_processes_folders(tmp_path: Path) -> None:
    from dreamcli.workspace.live import sweep_tempdirs

    dead, live, ours = dead_pid(), os.getppid(), os.getpid()
    names = {
        f"dreamcli-pilot-{dead}-abc123_x": False,  # a dead process's: removed
        f"dreamcli-pilot-{live}-def45678": True,  # a live one's
        f"dreamcli-pilot-{ours}-ghi90123": True,  # this process's
        "dreamcli-pilot-jkl4_567": True,  # an older dreamcli's, under an hour old
        "dreamcli-pilot-mno8_901": False,  # an older dreamcli's, hours old
        f"dreamcli-doctor-{dead}-pqr23456": True,  # not a kind the sweep knows
        f"dreamcli-pilot{dead}-stu78901": True,  # not the pattern
    }
    for name in names:
        (tmp_path / name / "work").mkdir(parents=True)
        (tmp_path / name / "work" / "f.txt").write_text("x")
    hours_ago = time.time() - 3 * 3600
    os.utime(tmp_path / "dreamcli-pilot-mno8_901", (hours_ago, hours_ago))
    (tmp_path / f"dreamcli-pilot-{dead}-vwx23456").write_text("a file, not a folder")
    target = tmp_path / "elsewhere"
    target.mkdir()
    (tmp_path / f"dreamcli-pilot-{dead}-yz012345").symlink_to(target)

    removed = sweep_tempdirs(tmp_path)

    assert sorted(p.name for p in removed) == sorted(n for n, keep in names.items() if not keep)
    for name, keep in names.items():
        assert (tmp_path / name).exists() == keep, name
    assert (tmp_path / f"dreamcli-pilot-{dead}-vwx23456").is_file()
    assert (tmp_path / f"dreamcli-pilot-{dead}-yz012345").is_symlink() and target.is_dir()


def test_an_older_versions_memory_copy_is_swept_once_an_hour_old(ws: Workspace, monkeypatch: Any,
                                                                tmpdir_: Path) -> None:
    old = ws.memory_store(".pilot-01M95RC4YQF3NEDCV0B8R8XA07")
    (old / "memories").mkdir(parents=True)
    (old / "memories" / "note.md").write_text(NOTE)
    sweep_dead(ws)
    assert old.is_dir()  # young: it may be a running older dreamcli's
    later = time.time() + 2 * 3600
    monkeypatch.setattr(time, "time", lambda: later)
    sweep_dead(ws)
    assert not old.exists()
