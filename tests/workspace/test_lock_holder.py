"""A refused workspace lock names its holder (pid, command, since when), checked against the running processes:
a record whose pid no longer runs, or runs another program, is called stale; `--wait` says how long it waited."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dreamcli.errors import LockHeld
from dreamcli.procinfo import process_start
from dreamcli.workspace import lockholder
from dreamcli.workspace.home import Workspace
from dreamcli.workspace.lock import workspace_lock
from dreamcli.workspace.lockholder import Holder, describe, lock_held, lock_state, read_holder, record_path

FORK = multiprocessing.get_context("fork")


def _hold(root: str, name: str, words: str, ready: multiprocessing.Event, release: multiprocessing.Event) -> None:  # type: ignore[valid-type]
    lockholder.set_command(words)
    with workspace_lock(Workspace(Path(root), "option"), name):
        ready.set()  # type: ignore[attr-defined]
        release.wait(20)  # type: ignore[attr-defined]


def _holder(ws: Workspace, name: str = "dream", words: str = "dreamcli dream") -> tuple[object, object, object]:
    ready, release = FORK.Event(), FORK.Event()
    proc = FORK.Process(target=_hold, args=(str(ws.root), name, words, ready, release))
    proc.start()
    assert ready.wait(10)
    return proc, ready, release


def _refusal(ws: Workspace, name: str = "dream", wait: float | None = None) -> str:
    with pytest.raises(LockHeld) as info, workspace_lock(ws, name, wait=wait):
        pass
    assert info.value.exit_code == 75
    return str(info.value)


def test_a_refused_lock_names_the_holders_command_pid_and_since(ws: Workspace) -> None:
    proc, _, release = _holder(ws, words="dreamcli playbooks approve")
    try:
        message = _refusal(ws)
        pid = proc.pid  # type: ignore[attr-defined]
        assert re.fullmatch(rf"the 'dream' lock of workspace {re.escape(str(ws.root))} is held by dreamcli "
                            rf"playbooks approve \(pid {pid}, since \d\d:\d\d:\d\d, \d+ s ago\); wait, or run with "
                            r"--wait SECONDS", message), message
        waited = _refusal(ws, wait=0.2)
        assert "is still held after waiting 0.2 s, by dreamcli playbooks approve (pid" in waited
        assert "\n" not in waited
        record = record_path(ws.locks_dir / "dream.lock")
        assert record.stat().st_mode & 0o777 == 0o600
        assert json.loads(record.read_text())["pid"] == pid
    finally:
        release.set()  # type: ignore[attr-defined]
        proc.join(10)  # type: ignore[attr-defined]
    assert not record.exists()  # the holder removes its record when it lets go
    with workspace_lock(ws, "dream"):
        mine = read_holder(ws.locks_dir / "dream.lock")
        assert mine is not None and mine.pid == os.getpid() and mine.stale is None


def test_a_killed_holders_record_is_stale_never_its_holder(ws: Workspace) -> None:
    proc, _, _ = _holder(ws)
    pid = proc.pid  # type: ignore[attr-defined]
    os.kill(pid, signal.SIGKILL)
    proc.join(10)  # type: ignore[attr-defined]
    lock = ws.locks_dir / "dream.lock"
    assert record_path(lock).exists()  # left behind by the kill
    assert lock_state(lock) == (False, None)  # the lock went with the process: free
    holds = (f"import filelock, time\nl = filelock.FileLock({str(lock)!r}); l.acquire(); print('x', flush=True)\n"
             "time.sleep(20)")  # a holder that writes no record (an older dreamcli)
    other_proc = subprocess.Popen([sys.executable, "-c", holds], stdout=subprocess.PIPE, text=True)
    try:
        assert other_proc.stdout is not None and other_proc.stdout.readline() == "x\n"
        message = _refusal(ws)
        assert f"held by another process (the record beside the lock is stale: pid {pid} no longer runs)" in message
        assert f"pid {pid}," not in message  # never named as the holder
        record_path(lock).unlink()
        assert "held by another process, which left no record of itself" in _refusal(ws)
        held, holder = lock_state(lock)
        assert held is True and holder is None
    finally:
        other_proc.kill()
        other_proc.wait(10)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="process start times come from /proc")
def test_a_pid_that_now_runs_another_program_is_a_stale_record(ws: Workspace) -> None:
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        lock = ws.locks_dir / "dream.lock"
        lock.parent.mkdir(parents=True, exist_ok=True)
        real_start = process_start(sleeper.pid, zombies=False)
        assert real_start is not None
        record_path(lock).write_text(json.dumps({"v": 1, "pid": sleeper.pid, "command": "dreamcli dream",
                                                 "since": "2026-01-01T00:00:00Z", "start": real_start - 5}))
        holder = read_holder(lock)
        assert holder is not None and holder.stale == f"pid {sleeper.pid} now runs another program"
        record_path(lock).write_text(json.dumps({"v": 1, "pid": sleeper.pid, "command": "dreamcli dream",
                                                 "since": "2026-01-01T00:00:00Z", "start": real_start}))
        assert read_holder(lock).stale is None  # type: ignore[union-attr]
    finally:
        sleeper.kill()
        sleeper.wait(10)


def zombie() -> subprocess.Popen[bytes]:
    """A child that has exited and is not yet collected (a zombie: its pid and start time stay in /proc)."""
    proc = subprocess.Popen(["true"])
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        raw = Path(f"/proc/{proc.pid}/stat").read_bytes()
        if raw[raw.rindex(b")") + 2:].startswith(b"Z"):
            return proc
        time.sleep(0.01)
    raise AssertionError("the child never exited")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="process start times come from /proc")
def test_a_holder_that_exited_but_was_not_collected_is_a_stale_record(ws: Workspace) -> None:
    """A zombie holds no lock (its files closed when it exited), though its pid and start time still read."""
    proc = zombie()
    try:
        lock = ws.locks_dir / "dream.lock"
        lock.parent.mkdir(parents=True, exist_ok=True)
        start = process_start(proc.pid, zombies=True)
        assert start is not None and process_start(proc.pid, zombies=False) is None
        record_path(lock).write_text(json.dumps({"v": 1, "pid": proc.pid, "command": "dreamcli dream",
                                                 "since": "2026-01-01T00:00:00Z", "start": start}))
        holder = read_holder(lock)
        assert holder is not None and holder.stale == f"pid {proc.pid} no longer runs"
    finally:
        proc.wait(10)


def test_a_record_that_does_not_read_is_no_holder(ws: Workspace) -> None:
    lock = ws.locks_dir / "dream.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    for text in ("", "{", "[1]", '{"pid": "12", "command": "x", "since": "y"}', '{"pid": true}'):
        record_path(lock).write_text(text)
        assert read_holder(lock) is None, text
    record_path(lock).unlink()
    os.mkfifo(record_path(lock))  # planted: a plain read would block for ever
    assert read_holder(lock) is None
    with workspace_lock(ws, "dream"):  # the holder's record replaces it
        assert read_holder(lock) is not None
    assert not record_path(lock).exists()


def test_probing_a_lock_creates_and_changes_nothing(ws: Workspace) -> None:
    lock = ws.locks_dir / "never.lock"
    assert lock_held(lock) is False and not lock.exists()
    proc, _, release = _holder(ws, name="never")
    try:
        assert lock_held(lock) is True
        held, holder = lock_state(lock)
        assert held is True and holder is not None and holder.pid == proc.pid  # type: ignore[attr-defined]
        assert _refusal(ws, "never")  # the probe left it held by its holder
    finally:
        release.set()  # type: ignore[attr-defined]
        proc.join(10)  # type: ignore[attr-defined]
    assert lock_held(lock) is False


def test_describe_words() -> None:
    now = datetime(2026, 12, 7, 4, 13, 2, tzinfo=UTC)
    since = (now - timedelta(minutes=3)).isoformat().replace("+00:00", "Z")
    clock = (now - timedelta(minutes=3)).astimezone().strftime("%H:%M:%S")
    words = describe(Holder(123, "dreamcli dream", since), now=now)
    assert words == f"dreamcli dream (pid 123, since {clock}, 3 min ago)"
    days = (now - timedelta(days=2, hours=1)).isoformat()
    assert describe(Holder(9, "dreamcli dream", days), now=now).endswith(", 2 days ago)")
    assert describe(Holder(9, "dreamcli dream", "not a time"), now=now) == "dreamcli dream (pid 9)"
    assert [lockholder.age_words(s) for s in (5, 61, 3600, 3720, 86400)] == [
        "5 s ago", "1 min ago", "1 h ago", "1 h 2 min ago", "1 day ago"]
