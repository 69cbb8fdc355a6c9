"""Whom the sweep of a dead owner's shells takes for a live dreamcli whose processes are its own: a live owner only
when it carries the dead shell's tag itself (started in that shell), never one that merely received the shell's
orphans as a child subreaper; any dreamcli command that inherited the tag, records or none, with the wrappers it runs
under; and a record kept for what was spared is not scanned again until one of those processes changes
(docs/reliability.md, "Worker processes")."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dreamcli import shell_records
from dreamcli.procinfo import Stat, read_stat
from tests.reliability.test_orphaned_shells import alive, killed, read_pid, wait_gone
from tests.reliability.test_shell_sweep_spares import DEAD_SHELL, dead_record, namespace, started, tagged
from tests.support.run import DREAMCLI

__all__ = ["killed"]  # the fixture, shared

pytestmark = pytest.mark.skipif(not Path("/proc/self/ns/pid").exists(), reason="reads the process table in /proc")

# A live owner (a record of its own, argv[1] the records' folder) that is a child subreaper, as `systemd --user` is:
# the dead shell's job (tag argv[2]), started by a shell that exits at once, is reparented to it, not to pid 1.
# Prints the job's pid and its own shell's.
SUBREAPER_OWNER = """
import ctypes, os, subprocess, sys
from pathlib import Path
from dreamcli import shell_records
assert ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
mine = subprocess.Popen(["sleep", "340"], start_new_session=True)
assert shell_records.record_group(Path(sys.argv[1]), mine.pid, "mine") is not None
out = subprocess.run(["sh", "-c", "sleep 341 >/dev/null 2>&1 & echo $!"], capture_output=True,
                     env={**os.environ, shell_records.GROUP_TAG_VAR: sys.argv[2]}, start_new_session=True).stdout
print(int(out), mine.pid, flush=True)
sys.stdin.read()
mine.kill()
"""


def untagged() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != shell_records.GROUP_TAG_VAR}


@pytest.mark.parametrize("in_the_shell", [False, True], ids=["ran-the-dead-owner", "started-in-the-dead-shell"])
def test_a_subreaper_owner_spares_only_what_carries_the_tag_through_it(tmp_path: Path, killed: list[int],
                                                                      in_the_shell: bool) -> None:
    """An owner that ran the dead owner (as `systemd --user` runs every command of a user) receives its shell's
    orphans: they are not its jobs, and are stopped. One started in the dead shell carries the tag itself: what
    carries it below it is its own (here the orphan of a process it started), spared, and the record stays."""
    tag = os.urandom(8).hex()
    folder = tmp_path / "shells"
    record = dead_record(folder, tag)
    env = tagged(tag) if in_the_shell else untagged()
    owner = subprocess.Popen([sys.executable, "-c", SUBREAPER_OWNER, str(folder), tag], env=env,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True)
    try:
        assert owner.stdout is not None and owner.stdin is not None
        job, mine = (int(x) for x in owner.stdout.readline().split())
        killed += [job, mine]
        stat = read_stat(job)
        assert stat is not None and stat.ppid == owner.pid  # reparented to the subreaper
        stopped = shell_records.stop_orphaned_groups(folder, grace=0.5)
        assert alive(owner.pid) and alive(mine)
        if in_the_shell:
            assert stopped == [] and alive(job) and record.exists()
        else:
            assert stopped == [DEAD_SHELL] and not wait_gone([job], 2) and not record.exists()
    finally:
        owner.kill()
        owner.wait()


def python_children(pid: int, seconds: float = 10) -> list[int]:
    """The children of `pid` that run Python (exec'd: the command line's first word names it), waited for up to
    `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        found = []
        for entry in os.listdir("/proc"):
            with contextlib.suppress(OSError):
                stat = read_stat(int(entry)) if entry.isdigit() else None
                argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
                if stat is not None and stat.ppid == pid and b"python" in os.path.basename(argv[0]):
                    found.append(int(entry))
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


@pytest.mark.skipif(shutil.which("timeout") is None, reason="needs timeout(1)")
def test_a_dreamcli_command_started_in_a_dead_shell_is_never_stopped(tmp_path: Path, killed: list[int]) -> None:
    """`timeout 60 dreamcli run -p -` run by the agent (no shell of its own yet, so no record) inherited the dead
    shell's tag: a sweep from elsewhere stops neither the command nor the `timeout` that would pass SIGTERM on to it,
    and stops what else carries the tag. The record stays while the command runs."""
    tag = os.urandom(8).hex()
    folder = tmp_path / "shells"
    record = dead_record(folder, tag)
    argv = ["timeout", "60", DREAMCLI, "--home", str(tmp_path / "home"), "run", "-p", "-"]  # waits for its prompt
    with started(argv, tag, stdin=subprocess.PIPE) as wrapper, started(["sleep", "342"], tag) as stray:
        [command] = python_children(wrapper.pid)
        killed.append(command)
        assert shell_records.stop_orphaned_groups(folder, grace=0.5) == [DEAD_SHELL]
        assert not wait_gone([stray.pid], 2)
        time.sleep(0.3)
        assert alive(wrapper.pid) and alive(command) and wrapper.poll() is None
        assert record.exists()


@pytest.mark.parametrize(("argv", "dreamcli"), [
    ([b"/venv/bin/python3", b"/venv/bin/dreamcli", b"run"], True),  # the console script, as the kernel runs it
    ([b"/usr/bin/dreamcli", b"dream"], True),
    ([b"python3.11", b"-X", b"importtime", b"-u", b"-m", b"dreamcli", b"dream"], True),
    ([b"python3", b"-m", b"dreamcli.cli"], False),
    ([b"python3", b"-mdreamcli", b"dream"], True),  # an option's value joined to it, as Python reads it
    ([b"python3", b"-Imdreamcli"], True),
    ([b"python3", b"-Im", b"dreamcli"], True),
    ([b"/usr/bin/pypy3", b"-m", b"dreamcli"], True),
    ([b"pypy3.10", b"/venv/bin/dreamcli", b"dream"], True),
    ([b"pypy3", b"-c", b"dreamcli"], False),
    ([b"pypy3", b"--jit", b"off", b"-m", b"dreamcli"], True),
    ([b"pypy3", b"--jit", b"off", b"/v/bin/dreamcli"], True),
    ([b"python3", b"-Wd", b"-mdreamcli"], True),
    ([b"python3", b"-W", b"error", b"-mdreamcli"], True),
    ([b"python3", b"-Xdev", b"-m", b"dreamcli"], True),
    ([b"python3", b"-X", b"dev", b"-E", b"/venv/bin/dreamcli"], True),
    ([b"python3", b"--check-hash-based-pycs", b"never", b"-m", b"dreamcli"], True),
    ([b"python3", b"--", b"/venv/bin/dreamcli"], True),
    ([b"python3", b"-mdreamcli.cli"], False),
    ([b"python3", b"-Wmdreamcli", b"x.py"], False),  # -W's value, then a script
    ([b"python3", b"-Xmdreamcli"], False),
    ([b"python3", b"-cm", b"dreamcli"], False),  # -c's value `m`, then its argument
    ([b"python3", b"-Ic", b"dreamcli"], False),
    ([b"python3", b"-c", b"x", b"-m", b"dreamcli"], False),
    ([b"python3", b"-", b"dreamcli"], False),  # the program from stdin
    ([b"python3", b"-c", b"import dreamcli"], False),
    ([b"python3", b"tools/dreamcli.py"], False),
    ([b"sleep", b"dreamcli"], False),
    ([b"vim", b"dreamcli"], False),
    ([], False),
])
def test_a_dreamcli_command_is_known_by_its_command_line(argv: list[bytes], dreamcli: bool) -> None:
    assert shell_records.runs_dreamcli(argv) is dreamcli


@contextlib.contextmanager
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The sweeps that read the process table, one entry each."""
    scans: list[int] = []
    real = shell_records.own_processes

    def scan(since: int) -> Iterator[tuple[int, Stat]]:
        scans.append(since)
        return real(since)

    monkeypatch.setattr(shell_records, "own_processes", scan)
    yield scans


def test_a_kept_record_is_not_scanned_again_while_what_it_spared_runs_on(tmp_path: Path, killed: list[int],
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A live owner started in the dead shell spares its job, so the dead shell's record stays, with what was spared
    written in it: later sweeps read the process table only once one of those processes is gone or changed parent.
    Then the job (out of the owner's session, orphaned) is stopped and the record removed."""
    import json

    tag = os.urandom(8).hex()
    folder = tmp_path / "shells"
    record = dead_record(folder, tag)
    with started(["sh", "-c", f"setsid sleep 343 & echo $! > {tmp_path}/job.pid; exec sleep 344"], tag) as owner, \
            counted(monkeypatch) as scans:
        job = read_pid(tmp_path / "job.pid", 5)
        killed.append(job)
        start = read_stat(owner.pid)
        assert start is not None
        live = {"owner": owner.pid, "owner_start": start.start, "pgid": DEAD_SHELL - 1, "start": 0, "tag": "other",
                "pidns": namespace()}
        (folder / f"{owner.pid}-{DEAD_SHELL - 1}.json").write_text(json.dumps(live))
        assert shell_records.stop_orphaned_groups(folder, grace=0.5) == []
        assert len(scans) == 1 and record.exists()
        assert sorted(pid for pid, _, _ in json.loads(record.read_text())["spared"]) == sorted([owner.pid, job])
        for _ in range(3):
            assert shell_records.stop_orphaned_groups(folder, grace=0.5) == []
        assert len(scans) == 1 and alive(owner.pid) and alive(job)
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait()
        assert shell_records.stop_orphaned_groups(folder, grace=0.5) == [DEAD_SHELL]
        assert len(scans) > 1  # scanned again (and once more after the SIGTERM)
        assert not wait_gone([job], 2)
        assert list(folder.iterdir()) == []


def test_a_memo_that_cannot_be_read_costs_a_scan_not_the_record(tmp_path: Path, killed: list[int]) -> None:
    """What was spared, garbled: the record is still read whole, scanned, and what carries its tag stopped."""
    import json

    tag = os.urandom(8).hex()
    folder = tmp_path / "shells"
    record = dead_record(folder, tag)
    record.write_text(json.dumps({**json.loads(record.read_text()), "spared": [["x"], 3]}))
    with started(["sleep", "345"], tag) as job:
        time.sleep(0.1)
        assert shell_records.stop_orphaned_groups(folder, grace=0.5) == [DEAD_SHELL]
        assert not wait_gone([job.pid], 2)
    assert not record.exists()
