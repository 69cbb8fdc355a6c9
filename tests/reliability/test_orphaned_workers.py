"""A command killed with `kill -9` leaves no worker processes behind: the forked workers of `sessions
import --workers N` and of `dream --workers N` exit when their parent dies (before, they waited on the
pool's queue forever with ppid 1); a dream interrupted with SIGINT stops them within a second (before, it
exited once they had run every chunk submitted). docs/reliability.md, "Worker processes"."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from tests.support.transcripts import claude_transcript, utc

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table in /proc")

# the command, its converter (or the dream's scan) slowed down to SLOW_S a call so the kill lands while workers
# are busy and work is still queued for them, however late it comes (a loaded machine); each process that starts
# a call leaves a file named by its pid in the folder argv[2] (the test waits for a worker's); the patch is made
# before the pool forks, so the workers have it too
SLOW_S = 10
SCRIPT = f"""
import os, pathlib, sys, time
import importlib
module, attr = sys.argv[1].rsplit(":", 1)
started = pathlib.Path(sys.argv[2])
owner = importlib.import_module(module)
if "." in attr:
    owner, attr = getattr(owner, attr.split(".")[0]), attr.split(".")[1]
real = getattr(owner, attr)
def slow(*a, **k):
    (started / str(os.getpid())).touch()
    time.sleep({SLOW_S})
    return real(*a, **k)
setattr(owner, attr, slow)
from dreamcli.cli.app import main
sys.argv = ["dreamcli", *sys.argv[3:]]
main()
"""


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, ppid) of a process, None once it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2:].split()
    return fields[0], int(fields[1])


def _children(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(int(entry))
            if st is not None and st[1] == pid:
                kids.append(int(entry))
    return kids


def _alive(pid: int) -> bool:
    st = _stat(pid)
    return st is not None and st[0] not in ("Z", "X")  # a zombie has exited (pid 1 may not reap it)


def reap(proc: subprocess.Popen[bytes], kids: list[int]) -> None:
    """End a command a test started, and the workers it forked, if they are still running (the fix did not take)."""
    if proc.poll() is None:
        proc.kill()
        proc.communicate()
    for k in kids:
        if _alive(k):
            with contextlib.suppress(ProcessLookupError):
                os.kill(k, signal.SIGKILL)


def _at_work(proc: subprocess.Popen[bytes], started: Path, workers: int) -> list[int]:
    """Wait until the command's pool has `workers` processes and one of them is in a slowed call (the workers at
    work, chunks queued for them); the pool's pids. Fails if the command ended first or took 60 s."""
    kids: list[int] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        kids = _children(proc.pid)
        if len(kids) >= workers and {str(k) for k in kids} & set(os.listdir(started)):
            break
        time.sleep(0.02)
    assert proc.poll() is None and len(kids) >= workers, (kids, proc.stderr.read() if proc.stderr else "")
    assert {str(k) for k in kids} & set(os.listdir(started)), f"no worker of {kids} started a chunk"
    return kids


def _kill_parent_and_watch_workers(patch: str, args: list[str], workers: int, env: dict[str, str],
                                   started: Path) -> None:
    started.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, patch, str(started), *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    kids: list[int] = []
    try:
        kids = _at_work(proc, started, workers)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(_alive(k) for k in kids):
            time.sleep(0.05)
        left = [k for k in kids if _alive(k)]
        assert not left, f"workers still running after their parent was killed: {left} ({[_stat(k) for k in left]})"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for k in kids:  # the workers this test started, if the fix did not take
            if _alive(k):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(k, signal.SIGKILL)
        if proc.stderr is not None:
            proc.stderr.close()


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "ANTHROPIC_AUTH_TOKEN", "DREAMCLI_HOME")}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH", "")])
    return env


@pytest.mark.slow
def test_killed_import_leaves_no_workers(tmp_path: Path) -> None:
    src = tmp_path / "projects"
    for i in range(40):
        sid = f"{i:04d}-aaaa"
        claude_transcript(src / f"-p{i % 3}" / f"{sid}.jsonl", session_id=sid, start=utc(2026, 4, 1 + i % 27, 9),
                          seed=i, rounds=2)
    _kill_parent_and_watch_workers("dreamcli.sessions.importers.units:Converter.unit",
                                   ["--home", str(tmp_path / "ws"), "sessions", "import", "claude-code", str(src),
                                    "--workers", "2", "--json"], 2, _env(), tmp_path / "started")


@pytest.mark.slow
def test_killed_dream_leaves_no_workers(tmp_path: Path, no_model: None) -> None:
    r = CliRunner().invoke(app, ["init", str(tmp_path / "demo"), "--with-samples"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    home = tmp_path / "demo" / ".dreamcli"
    # `--workers 3`: this process and a pool of two
    _kill_parent_and_watch_workers("dreamcli.dream.scan:_scan_chunk",
                                   ["--home", str(home), "dream", "--offline", "--all", "--workers", "3"], 2, _env(),
                                   tmp_path / "started")


def _signalled_at_work(args: list[str], workers: int, env: dict[str, str],
                       started: Path) -> tuple[int, float, str, list[int]]:
    """Start the command (its scan chunks slowed as above, SIGINT at its default, as in a terminal), wait
    until its pool is at work, send SIGINT to the command alone (`kill -INT PID`); its exit code, the seconds
    it took to exit after the signal, its stderr, and the pool's worker pids."""
    started.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, "dreamcli.dream.scan:_scan_chunk", str(started), *args],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    kids: list[int] = []
    try:
        kids = _at_work(proc, started, workers)  # most chunks still queued
        proc.send_signal(signal.SIGINT)
        sent = time.monotonic()
        _, err = proc.communicate(timeout=60)
        return proc.returncode, time.monotonic() - sent, err.decode(errors="replace"), kids
    finally:
        reap(proc, kids)


@pytest.mark.slow
def test_an_interrupted_dream_stops_its_workers_at_once(tmp_path: Path, no_model: None) -> None:
    """SIGINT to the dream alone: it exited 130 only once its pool had run every chunk submitted (the pool
    was shut down waiting); now the queued chunks are cancelled and the workers ended within a second."""
    from dreamcli.testing.synthetic import GenConfig, generate
    from dreamcli.workspace.home import Workspace

    home = tmp_path / "home"
    generate(Workspace(root=home, source="env").ensure_layout(),
             GenConfig(sessions=48, seed=5, start=datetime(2026, 10, 1, tzinfo=UTC)))
    # `--workers 2`: this process and a pool of one; 24 chunks of SLOW_S each: minutes of scanning
    code, after, err, kids = _signalled_at_work(["--home", str(home), "dream", "--offline", "--all",
                                                 "--workers", "2"], 1, _env(), tmp_path / "started")
    assert code == 130 and len(err.strip().splitlines()) == 1 and "interrupted" in err, err  # no traceback
    # within a second on an idle machine; the bound leaves room for a loaded one and stays well below SLOW_S
    assert after < SLOW_S / 2, f"exited {after:.2f} s after SIGINT"
    time.sleep(0.2)
    left = [k for k in kids if _alive(k)]
    assert not left, f"workers still running after the dream exited: {left}"
    assert not any((home / "dreams").iterdir())  # no dream written


def _child_tied_to(parent: int, queue: multiprocessing.Queue[str]) -> None:
    from dreamcli import orphans

    orphans.tie_to_parent(parent)
    queue.put("still running")


def test_a_worker_whose_parent_is_already_gone_exits_at_once() -> None:
    """The race the initializer closes: the parent died between the fork and the parent-death signal."""
    ctx = multiprocessing.get_context("fork")
    queue: multiprocessing.Queue[str] = ctx.Queue()
    p = ctx.Process(target=_child_tied_to, args=(os.getpid() + 987654, queue))  # not its parent
    p.start()
    p.join(10)
    assert p.exitcode not in (None, 0) and queue.empty()
    p = ctx.Process(target=_child_tied_to, args=(os.getpid(), queue))
    p.start()
    p.join(10)
    assert p.exitcode == 0 and queue.get(timeout=5) == "still running"


def _child_watching(not_parent: int) -> None:
    from dreamcli import orphans

    orphans.POLL_SECONDS = 0.05
    orphans._parent_death_signal = lambda sig: False  # as where there is no prctl: the watching thread
    orphans.tie_to_parent(os.getppid())
    orphans._watch_parent(not_parent)  # a parent it has not: as once the real one died
    time.sleep(20)


def test_without_prctl_a_thread_watches_the_parent() -> None:
    ctx = multiprocessing.get_context("fork")
    p = ctx.Process(target=_child_watching, args=(os.getpid() + 987654,))
    started = time.monotonic()
    p.start()
    p.join(10)
    if p.exitcode is None:
        p.kill()
        p.join()
    assert p.exitcode == 1 and time.monotonic() - started < 5
