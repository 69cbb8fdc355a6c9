"""The agent's shells run in sessions of their own, so nothing stopped them when `dreamcli run` was killed with -9:
the shell and what it ran (`sleep 300`, a job left in the background, a sub-agent's command) ran on for good.
Each shell is now recorded in `state/live/shells/` while it runs, and the next command's sweep stops what a dead
process's shells still run, never a process that merely got a recorded pid again (docs/reliability.md, "Worker
processes")."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dreamcli import shell_records
from dreamcli.agent.tools.shell import Shell
from dreamcli.procinfo import process_start
from dreamcli.testing import FakeAnthropic, RecordedRequest, Reply, text_reply, tool_reply, tool_use
from tests.support.multiagent import responder
from tests.support.run import DREAMCLI, cli_env, run_cli

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table in /proc")


def alive(pid: int) -> bool:
    start = process_start(pid, zombies=False)  # None once gone, or a zombie (no init reaping it in a container)
    return start is not None


def wait_gone(pids: list[int], seconds: float = 5) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.05)
    return [p for p in pids if alive(p)]


def read_pid(path: Path, seconds: float = 30) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError):
            return int(path.read_text())
        time.sleep(0.05)
    raise AssertionError(f"{path.name} never written")


@pytest.fixture
def killed() -> Iterator[list[int]]:
    """Pids the test must not leave running (should the fix not take)."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        if alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def lead(req: RecordedRequest, turn: int) -> Reply:
    if turn == 0:  # a job left in the background of the lead's shell
        return tool_reply(tool_use("bash", {"command": "sleep 301 & echo $! > lead_job.pid"}, id="toolu_bg"))
    if turn == 1:
        return tool_reply(tool_use("delegate", {"brief": "Wait.", "tools": ["bash"]}, id="toolu_delegate"))
    return text_reply("done")


def child(brief: str, turn: int, req: RecordedRequest) -> Reply:
    if turn == 0:  # the command running when dreamcli is killed
        return tool_reply(tool_use("bash", {"command": "sh -c 'echo $$ > child.pid; exec sleep 302'"}, id="toolu_c"))
    return text_reply("waited")


@pytest.mark.slow
def test_the_next_command_stops_the_shells_of_a_killed_run(fake_anthropic: FakeAnthropic, tmp_path: Path,
                                                            killed: list[int]) -> None:
    home, wd = tmp_path / "home", tmp_path / "wd"
    wd.mkdir()
    (wd / "task.yaml").write_text("name: wait\nprompt: wait\ntools: [bash, delegate]\n")
    fake_anthropic.allow_leftovers = True
    fake_anthropic.responder = responder(lead, child)
    env = cli_env(fake_anthropic.url, home)
    proc = subprocess.Popen([DREAMCLI, "--home", str(home), "run", str(wd / "task.yaml"), "-C", str(wd), "--yes"],
                            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        job, command = read_pid(wd / "lead_job.pid"), read_pid(wd / "child.pid")
        killed += [job, command]
        shells = home / "state" / "live" / "shells"
        records = [json.loads(p.read_text()) for p in shells.iterdir()]
        assert len(records) == 2 and {r["owner"] for r in records} == {proc.pid}  # the lead's shell, the child's
        killed += [r["pgid"] for r in records]
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        time.sleep(0.3)
        assert alive(job) and alive(command)  # nothing stops them at once: no parent-death signal reaches them

        r = run_cli(["--home", str(home), "sessions", "list"], env=env)
        assert r.returncode == 0, r.stderr
        assert not wait_gone([job, command, *(rec["pgid"] for rec in records)])
        assert not list(shells.iterdir())
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


def test_a_shell_is_recorded_while_it_runs(tmp_path: Path) -> None:
    shell = Shell(tmp_path, dict(os.environ), 1000, groups=tmp_path / "shells")
    try:
        out = shell.run("echo $$", 10)
        pid = int(bytes(out.output.head).decode())
        [record] = [json.loads(p.read_text()) for p in (tmp_path / "shells").iterdir()]
        assert record["owner"] == os.getpid() and record["pgid"] == pid
        assert record["start"] == process_start(pid, zombies=False)
        assert record["pidns"] == os.readlink("/proc/self/ns/pid")  # what its pids mean
        assert shell_records.stop_orphaned_groups(tmp_path / "shells") == []  # its owner (this process) runs
        assert alive(pid)
    finally:
        shell.stop()
    assert not list((tmp_path / "shells").iterdir())


def orphan(record: Path) -> None:
    """Make a record's owner look dead: its pid now names a process that started at another time."""
    data = json.loads(record.read_text())
    data["owner_start"] -= 1
    record.write_text(json.dumps(data))


def test_the_sweep_stops_a_dead_owners_shell_and_its_background_jobs(tmp_path: Path, killed: list[int]) -> None:
    shell = Shell(tmp_path, dict(os.environ), 1000, groups=tmp_path / "shells")
    try:
        out = shell.run("sleep 303 & echo $$ $!", 10)
        pid, job = (int(x) for x in bytes(out.output.head).decode().split())
        killed += [pid, job]
        [record] = list((tmp_path / "shells").iterdir())
        orphan(record)
        assert shell_records.stop_orphaned_groups(tmp_path / "shells", grace=0.5) == [pid]
        assert not wait_gone([pid, job], 2)
        assert not record.exists()
    finally:
        shell.stop()


def test_the_sweep_finds_jobs_whose_shell_is_gone(tmp_path: Path, killed: list[int]) -> None:
    """bash exits once dreamcli is gone (its stdin closes) and leaves its background jobs: known by their tag."""
    shell = Shell(tmp_path, dict(os.environ), 1000, groups=tmp_path / "shells")
    try:
        out = shell.run("sleep 304 & echo $$ $!", 10)
        pid, job = (int(x) for x in bytes(out.output.head).decode().split())
        killed += [pid, job]
        [record] = list((tmp_path / "shells").iterdir())
        os.kill(pid, signal.SIGKILL)
        assert shell._proc is not None
        shell._proc.wait()
        assert not alive(pid) and alive(job)
        orphan(record)
        assert shell_records.stop_orphaned_groups(tmp_path / "shells", grace=0.5) == [pid]
        assert not wait_gone([job], 2)
    finally:
        shell.stop()


def test_a_pid_given_to_another_process_is_never_stopped(tmp_path: Path, killed: list[int]) -> None:
    """A record whose shell pid now names another session leader (started at another time, without the tag), or
    whose untagged processes share that session: left running, the record removed."""
    other = subprocess.Popen(["sh", "-c", "sleep 305 & exec sleep 306"], start_new_session=True,
                             env={k: v for k, v in os.environ.items() if k != shell_records.GROUP_TAG_VAR})
    killed.append(other.pid)
    try:
        time.sleep(0.1)
        start = process_start(other.pid, zombies=False)
        assert start is not None
        folder = tmp_path / "shells"
        folder.mkdir()
        for shell_start in (start - 1, start + 1):  # the recorded shell started before it, or after it
            record = folder / f"999999999-{other.pid}.json"
            record.write_text(json.dumps({"owner": 999999999, "owner_start": 1, "pgid": other.pid,
                                          "start": shell_start, "tag": "feedface",
                                          "pidns": os.readlink("/proc/self/ns/pid")}))
            assert shell_records.stop_orphaned_groups(folder, grace=0.2) == []
            assert not record.exists()
        assert alive(other.pid) and other.poll() is None
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(other.pid, signal.SIGKILL)
        other.wait()


def test_a_half_written_record_of_a_dead_owner_is_removed(tmp_path: Path) -> None:
    folder = tmp_path / "shells"
    folder.mkdir()
    (folder / "999999999-12345.json").write_text('{"owner": 9999')  # killed while writing it
    (folder / f"{os.getpid()}-12346.json").write_text("")  # a live owner writing it now: left alone
    assert shell_records.stop_orphaned_groups(folder) == []
    assert sorted(p.name for p in folder.iterdir()) == [f"{os.getpid()}-12346.json"]


# A shell's owner in a process of its own, to be killed with -9: argv[1] the workdir, argv[2] the records' folder.
# It prints its shell's pid once the shell has started a process in a new session (`setsid`).
OWNER = """
import os, sys
from pathlib import Path
from dreamcli.agent.tools.shell import Shell
shell = Shell(Path(sys.argv[1]), dict(os.environ), 1000, groups=Path(sys.argv[2]))
out = shell.run("setsid sh -c 'echo $$ > dead.pid; exec sleep 307' >/dev/null 2>&1 & echo $$", 10)
print(bytes(out.output.head).decode().strip(), flush=True)
sys.stdin.read()
"""


def session_of(pid: int) -> int:
    raw = Path(f"/proc/{pid}/stat").read_bytes()
    return int(raw[raw.rindex(b")") + 2:].split()[3])


def test_the_sweep_stops_what_a_dead_owners_shell_started_in_a_new_session(tmp_path: Path,
                                                                           killed: list[int]) -> None:
    """`setsid` (a daemonised server) leaves the shell's session: known by the tag it inherited. A live owner's
    shell, and what it started so, are left alone; that owner stopping its shell stops them."""
    folder = tmp_path / "shells"
    owner = subprocess.Popen([sys.executable, "-c", OWNER, str(tmp_path), str(folder)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE)
    live = Shell(tmp_path, dict(os.environ), 1000, groups=folder)
    try:
        assert owner.stdout is not None
        dead_shell = int(owner.stdout.readline())
        out = live.run("setsid sh -c 'echo $$ > live.pid; exec sleep 308' >/dev/null 2>&1 & echo $$", 10)
        live_shell = int(bytes(out.output.head).decode())
        dead, kept = read_pid(tmp_path / "dead.pid", 5), read_pid(tmp_path / "live.pid", 5)
        killed += [dead_shell, dead, kept]
        assert session_of(dead) == dead and session_of(kept) == kept  # out of the shells' sessions
        owner.kill()
        owner.wait()
        assert shell_records.stop_orphaned_groups(folder, grace=0.5) == [dead_shell]
        assert not wait_gone([dead], 2)
        assert alive(kept) and alive(live_shell)
        assert [p.name for p in folder.iterdir()] == [f"{os.getpid()}-{live_shell}.json"]
        live.stop()
        assert not wait_gone([kept, live_shell], 2)
    finally:
        live.stop()
        if owner.poll() is None:
            owner.kill()
            owner.wait()


def test_the_sweep_reads_no_process_table_without_a_dead_owners_record(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    def scanned(since: int) -> Iterator[tuple[int, object]]:
        raise AssertionError("/proc scanned")

    monkeypatch.setattr(shell_records, "own_processes", scanned)
    folder = tmp_path / "shells"
    assert shell_records.stop_orphaned_groups(folder) == []  # no folder
    folder.mkdir()
    assert shell_records.stop_orphaned_groups(folder) == []
    assert shell_records.record_group(folder, os.getpid(), "cafe") is not None  # a live owner's (this process)
    assert shell_records.stop_orphaned_groups(folder) == []


def test_a_command_run_in_a_dead_owners_shell_does_not_stop_itself(tmp_path: Path) -> None:
    """`dreamcli` run by the agent carries its shell's tag; killed with -9, its owner leaves it to sweep."""
    folder = tmp_path / "shells"
    folder.mkdir()
    tag = os.urandom(8).hex()
    (folder / "999999999-999999998.json").write_text(json.dumps(
        {"owner": 999999999, "owner_start": 1, "pgid": 999999998, "start": 0, "tag": tag,
         "pidns": os.readlink("/proc/self/ns/pid")}))
    sweep = ("import sys; from pathlib import Path; from dreamcli import shell_records\n"
             "print(shell_records.stop_orphaned_groups(Path(sys.argv[1]), grace=0.2))")
    r = subprocess.run([sys.executable, "-c", sweep, str(folder)], env={**os.environ, shell_records.GROUP_TAG_VAR: tag},
                       capture_output=True, text=True, timeout=30)
    assert (r.returncode, r.stdout) == (0, "[]\n"), r.stderr
    assert not list(folder.iterdir())
