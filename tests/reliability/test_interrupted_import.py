"""`sessions import --workers 2` stopped by Ctrl-C (SIGINT to the command, or to its whole process group as a
terminal sends it) or SIGTERM exits 130/143 with one line within a second, its workers gone and nothing
staged left; the next import finishes the work, nothing lost or imported twice. Before, the pool's with-block
waited for the chunks its workers ran and had queued (seconds). docs/reliability.md, "Worker processes"."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dreamcli import orphans
from dreamcli.audit import iter_audit
from dreamcli.sessions.importers import runner, units
from dreamcli.sessions.importers.context import UnitResult
from dreamcli.sessions.importers.runner import import_transcripts
from dreamcli.sessions.paths import iter_session_files
from dreamcli.workspace.home import Workspace
from tests.reliability.test_orphaned_workers import _alive, _children, _env, reap

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table in /proc")

FIDELITY = Path(__file__).resolve().parents[1] / "sessions" / "fidelity" / "claude-code"
COPIES = 4  # of each fidelity transcript: 40 sessions

# the import in chunks of 4 units, batches of 8 moved in as they come; the units of the first copy (-p0) slowed
# to 0.3 s, the others to SLOW_S: once the first batch is in, every chunk a worker runs or has queued holds
# seconds of work, however late the signal comes (a loaded machine), and an import that waited for them (the
# bug) would take SLOW_S or more to exit; the patch is made before the fork
SLOW_S = 10
SCRIPT = f"""
import sys, time
from dreamcli.sessions.importers import runner, units
runner.CHUNK_UNITS, runner.COMMIT_EVERY_FILES = 4, 8
real = units.Converter.unit
def slow(self, node, *a, **k):
    time.sleep(0.3 if node.path.parent.name == "-p0" else {SLOW_S})
    return real(self, node, *a, **k)
units.Converter.unit = slow
from dreamcli.cli.app import main
sys.argv = ["dreamcli", *sys.argv[1:]]
main()
"""


def _corpus(dst: Path) -> Path:
    """Copies of the fidelity transcripts under names of their own (the session id follows the file name)."""
    files = [p for p in FIDELITY.rglob("*.jsonl") if "subagents" not in p.parts]
    for k in range(COPIES):
        for p in files:
            (dst / f"-p{k}").mkdir(parents=True, exist_ok=True)
            shutil.copyfile(p, dst / f"-p{k}" / f"{k}-{p.parent.name}-{p.name}")
    return dst


def _session_ids(home: Path) -> list[str]:
    return sorted(p.name.split(".")[0] for p in iter_session_files(Workspace(root=home, source="option")))


PLAIN = "import sys\nfrom dreamcli.cli.app import main\nsys.argv = ['dreamcli', *sys.argv[1:]]\nmain()\n"


def _import(home: Path, src: Path, script: str = PLAIN, **popen: Any) -> subprocess.Popen[bytes]:
    """`sessions import claude-code SRC --workers 2` into `home`, run by `script` (the command line in argv)."""
    args = ["--home", str(home), "sessions", "import", "claude-code", str(src), "--workers", "2", "--json"]
    return subprocess.Popen([sys.executable, "-c", script, *args], env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, **popen)


def _interrupt(home: Path, src: Path, sig: int, group: bool) -> tuple[int | None, float, str, list[int]]:
    """Start the slowed import (its own process group, SIGINT at its default, as in a terminal), wait until a
    batch is in and its two workers run (from then on, with chunks of slow units only), send `sig` to it (or
    its group); its exit code, the seconds it took to exit after the signal, its stderr, and its worker pids."""
    proc = _import(home, src, SCRIPT, start_new_session=True,
                   preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    kids: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None and not _session_ids(home):
            kids = _children(proc.pid)
            time.sleep(0.05)
        kids = _children(proc.pid)  # the two workers (and maybe a `git config` the audit record asks)
        assert proc.poll() is None and len(kids) >= 2, (kids, proc.stderr.read() if proc.stderr else "")
        (os.killpg if group else os.kill)(proc.pid, sig)
        sent = time.monotonic()
        _, err = proc.communicate(timeout=60)
        return proc.returncode, time.monotonic() - sent, err.decode(errors="replace"), kids
    finally:
        reap(proc, kids)


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "group", "code", "line"), [
    (signal.SIGINT, False, 130, "error: interrupted"),
    (signal.SIGINT, True, 130, "error: interrupted"),
    (signal.SIGTERM, False, 143, "error: interrupted by SIGTERM"),
    (signal.SIGTERM, True, 143, "error: interrupted by SIGTERM"),
], ids=["sigint", "sigint-group", "sigterm", "sigterm-group"])
def test_an_interrupted_import_stops_its_workers_at_once_and_the_next_one_finishes(
        tmp_path: Path, no_model: None, sig: int, group: bool, code: int, line: str) -> None:
    src = _corpus(tmp_path / "projects")
    ref = Workspace(root=tmp_path / "ref", source="option")
    whole = import_transcripts(ref, "claude-code", src, workers=1)
    assert whole.sessions == 10 * COPIES == len(_session_ids(ref.root))

    home = tmp_path / "ws"
    got, after, err, kids = _interrupt(home, src, sig, group)
    assert (got, err.strip()) == (code, line), err  # one line, no traceback (a worker's neither)
    # within a second on an idle machine; the bound leaves room for a loaded one and stays well below SLOW_S
    assert after < SLOW_S / 2, f"exited {after:.2f} s after {signal.Signals(sig).name}"
    time.sleep(0.2)
    assert not [k for k in kids if _alive(k)], "workers still running after the import exited"
    staging = home / "state" / "import-staging"
    assert not staging.exists() or not any(staging.iterdir())  # no staged file left
    first = _session_ids(home)
    assert 0 < len(first) < len(_session_ids(ref.root))  # stopped part-way: some batches in, the rest not

    again = _import(home, src)
    _, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert _session_ids(home) == _session_ids(ref.root)  # nothing lost
    audited = [r for r in iter_audit(Workspace(root=home, source="option")) if r.get("action") == "sessions-import"]
    assert sum(r["sessions"] for r in audited) == whole.sessions  # each session audited once: none imported twice



def _forked(pid: int) -> bool:
    """Whether the process forked a child yet (its main thread's children: a pool's workers)."""
    with contextlib.suppress(OSError):
        return bool(Path(f"/proc/{pid}/task/{pid}/children").read_text().split())
    return False


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "group", "code"), [(signal.SIGTERM, False, 143), (signal.SIGINT, True, 130)],
                         ids=["sigterm", "sigint-group"])
def test_a_signal_as_the_pool_forks_its_workers_ends_in_one_line(
        tmp_path: Path, no_model: None, sig: int, group: bool, code: int) -> None:
    """The signal lands as the pool forks: it ran the command's handler in fork hooks, the parent's (which
    printed "Exception ignored in" a traceback, and could leave filelock's fork gate shut: the import then
    hung at its next lock) or the new worker's, before its initializer (a traceback from the worker). The
    import is the slowed one, so however late the signal lands it still finds the import at work."""
    src = _corpus(tmp_path / "projects")
    for attempt in range(5):
        proc = _import(tmp_path / f"ws{attempt}", src, SCRIPT, start_new_session=True,
                       preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        try:
            deadline = time.monotonic() + 30
            while not _forked(proc.pid) and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.001)
            (os.killpg if group else os.kill)(proc.pid, sig)
            _, err = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
        assert (proc.returncode, len(err.splitlines())) == (code, 1), err.decode(errors="replace")


REAL_UNIT = units.Converter.unit


def _slow_unit(self: units.Converter, node: units.Node) -> list[UnitResult]:
    time.sleep(0.3)
    return REAL_UNIT(self, node)


def _first_copy_fails(self: units.Converter, node: units.Node) -> list[UnitResult]:
    if node.path.parent.name == "-p0":  # the first chunks of the plan
        raise ValueError(f"cannot read {node.path.name}")
    return _slow_unit(self, node)


@pytest.mark.slow
@pytest.mark.parametrize(("unit", "interrupt", "error"), [
    (_slow_unit, True, KeyboardInterrupt),
    (_first_copy_fails, False, ValueError),
], ids=["interrupted-between-chunks", "failed-chunk"])
def test_an_import_stopped_in_process_ends_its_pool_before_it_returns(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, unit: Callable[..., list[UnitResult]], interrupt: bool,
        error: type[BaseException]) -> None:
    """Ctrl-C while the import reports progress or commits (outside its pool's generator), or a chunk failing
    in a worker: the import returned only once its workers had run every chunk they had started or queued;
    now the pool is stopped at once, and before the staging folder is removed (a worker still converting
    could make it again)."""
    monkeypatch.setattr(runner, "CHUNK_UNITS", 4)
    monkeypatch.setattr(units.Converter, "unit", unit)  # before the fork: the workers have it
    src = _corpus(tmp_path / "projects")
    raised: list[float] = []

    def progress(p: runner.ImportProgress) -> None:
        if interrupt and p.files_done >= 4 and not raised:  # the first chunk in, the pool still at work
            raised.append(time.monotonic())
            raise KeyboardInterrupt

    ws = Workspace(root=tmp_path / "ws", source="option")
    before = multiprocessing.active_children()
    started = time.monotonic()
    with pytest.raises(error):
        import_transcripts(ws, "claude-code", src, workers=2, progress=progress)
    took = time.monotonic() - (raised[0] if raised else started)
    assert took < 1.5, f"returned {took:.2f} s after the stop"
    assert [p for p in multiprocessing.active_children() if p not in before] == []  # no worker left
    assert not (ws.state_dir / "import-staging").exists()


def _worker_signalled_before_its_initializer(queue: Any) -> None:
    time.sleep(0.5)  # the fork hooks and the pool's bootstrap, before the initializer: signalled meanwhile
    queue.put("alive")
    orphans.stoppable_worker(os.getppid())
    try:
        orphans.run_stoppable(queue.put, "a task ran")
    except orphans.WorkerStopped:
        queue.put("its tasks stop")


def test_a_stoppable_worker_takes_a_signal_sent_before_its_initializer_once_it_can_stop() -> None:
    """Ctrl-C to the process group, or SIGTERM from a pool stopped as it starts, reached a new worker while
    it ran the parent's handlers (in fork hooks, which printed what they raised) or the default action;
    forked inside `signals_held`, it takes them once `stoppable_worker` is in place."""
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    p = ctx.Process(target=_worker_signalled_before_its_initializer, args=(queue,))
    with orphans.signals_held():
        p.start()
    os.kill(p.pid, signal.SIGINT)
    os.kill(p.pid, signal.SIGTERM)
    p.join(10)
    said = [queue.get(timeout=5) for _ in range(2)] if p.exitcode == 0 else []
    assert (p.exitcode, said) == (0, ["alive", "its tasks stop"])
