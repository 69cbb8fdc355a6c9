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
parent) or by the default SIGTERM action. Imports only the leaf `dreamcli.procinfo`; used by the transcript
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
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dreamcli.procinfo import ancestors, descends, environ, own_processes, pid_namespace, process_start

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


# --- the agent's shells, recorded by their owner ---------------------------------------------------------------------
# The agent's shells run in sessions of their own (so a timeout or Ctrl-C stops all they started), and nothing ties
# them to dreamcli: killed with -9, it leaves them and what they run (`sleep 1000`, a server started with `&`)
# running. Each shell is recorded while it runs, `record_group(folder, pgid, tag)`, one small file per shell named
# `<owner pid>-<pgid>.json`, removed by `forget_group` once the shell is stopped; the next command's sweep calls
# `stop_orphaned_groups(folder)`, which stops what the shells of owners that no longer run still run. Both the owner
# and the shell are known by their pid and start time (a pid the system gave to another process since is neither).
# A shell's processes (`stop_members`) are the shell itself and every process of this user started since that carries
# its tag (the environment variable GROUP_TAG_VAR, set to a random value for each shell, which all it starts inherit),
# in its session or not: the shell may have exited, leaving its background jobs, and a job may have left the session
# (`setsid`, a server that daemonises). A process that cleared or replaced its environment (`env -i`) escapes: this
# stops what was left behind, it is no sandbox. /proc is read only when there is a shell to stop. Linux only;
# elsewhere nothing is recorded.
# Pids mean something only in the pid namespace they were read in: a record names its owner's (`pidns`), and one
# from another namespace (an owner in a container sharing the workspace) is left alone, its owner unknown here. A
# record without it was written before shells were found by their tag alone: only processes in the shell's session
# are its own. What carries a dead shell's tag is spared when it is the sweeper or one of its ancestors (a dreamcli
# command the agent ran, through `timeout` or `sh`), or a live owner of a record here or a descendant of one (a
# dreamcli run started from the dead shell: it and all it started, its workers, are its own to stop).

GROUP_TAG_VAR = "DREAMCLI_SHELL_TAG"
Group = tuple[int, int, str]  # a recorded shell: its pgid (its pid, and its session's id), start time, tag
Record = tuple[bool | None, int | None, Group | None, bool]  # `_read_record`
Member = tuple[int, int]  # a process of a shell: its pid and start time
_owner_start: list[int | None] = []  # this process's start time, read once


def record_group(folder: Path, pgid: int, tag: str) -> Path | None:
    """Record that this process owns the process group (and session) `pgid`, its members tagged `tag`; the record's
    path, or None when it cannot be written (a read-only workspace) or identities cannot be read (no /proc)."""
    import json

    if not _owner_start:
        _owner_start.append(process_start(os.getpid(), zombies=False))
    owner_start, start = _owner_start[0], process_start(pgid, zombies=False)
    if owner_start is None or start is None:
        return None
    path = folder / f"{os.getpid()}-{pgid}.json"
    namespace = pid_namespace()  # what its pids mean (`_read_record`)
    rec = {"owner": os.getpid(), "owner_start": owner_start, "pgid": pgid, "start": start, "tag": tag}
    data = json.dumps(rec if namespace is None else {**rec, "pidns": namespace})
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, data.encode())
        finally:
            os.close(fd)
    except OSError:
        return None
    return path


def forget_group(path: Path | None) -> None:
    """Remove a record of `record_group` (its group is stopped)."""
    if path is not None:
        with contextlib.suppress(OSError):
            os.unlink(path)


def stop_orphaned_groups(folder: Path, grace: float = END_GRACE_SECONDS) -> list[int]:
    """Stop the processes of the recorded shells whose owner no longer runs (`stop_members`), then remove their
    records; the pgids of the shells that still had processes. A live owner's records, and what it runs, are left
    alone, and so are the records of another pid namespace. A zombie owner is dead: it runs nothing."""
    try:
        names = [n for n in os.listdir(folder) if n.endswith(".json")]
    except OSError:
        return []
    here = pid_namespace()
    groups: list[Group] = []
    bound: list[Group] = []
    live: set[int] = set()
    done: list[Path] = []
    for name in names:
        path = folder / name
        alive, owner, group, legacy = _read_record(path, here)
        if alive is None:  # another namespace's: its owner's pid names another process here, or none
            continue
        if alive:
            if owner is not None:
                live.add(owner)
            continue
        done.append(path)
        if group is not None:
            groups.append(group)
            if legacy:
                bound.append(group)
    stopped = stop_members(groups, grace, spare=live, bound=bound)
    for path in done:  # only now: a sweep killed half way is done again
        forget_group(path)
    return stopped


def _read_record(path: Path, here: str | None) -> Record:
    """(whether its owner runs: None when it ran in another pid namespace than `here`; the owner's pid; the shell;
    whether the shell is bound to its session: a record without a namespace, written before the tag sweep). A record
    half written, or not ours, gives only its owner's pid (from its name), and no shell."""
    import json

    name = path.name.split("-", 1)[0]
    try:
        rec = json.loads(path.read_bytes())
        namespace = rec.get("pidns")
        if namespace is not None and namespace != here:
            return None, None, None, False
        pid = int(rec["owner"])
        group = (int(rec["pgid"]), int(rec["start"]), str(rec["tag"]))
        return process_start(pid, zombies=False) == int(rec["owner_start"]), pid, group, namespace is None
    except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError):
        owner = int(name) if name.isdigit() else None
        return owner is not None and process_start(owner, zombies=False) is not None, owner, None, False


def _members(groups: Sequence[Group], spare: Collection[int], bound: Collection[Group]) -> dict[int, list[Member]]:
    """pgid -> the live processes of that shell: itself (the pid, started at the time recorded), and the processes
    of this user started since that carry its tag, wherever they are (one pass over /proc for all the shells), in
    its session for a shell in `bound`. Never this process or its ancestors (a command run in a dead owner's shell,
    through a wrapper: it ends on its own), nor the processes `spare` (live owners) and their descendants."""
    found: dict[int, list[Member]] = {pgid: [] for pgid, _, _ in groups}
    if not groups:
        return found
    bound = set(bound)
    shells = {pgid: (start, (pgid, start, tag) in bound) for pgid, start, tag in groups}
    marks = {f"{GROUP_TAG_VAR}={tag}".encode(): (pgid, start, (pgid, start, tag) in bound)
             for pgid, start, tag in groups}
    processes = list(own_processes(since=min(start for start, _ in shells.values())))
    parents = {pid: stat.ppid for pid, stat in processes}
    kept = {os.getpid(), *ancestors(os.getpid())}
    for pid, stat in processes:
        if pid in kept or descends(pid, parents, spare):
            continue
        shell = shells.get(pid)
        if shell is not None and shell[0] == stat.start and (not shell[1] or stat.session == pid):
            found[pid].append((pid, stat.start))
            continue
        for entry in environ(pid):
            mark = marks.get(entry)  # started since the shell, in its session if bound to it
            if mark is not None and stat.start >= mark[1] and (not mark[2] or stat.session == mark[0]):
                found[mark[0]].append((pid, stat.start))
                break
    return found


def stop_members(groups: Sequence[Group], grace: float, *, spare: Collection[int] = (),
                 bound: Collection[Group] = ()) -> list[int]:
    """SIGTERM to the processes of each shell (`_members`: never the processes `spare`, nor their descendants; in
    its session for a shell in `bound`), SIGKILL to those still there after `grace` and to those they started
    meanwhile (one wait for them all); the pgids of the shells that had any."""
    found = _members(groups, spare, bound)
    had = [pgid for pgid, members in found.items() if members]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        targets = [member for members in found.values() for member in members]
        if not targets:
            break
        for pid, _ in targets:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        if sig == signal.SIGTERM:
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and any(process_start(p, zombies=False) == s for p, s in targets):
                time.sleep(0.05)
            found = _members(groups, spare, bound)
    return had
