"""A process's environment read while it execs a program: /proc shows none from the moment the kernel gives it
the new program's memory until the environment is written there, nor to a read begun on the memory the exec
left. The sweep read a shell's job (`setsid sleep`) then, took it for one without the shell's tag, and neither
stopped nor spared it (CI saw it once). `settled_environ` reads again until the environment shows, and only as
long as the process may still have one (docs/reliability.md, "Worker processes")."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from dreamcli import procinfo

pytestmark = pytest.mark.skipif(not Path("/proc/self/ns/pid").exists(), reason="reads the process table in /proc")

ENV = b"A=1\0DREAMCLI_SHELL_TAG=t\0"


def stat_line(state: str = "S", flags: int = 0, env: tuple[int, int] = (100, 120)) -> bytes:
    """A /proc/PID/stat line (fields 3 to 52), with the state, flags (9) and environment span (50, 51) given."""
    fields = [state, "1", "1", "1", "0", "-1", str(flags)] + ["0"] * 40 + [str(env[0]), str(env[1]), "0"]
    return b"7 (a) b) " + " ".join(fields).encode()


def scripted(monkeypatch: pytest.MonkeyPatch, reads: dict[str, list[bytes | None]]) -> list[float]:
    """/proc reads from `reads` (the last answer repeats), the sleeps recorded; a file not scripted fails."""
    sleeps: list[float] = []

    def read(path: str) -> bytes | None:
        name = path.rsplit("/", 1)[1]
        assert name in reads, f"unexpected read of {path}"
        answers = reads[name]
        return answers.pop(0) if len(answers) > 1 else answers[0]

    monkeypatch.setattr(procinfo, "_read", read)
    monkeypatch.setattr(procinfo.time, "sleep", sleeps.append)
    return sleeps


def test_an_environment_not_written_yet_is_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps = scripted(monkeypatch, {"environ": [b"", b"", ENV], "stat": [stat_line(env=(0, 0))]})
    assert procinfo.settled_environ(7) == [b"A=1", b"DREAMCLI_SHELL_TAG=t", b""]
    assert len(sleeps) == 2


def test_a_read_that_met_the_memory_an_exec_left_is_read_again(monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps = scripted(monkeypatch, {"environ": [b"", ENV], "stat": [stat_line()]})
    assert procinfo.settled_environ(7)[1] == b"DREAMCLI_SHELL_TAG=t" and len(sleeps) == 1


def test_an_environment_being_written_is_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    """The span is empty while the kernel writes the environment, the process running (in its exec)."""
    sleeps = scripted(monkeypatch, {"environ": [b"", b"", ENV], "stat": [stat_line("R", env=(120, 120))]})
    assert procinfo.settled_environ(7)[1] == b"DREAMCLI_SHELL_TAG=t" and len(sleeps) == 2


@pytest.mark.parametrize("stat", [stat_line(env=(120, 120)), stat_line("Z", env=(0, 0)),
                                  stat_line(flags=procinfo.KERNEL_THREAD_FLAG, env=(0, 0)), None, b"7 (a"],
                         ids=["empty-environment", "zombie", "kernel-thread", "gone", "torn"])
def test_a_process_with_no_environment_to_show_is_read_once(monkeypatch: pytest.MonkeyPatch,
                                                           stat: bytes | None) -> None:
    sleeps = scripted(monkeypatch, {"environ": [b"", ENV], "stat": [stat]})
    assert procinfo.settled_environ(7) == [] and sleeps == []


def test_an_environment_that_cannot_be_read_is_not_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps = scripted(monkeypatch, {"environ": [None, ENV]})  # stat is not read
    assert procinfo.settled_environ(7) == [] and sleeps == []


def test_the_wait_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    """A process stuck in its exec (or one exiting, its memory gone) is given up on after `wait`."""
    scripted(monkeypatch, {"environ": [b""], "stat": [stat_line(env=(0, 0))]})
    clock = iter(range(100))
    monkeypatch.setattr(procinfo.time, "monotonic", lambda: next(clock) / 10)
    assert procinfo.settled_environ(7, wait=0.5) == []
    assert next(clock) < 12


def test_a_busy_process_with_an_empty_environment_is_not_waited_for_long(monkeypatch: pytest.MonkeyPatch) -> None:
    """`env -i` running a loop: its span is empty while it runs, as one being written is; that takes microseconds,
    so it is given up on after ENV_WRITE_WAIT_SECONDS, not the whole wait."""
    scripted(monkeypatch, {"environ": [b""], "stat": [stat_line("R", env=(120, 120))]})
    clock = iter(range(1000))
    monkeypatch.setattr(procinfo.time, "monotonic", lambda: next(clock) / 1000)  # a millisecond a look
    assert procinfo.settled_environ(7, wait=0.5) == []
    assert next(clock) <= procinfo.ENV_WRITE_WAIT_SECONDS * 1000 + 3


def test_real_processes_in_and_after_an_exec() -> None:
    """Against the kernel: a job read over and over while it execs twice (`setsid sleep`) always shows its tag; a
    process started with no environment shows none, and is not waited for."""
    env = {**os.environ, "DREAMCLI_SHELL_TAG": "in-exec"}
    for _ in range(200):
        shell = subprocess.Popen(["sh", "-c", "setsid sleep 30 & echo $!; exec sleep 30"], stdout=subprocess.PIPE,
                                 env=env)
        assert shell.stdout is not None
        job = int(shell.stdout.readline())
        try:
            for _ in range(10):
                assert b"DREAMCLI_SHELL_TAG=in-exec" in procinfo.settled_environ(job)
        finally:
            os.kill(job, 9)
            shell.kill()
            shell.wait()
    bare = subprocess.Popen(["env", "-i", "sleep", "30"])
    try:
        deadline = time.monotonic() + 5
        while Path(f"/proc/{bare.pid}/cmdline").read_bytes() != b"sleep\x0030\x00":
            assert time.monotonic() < deadline
            time.sleep(0.005)
        begun = time.monotonic()
        assert procinfo.settled_environ(bare.pid, wait=30) == [] and time.monotonic() - begun < 20
    finally:
        bare.kill()
        bare.wait()
