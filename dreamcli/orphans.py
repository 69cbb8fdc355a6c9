"""Worker processes that end with their parent.

A `ProcessPoolExecutor` worker waits on the pool's queue, and a forked worker holds that queue's write end
itself, so when its parent is killed (`kill -9`, the OOM killer) it waits forever, reparented to init.
`pool_options(context)` gives a pool an initializer that ties each worker to the process that started it:

- on Linux, the parent-death signal (`prctl(PR_SET_PDEATHSIG, SIGTERM)`): the kernel sends SIGTERM the
  moment the parent dies, whatever the worker is doing. The signal follows the *thread* that forked the
  worker, so the pool must live no longer than that thread (both pools here are used inside one call);
- elsewhere (no `prctl`), a daemon thread that checks `os.getppid()` every second;
- in both, right after: if the parent already changed (it died between the fork and the call), exit.

A worker exits with `os._exit` (no atexit handlers, no flush of stdio buffers it inherited from its
parent) or by the default SIGTERM action. Imports nothing of dreamcli; used by the transcript
importer (`sessions/importers/runner.py`) and the dream's process pool (`dream/executors.py`).

A pool stopped early (Ctrl-C, a failed task) must not wait for its workers to run what is queued. With
`pool_options(context, stoppable=True)` and each task submitted as `run_stoppable(fn, *args)`, SIGTERM from
the parent stops a worker's running task at once (it raises `WorkerStopped`) and every task after it; a
worker sending a result or waiting for a task only notes it, and exits when the pool sends it the end: a
worker killed while it writes a result leaves the pool's reader waiting for the rest of it forever, and
Python waits for that reader at exit. Ctrl-C is its parent's to handle (ignored in such a worker).
`new_children(before)` names the workers a pool started (the multiprocessing children that were not
there `before`), and `end_now(workers)` sends them SIGTERM, and SIGKILL to any left after a grace.
`stop_pool(pool, *started_since(children, threads))` does it all for a pool stopped early, with the
children and threads listed before its first `submit`. A stoppable pool's first tasks are submitted (its
workers forked) inside `signals_held()`: a worker takes SIGINT and SIGTERM only once its own handlers are
in place, this process once the fork is done (before, a signal then, Ctrl-C to the process group or a pool
stopped as it started, ran the command's handler inside fork hooks, this process's or the new worker's:
they print what it raised, and filelock's left its fork gate shut, so the next lock waited forever).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Collection, Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from concurrent.futures import Executor

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
POLL_SECONDS = 1.0  # how often a worker without prctl checks its parent
END_GRACE_SECONDS = 1.0  # end_now: from SIGTERM to SIGKILL
EXIT_ORPHANED = 1
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)  # what a stoppable worker handles (`signals_held`)
Started = tuple[list[Any], list[threading.Thread]]  # a pool's worker processes and threads (`started_since`)


_task_running = False  # in a stoppable worker: inside run_stoppable's call
_stopping = False  # ... SIGTERM came from the parent


class WorkerStopped(KeyboardInterrupt):
    """A stoppable worker's task stopped by SIGTERM (its parent's, stopping the pool: Ctrl-C, a failed task).
    Not an Exception: the task's own `except Exception` does not catch it."""


def pool_options(context: Any, *, stoppable: bool = False) -> dict[str, Any]:
    """`initializer` and `initargs` for a `ProcessPoolExecutor` made with the multiprocessing `context`.
    With fork and spawn the workers' parent is this process; with forkserver it is the server (which
    ends when this process does), so the worker ties itself to whichever parent it has. `stoppable`: its
    tasks, each submitted as `run_stoppable(fn, *args)`, stop on SIGTERM (`end_now`)."""
    method = context.get_start_method()
    parent = os.getpid() if method in ("fork", "spawn") else None
    return {"initializer": stoppable_worker if stoppable else tie_to_parent, "initargs": (parent,)}


def stoppable_worker(parent_pid: int | None = None) -> None:
    """Initializer: `tie_to_parent`, then SIGTERM stops the task running (`run_stoppable`) and every later
    one, or, once the parent is gone, the process (as SIGTERM's default action did); SIGINT is ignored."""
    tie_to_parent(parent_pid)
    expected = os.getppid() if parent_pid is None else parent_pid

    def on_sigterm(signum: int, frame: Any) -> None:
        global _stopping
        if parent_gone(expected):  # the parent-death signal: nobody reads what this process would send
            os._exit(EXIT_ORPHANED)
        first, _stopping = not _stopping, True
        if first and _task_running:  # once: a second SIGTERM never cuts the (short) error being sent
            raise WorkerStopped

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, on_sigterm)
    if hasattr(signal, "pthread_sigmask"):  # held since the fork (`signals_held`): taken from now on
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM blocked in this thread inside the block, for the `submit` calls that fork a stoppable
    pool's workers: each starts with them blocked and `stoppable_worker` unblocks them once its handlers are in
    place. A signal to this process meanwhile is taken when the block ends. Only for stoppable pools: any
    other worker would keep them blocked."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def run_stoppable(fn: Any, *args: Any) -> Any:
    """`fn(*args)` in a stoppable worker; WorkerStopped once its parent sent SIGTERM."""
    global _task_running
    if _stopping:
        raise WorkerStopped
    _task_running = True
    try:
        return fn(*args)
    finally:
        _task_running = False


def tie_to_parent(parent_pid: int | None = None) -> None:
    """Make this process exit when its parent dies (run first in a pool worker). `parent_pid`: the
    parent it should have; None takes the one it has now."""
    expected = os.getppid() if parent_pid is None else parent_pid
    # the parent's handler (if it had one) is no business of a worker: SIGTERM ends it
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if not _parent_death_signal(signal.SIGTERM):
        _watch_parent(expected)
    if os.getppid() != expected:  # the parent died before the signal was set up: nobody would send it
        os._exit(EXIT_ORPHANED)


def parent_gone(parent_pid: int) -> bool:
    """True when this process is no longer the child of `parent_pid` (it died; the process was
    reparented)."""
    return os.getppid() != parent_pid


def _parent_death_signal(sig: int) -> bool:
    """prctl(PR_SET_PDEATHSIG, sig) on Linux; False where it is not available or fails."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return False
    return bool(prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0)


def _watch_parent(parent_pid: int) -> None:
    """A daemon thread that ends the process once its parent is gone (polled: no prctl here)."""

    def watch() -> None:
        while not parent_gone(parent_pid):
            time.sleep(POLL_SECONDS)
        os._exit(EXIT_ORPHANED)

    threading.Thread(target=watch, name="dreamcli-parent-watch", daemon=True).start()


def new_children(before: Collection[Any]) -> list[Any]:
    """This process's live multiprocessing children (`multiprocessing.Process`) not in `before`, an earlier
    `multiprocessing.active_children()`: the workers of a pool started since."""
    import multiprocessing

    return [p for p in multiprocessing.active_children() if p not in before]


def end_now(processes: Sequence[Any], grace: float = END_GRACE_SECONDS) -> None:
    """End `processes` (`multiprocessing.Process`): SIGTERM (a stoppable worker stops its task, then exits when
    its pool ends it; any other worker at once), SIGKILL for any still alive after `grace` seconds."""
    for p in processes:
        p.terminate()
    deadline = time.monotonic() + grace
    for p in processes:
        p.join(max(0.0, deadline - time.monotonic()))
    for p in processes:
        if p.is_alive():
            p.kill()
            p.join(grace)


def started_since(children: Collection[Any], threads: Collection[threading.Thread]) -> Started:
    """The multiprocessing children and the threads started since `children` (`multiprocessing.active_children()`)
    and `threads` (`threading.enumerate()`) were listed: list them again once a pool's first tasks are submitted
    (it starts its processes and its thread in `submit`)."""
    return new_children(children), [t for t in threading.enumerate() if t not in threads]


def stop_pool(pool: Executor, workers: Sequence[Any], threads: Sequence[threading.Thread]) -> None:
    """Stop `pool` now: its queued tasks cancelled, the tasks its `workers` run stopped (`end_now`: SIGTERM, then
    SIGKILL for a worker not gone within END_GRACE_SECONDS), and its `threads` (its manager, which collects the
    stopped tasks and ends the workers) waited for within that time: Python 3.11, at exit, wrote to the pipe of
    a manager still closing it (an EBADF traceback after "interrupted"). A second Ctrl-C meanwhile is ignored
    (a repeated SIGTERM is, by dreamcli.interrupts): cut short, the stop left that traceback, or the process
    killed by SIGINT instead of its one line."""
    with _ctrl_c_ignored():
        pool.shutdown(wait=False, cancel_futures=True)
        end_now(workers)
        deadline = time.monotonic() + END_GRACE_SECONDS
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))


@contextlib.contextmanager
def _ctrl_c_ignored() -> Iterator[None]:
    """SIGINT ignored inside the block (for the whole process: a signal mask is per thread, and any thread may
    take it), when this is the main thread, which alone may set a handler."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
