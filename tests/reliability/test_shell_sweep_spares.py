"""What the sweep of a dead owner's shells must not stop, though it carries the shell's tag or its pids look dead:
the sweeper's own chain of parents (`timeout 60 dreamcli ...` run in the dead shell), a live dreamcli started from
that shell with all it runs, and a live owner in another pid namespace (a container sharing the workspace). A record
from before the tag sweep (no namespace) stops only what is in its shell's session (docs/reliability.md, "Worker
processes")."""

from __future__ import annotations

import contextlib
import json
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
from dreamcli.procinfo import process_start
from tests.reliability.test_orphaned_shells import alive, killed, read_pid, wait_gone

__all__ = ["killed"]  # the fixture, shared

pytestmark = pytest.mark.skipif(not Path("/proc/self/ns/pid").exists(), reason="reads the process table in /proc")

DEAD_SHELL = 999999998  # the pgid of a dead owner's shell that is gone itself: only what carries its tag is left
DEAD_RECORD = f"999999999-{DEAD_SHELL}.json"  # its record (`dead_record`): kept while the live owner carries its tag
SWEEP = ("import sys; from pathlib import Path; from dreamcli import shell_records\n"
         "print(shell_records.stop_orphaned_groups(Path(sys.argv[1]), grace=0.5), flush=True)")


def namespace() -> str:
    return os.readlink("/proc/self/ns/pid")


def dead_record(folder: Path, tag: str, pgid: int = DEAD_SHELL, start: int = 0, **extra: object) -> Path:
    """A record whose owner no longer runs (pid 999999999), of this pid namespace unless `extra` says otherwise."""
    folder.mkdir(exist_ok=True)
    path = folder / f"999999999-{pgid}.json"
    rec = {"owner": 999999999, "owner_start": 1, "pgid": pgid, "start": start, "tag": tag, "pidns": namespace()}
    path.write_text(json.dumps({k: v for k, v in {**rec, **extra}.items() if v is not None}))
    return path


def tagged(tag: str) -> dict[str, str]:
    return {**os.environ, shell_records.GROUP_TAG_VAR: tag}


@contextlib.contextmanager
def started(args: list[str], tag: str, **kw: object) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(args, env=tagged(tag), start_new_session=True, **kw)  # type: ignore[call-overload]
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_a_sweep_through_a_wrapper_stops_neither_itself_nor_its_parents(tmp_path: Path, killed: list[int]) -> None:
    """`timeout` passes the SIGTERM it gets on to the sweeping command, and the `sh` that runs both ended with them;
    what else the dead shell left (a job in the background) is stopped."""
    tag = os.urandom(8).hex()
    folder = tmp_path / "shells"
    record = dead_record(folder, tag)
    (tmp_path / "sweep.py").write_text(SWEEP)
    script = (f"sleep 320 & echo $! > {tmp_path}/job.pid; "
              f"timeout 30 {sys.executable} {tmp_path}/sweep.py {folder}; echo rc=$?")
    with started(["sh", "-c", script], tag, stdout=subprocess.PIPE) as proc:
        out, _ = proc.communicate(timeout=30)
        job = read_pid(tmp_path / "job.pid", 5)
        killed.append(job)
    assert out.decode() == f"[{DEAD_SHELL}]\nrc=0\n"
    assert not wait_gone([job], 2)
    assert not record.exists()


# A live dreamcli started from the dead shell (argv[1] a workdir, argv[2] the records' folder): it runs a shell of
# its own, recorded, and a worker (a plain child, carrying the dead shell's tag as it does); prints both pids.
LIVE_OWNER = """
import os, subprocess, sys
from pathlib import Path
from dreamcli.agent.tools.shell import Shell
shell = Shell(Path(sys.argv[1]), dict(os.environ), 1000, groups=Path(sys.argv[2]))
out = shell.run("echo $$", 10)
worker = subprocess.Popen(["sleep", "321"])
print(bytes(out.output.head).decode().strip(), worker.pid, flush=True)
sys.stdin.read()
worker.kill()
shell.stop()
"""


def test_a_live_owner_started_in_a_dead_shell_runs_on(tmp_path: Path, killed: list[int]) -> None:
    """A live owner of a record here, and all it started, are its own to stop; a process that is neither, with the
    same tag, is the dead shell's. The dead shell's record stays: the live owner carries its tag."""
    tag = os.urandom(8).hex()
    folder = tmp_path / "shells"
    dead_record(folder, tag)
    with started([sys.executable, "-c", LIVE_OWNER, str(tmp_path), str(folder)], tag, stdin=subprocess.PIPE,
                 stdout=subprocess.PIPE) as owner, started(["sleep", "322"], tag) as stray:
        assert owner.stdout is not None
        shell, worker = (int(x) for x in owner.stdout.readline().split())
        killed += [shell, worker]
        assert shell_records.stop_orphaned_groups(folder, grace=0.5) == [DEAD_SHELL]
        assert not wait_gone([stray.pid], 2)
        assert alive(owner.pid) and alive(shell) and alive(worker)
        assert sorted(p.name for p in folder.iterdir()) == sorted([f"{owner.pid}-{shell}.json", DEAD_RECORD])
        assert owner.stdin is not None
        owner.stdin.close()
        owner.wait(10)


def test_a_record_of_another_pid_namespace_is_left_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its owner's pid names another process here, or none: whether it runs is unknown, so nothing is stopped and
    the record stays, while this process cannot tell whether its namespace is gone (tests/reliability/
    test_shell_sweep_namespaces.py). The same record from this namespace is swept."""
    monkeypatch.setattr(shell_records, "pid_namespaces_in_use", lambda wanted: None)
    tag = os.urandom(8).hex()
    folder = tmp_path / "shells"
    with started(["sleep", "323"], tag) as job:
        time.sleep(0.1)
        record = dead_record(folder, tag, pidns="pid:[1]")
        assert shell_records.stop_orphaned_groups(folder, grace=0.5) == []
        assert record.exists() and alive(job.pid)
        dead_record(folder, tag)
        assert shell_records.stop_orphaned_groups(folder, grace=0.5) == [DEAD_SHELL]
        assert not wait_gone([job.pid], 2)
        assert not record.exists()


def test_a_record_without_a_namespace_stops_only_its_shells_session(tmp_path: Path, killed: list[int]) -> None:
    """Written before the tag sweep (by an owner that may have run in another namespace): its shell and the tagged
    processes in that shell's session, as then; a tagged process in another session runs on."""
    tag = os.urandom(8).hex()
    folder = tmp_path / "shells"
    with started(["sh", "-c", f"sleep 324 & echo $! > {tmp_path}/job.pid; exec sleep 325"], tag) as shell, \
            started(["sleep", "326"], tag) as outside:
        job = read_pid(tmp_path / "job.pid", 5)
        killed.append(job)
        start = process_start(shell.pid, zombies=False)
        assert start is not None
        record = dead_record(folder, tag, pgid=shell.pid, start=start, pidns=None)
        assert "pidns" not in json.loads(record.read_text())
        assert shell_records.stop_orphaned_groups(folder, grace=0.5) == [shell.pid]
        assert not wait_gone([shell.pid, job], 2)
        assert alive(outside.pid)
        assert not record.exists()


# A live owner in a pid namespace of its own (argv[1] the records' folder): its shell leaves a job running.
NS_OWNER = """
import os, sys, time
from pathlib import Path
from dreamcli.agent.tools.shell import Shell
shell = Shell(Path("/tmp"), dict(os.environ), 1000, groups=Path(sys.argv[1]))
shell.run("sleep 327 >/dev/null 2>&1 &", 10)
print("ready", flush=True)
time.sleep(300)
"""


def in_namespace(ns: str, *argv: str, seconds: float = 5) -> list[int]:
    """The processes of pid namespace `ns` running `argv` (waited for up to `seconds`)."""
    want = "\0".join(argv).encode() + b"\0"
    deadline = time.monotonic() + seconds
    while True:
        pids = []
        for entry in os.listdir("/proc"):
            with contextlib.suppress(OSError):
                if (entry.isdigit() and os.readlink(f"/proc/{entry}/ns/pid") == ns
                        and Path(f"/proc/{entry}/cmdline").read_bytes() == want):
                    pids.append(int(entry))
        if pids or time.monotonic() > deadline:
            return pids
        time.sleep(0.05)


def own_session(pid: int, seconds: float = 10) -> None:
    """Wait until `pid` (started by `setsid`) leads a session of its own, out of its parent's process group."""
    deadline = time.monotonic() + seconds
    while os.getsid(pid) != pid:
        assert time.monotonic() < deadline, f"{pid} never left its parent's session"
        time.sleep(0.02)


def children(parent: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            raw = Path(f"/proc/{entry}/stat").read_bytes()
            if entry.isdigit() and int(raw[raw.rindex(b")") + 2:].split()[1]) == parent:
                found.append(int(entry))
    return found


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root and unshare")
def test_a_live_owner_in_another_pid_namespace_keeps_its_jobs(tmp_path: Path) -> None:
    """Its record says owner 1 (as its namespace numbers it): here pid 1 is another process, the owner looks dead,
    and its job carries the shell's tag."""
    folder = tmp_path / "shells"
    proc = subprocess.Popen(["unshare", "-pf", "--mount-proc", sys.executable, "-c", NS_OWNER, str(folder)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        if proc.stdout.readline() != b"ready\n":
            pytest.skip("no pid namespace here")
        [record] = list(folder.iterdir())
        [owner] = children(proc.pid)
        ns = os.readlink(f"/proc/{owner}/ns/pid")
        assert json.loads(record.read_text())["owner"] == 1 and ns != namespace()
        [job] = in_namespace(ns, "sleep", "327")
        assert shell_records.stop_orphaned_groups(folder, grace=0.5) == []
        time.sleep(0.2)
        assert alive(job) and record.exists()
    finally:
        for pid in children(proc.pid):  # the namespace's first process: all in it end with it
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proc.kill()
        proc.wait()


def test_a_dead_shells_record_stays_while_a_live_owner_spares_its_job(tmp_path: Path, killed: list[int]) -> None:
    """What carries the dead shell's tag but descends from a live owner is spared, so the record stays: once that
    owner is gone, a later sweep stops what it left with the tag."""
    tag = os.urandom(8).hex()
    folder = tmp_path / "shells"
    record = dead_record(folder, tag)
    with started(["sh", "-c", f"setsid sleep 330 & echo $! > {tmp_path}/job.pid; exec sleep 331"], tag) as owner:
        job = read_pid(tmp_path / "job.pid", 5)
        killed.append(job)
        own_session(job)  # else, under load, the owner's end below takes the job with it: nothing left to stop
        start = process_start(owner.pid, zombies=False)
        live = {"owner": owner.pid, "owner_start": start, "pgid": DEAD_SHELL - 1, "start": 0, "tag": "other",
                "pidns": namespace()}
        (folder / f"{owner.pid}-{DEAD_SHELL - 1}.json").write_text(json.dumps(live))
        assert shell_records.stop_orphaned_groups(folder, grace=0.5) == []
        assert alive(owner.pid) and alive(job) and record.exists()
    assert shell_records.stop_orphaned_groups(folder, grace=0.5) == [DEAD_SHELL]
    assert not wait_gone([job], 2)
    assert list(folder.iterdir()) == []


def test_a_half_written_records_owner_spares_nothing(tmp_path: Path) -> None:
    """A record that cannot be read names its owner only by its file name, unchecked: that process is not taken for
    a live owner whose descendants are spared (its own record stays, left to its owner)."""
    tag = os.urandom(8).hex()
    folder = tmp_path / "shells"
    record = dead_record(folder, tag)
    with started(["sh", "-c", f"sleep 332 & echo $! > {tmp_path}/job.pid; exec sleep 333"], tag) as owner:
        job = read_pid(tmp_path / "job.pid", 5)
        half = folder / f"{owner.pid}-{DEAD_SHELL - 1}.json"
        half.write_text('{"owner": ')
        assert shell_records.stop_orphaned_groups(folder, grace=0.5) == [DEAD_SHELL]
        assert not wait_gone([owner.pid, job], 2)
        assert half.exists() and not record.exists()


# pid 1 of a pid namespace of its own (a container whose command is dreamcli), a live owner with a record; a job left
# by a dead owner's shell (argv[1] the records' folder) is reparented to it. The sweep runs in a child.
PID1_OWNER = """
import json, os, subprocess, sys, time
from pathlib import Path
from dreamcli import shell_records
from dreamcli.procinfo import process_start
folder = Path(sys.argv[1])
mine = subprocess.Popen(["sleep", "334"], start_new_session=True)
time.sleep(0.1)
assert os.getpid() == 1 and shell_records.record_group(folder, mine.pid, "mine") is not None
rec = {"owner": 999999999, "owner_start": 1, "pgid": 999999998, "start": 0, "tag": "dead",
       "pidns": os.readlink("/proc/self/ns/pid")}
(folder / "999999999-999999998.json").write_text(json.dumps(rec))
out = subprocess.run(["sh", "-c", "sleep 335 >/dev/null 2>&1 & echo $!"], capture_output=True,
                     env={**os.environ, shell_records.GROUP_TAG_VAR: "dead"}, start_new_session=True).stdout
job = int(out)
time.sleep(0.2)
sweep = ("from pathlib import Path; from dreamcli import shell_records; "
         "print(shell_records.stop_orphaned_groups(Path(%r), 0.5))")
print(subprocess.run([sys.executable, "-c", sweep % str(folder)], capture_output=True, text=True).stdout.strip())
time.sleep(0.3)
print(process_start(job, zombies=False) is not None, sorted(os.listdir(folder)), flush=True)
"""


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root and unshare")
def test_a_live_owner_that_is_pid_1_spares_only_itself(tmp_path: Path) -> None:
    """Every orphan of its namespace is reparented to pid 1: descent from it spares nothing, and the dead shell's
    job is stopped."""
    folder = tmp_path / "shells"
    folder.mkdir()
    proc = subprocess.run(["unshare", "-pf", "--mount-proc", sys.executable, "-c", PID1_OWNER, str(folder)],
                          capture_output=True, timeout=60)
    if proc.returncode != 0 and b"unshare" in proc.stderr:
        pytest.skip("no pid namespace here")
    assert proc.stdout.decode().splitlines() == ["[999999998]", "False ['1-2.json']"], proc.stderr.decode()
