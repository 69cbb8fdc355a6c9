"""A command that ends while a pool worker still runs a call (a grade stopped by Ctrl-C, or ending on an
endpoint it cannot reach while the other calls go on) ends with its own exit code. It ended through the
interpreter's finalisation, which unwinds a worker inside RE2 (a C++ extension that let go of the GIL) with
`pthread_exit`: the C++ runtime aborted the process, `terminate called without an active exception` and
exit 134, in about one grade in five against an unreachable endpoint."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from dreamcli import daemonpool

pytest.importorskip("re2")

SCRIPT = textwrap.dedent("""
    import sys, time
    import re2
    from dreamcli.daemonpool import DaemonPool
    from dreamcli.cli import app, root

    pattern = re2.compile(r"(x+x+)+y")
    text = "x" * 200000

    def spin():
        while True:
            pattern.search(text)

    pool = DaemonPool(3)
    for _ in range(3):
        pool.submit(spin)
    time.sleep(0.2)
    print("the command's output")
    root.run = lambda *a: sys.exit(4)
    app.main()
""")


@pytest.mark.slow
def test_the_exit_code_stands_while_workers_are_inside_re2() -> None:
    for _ in range(3):  # it aborted every time before
        proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 4, proc.stderr
        assert proc.stdout == "the command's output\n" and "terminate" not in proc.stderr


def test_busy_counts_the_calls_running_in_every_pool() -> None:
    import threading

    release = threading.Event()
    started = threading.Semaphore(0)

    def hold() -> None:
        started.release()
        release.wait(10)

    before = daemonpool.busy()
    pools = [daemonpool.DaemonPool(2), daemonpool.DaemonPool(1)]
    tasks = [pool.submit(hold) for pool in pools for _ in range(pool.workers)]
    for _ in tasks:
        assert started.acquire(timeout=10)
    assert daemonpool.busy() == before + 3
    release.set()
    for task in tasks:
        task.result()
    for pool in pools:
        pool.shutdown()
    assert daemonpool.busy() == before
