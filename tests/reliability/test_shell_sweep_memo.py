"""What a dead shell's record kept for a live dreamcli remembers (`spared`, so later sweeps skip /proc): only what a
sweep whose last look found nothing left to stop saw. A job that ignores SIGTERM and keeps starting children leaves
some started after the sweep's last listing, which its SIGKILL misses: the sweep looks again after the SIGKILL, and
while something is still left the record remembers nothing, so the next sweep reads /proc and stops it
(docs/reliability.md, "Worker processes")."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dreamcli import shell_records
from dreamcli.procinfo import read_stat
from tests.reliability.test_orphaned_shells import alive, wait_gone
from tests.reliability.test_shell_sweep_owners import counted
from tests.reliability.test_shell_sweep_spares import DEAD_SHELL, dead_record, namespace, started, tagged

pytestmark = pytest.mark.skipif(not Path("/proc/self/ns/pid").exists(), reason="reads the process table in /proc")


def running(pid: int, *argv: str, seconds: float = 5) -> None:
    """Wait until process `pid` runs `argv` (exec'd: its environment, the tag, is its own by then)."""
    want = "\0".join(argv).encode() + b"\0"
    deadline = time.monotonic() + seconds
    while Path(f"/proc/{pid}/cmdline").read_bytes() != want:
        assert time.monotonic() < deadline, f"{pid} never ran {argv}"
        time.sleep(0.01)


def live_owner(folder: Path, pid: int) -> None:
    """A record making `pid` (which carries the dead shell's tag) a live owner: it is spared, and the record kept."""
    stat = read_stat(pid)
    assert stat is not None
    rec = {"owner": pid, "owner_start": stat.start, "pgid": DEAD_SHELL - 1, "start": 0, "tag": "its-own",
           "pidns": namespace()}
    (folder / f"{pid}-{DEAD_SHELL - 1}.json").write_text(json.dumps(rec))


@pytest.fixture
def late() -> Iterator[list[subprocess.Popen[bytes]]]:
    """The children started late (`late_children`), killed at the end should the fix not take."""
    children: list[subprocess.Popen[bytes]] = []
    yield children
    for child in children:
        child.kill()
        child.wait()


def late_children(monkeypatch: pytest.MonkeyPatch, tag: str, racers: set[int], times: int,
                  started_late: list[subprocess.Popen[bytes]]) -> None:
    """Each SIGKILL to one of `racers` first starts a tagged child of the job (`times` at most), one the sweep's
    last listing before its SIGKILL did not see; that child races in turn."""
    real: Callable[[int, int], None] = os.kill

    def kill(pid: int, sig: int) -> None:
        if sig == signal.SIGKILL and pid in racers and len(started_late) < times:
            child = subprocess.Popen(["sleep", "352"], env=tagged(tag), start_new_session=True)
            started_late.append(child)
            racers.add(child.pid)
        real(pid, sig)

    monkeypatch.setattr(shell_records.os, "kill", kill)


@pytest.mark.parametrize("times", [1, 10], ids=["one-late-child", "a-late-child-each-kill"])
def test_what_the_sigkill_missed_is_stopped_before_the_record_remembers(tmp_path: Path, times: int,
                                                                      monkeypatch: pytest.MonkeyPatch,
                                                                      late: list[subprocess.Popen[bytes]]) -> None:
    """A live owner carrying the dead shell's tag is spared, and the job that ignores SIGTERM stopped: so is what it
    started after the sweep's last listing before the SIGKILL, by that sweep, or by the next when it keeps doing so.
    Only then is what was spared remembered, and a later sweep no longer reads /proc."""
    tag = os.urandom(8).hex()
    folder = tmp_path / "shells"
    record = dead_record(folder, tag)
    with started(["sleep", "350"], tag) as owner, \
            started(["sh", "-c", "trap '' TERM; exec sleep 351"], tag) as job, counted(monkeypatch) as scans:
        running(owner.pid, "sleep", "350")
        running(job.pid, "sleep", "351")  # SIGTERM ignored
        live_owner(folder, owner.pid)
        with monkeypatch.context() as racing:
            late_children(racing, tag, {job.pid}, times, late)
            assert shell_records.stop_orphaned_groups(folder, grace=0.3) == [DEAD_SHELL]
        assert not wait_gone([job.pid], 2) and alive(owner.pid)
        if times > 1:  # still something left at its last look: nothing remembered, so the next sweep looks
            assert len(late) > 1 and not json.loads(record.read_text()).get("spared")
            assert shell_records.stop_orphaned_groups(folder, grace=0.3) == [DEAD_SHELL]
        assert not wait_gone([child.pid for child in late], 2)
        assert [pid for pid, _, _ in json.loads(record.read_text())["spared"]] == [owner.pid]
        seen = len(scans)
        assert shell_records.stop_orphaned_groups(folder, grace=0.3) == []
        assert len(scans) == seen and alive(owner.pid)  # remembered: no look while the owner runs on


def test_a_record_with_nothing_spared_but_something_left_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               late: list[subprocess.Popen[bytes]]) -> None:
    """No live dreamcli: the record goes only once a sweep found nothing left of its shell."""
    tag = os.urandom(8).hex()
    folder = tmp_path / "shells"
    record = dead_record(folder, tag)
    with started(["sh", "-c", "trap '' TERM; exec sleep 353"], tag) as job:
        running(job.pid, "sleep", "353")
        with monkeypatch.context() as racing:
            late_children(racing, tag, {job.pid}, 10, late)
            assert shell_records.stop_orphaned_groups(folder, grace=0.3) == [DEAD_SHELL]
        assert record.exists() and not json.loads(record.read_text()).get("spared")
        assert shell_records.stop_orphaned_groups(folder, grace=0.3) == [DEAD_SHELL]
        assert not wait_gone([job.pid, *(child.pid for child in late)], 2)
        assert not record.exists()
