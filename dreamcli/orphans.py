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
parent) or by the default SIGTERM action. Imports nothing from dreamcli; used by the transcript importer
(`sessions/importers/runner.py`) and the dream's process pool (`dream/executors.py`).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from typing import Any

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
POLL_SECONDS = 1.0  # how often a worker without prctl checks its parent
EXIT_ORPHANED = 1


def pool_options(context: Any) -> dict[str, Any]:
    """`initializer` and `initargs` for a `ProcessPoolExecutor` made with the multiprocessing `context`.
    With fork and spawn the workers' parent is this process; with forkserver it is the server (which
    ends when this process does), so the worker ties itself to whichever parent it has."""
    method = context.get_start_method()
    parent = os.getpid() if method in ("fork", "spawn") else None
    return {"initializer": tie_to_parent, "initargs": (parent,)}


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
