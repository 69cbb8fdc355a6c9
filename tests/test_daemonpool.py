"""dreamcli.daemonpool: results in submission order, at most `workers` calls at once, errors re-raised
where the result is read, queued calls cancelled by shutdown, and a blocked worker never keeps the
process alive (the reason it exists: Ctrl-C during `grade`)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time

import pytest

from dreamcli.daemonpool import DaemonPool, Task, TaskCancelled


def test_results_come_back_in_submission_order_with_at_most_workers_running() -> None:
    pool = DaemonPool(3, name="t")
    lock = threading.Lock()
    running, most = 0, 0

    def work(i: int) -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.02 * (5 - i % 5))  # later calls finish first
        with lock:
            running -= 1
        return i * i

    tasks = [pool.submit(work, i) for i in range(10)]
    assert [t.result() for t in tasks] == [i * i for i in range(10)]
    assert most == 3
    pool.shutdown()


def test_a_calls_exception_is_raised_where_its_result_is_read() -> None:
    pool = DaemonPool(2)
    bad = pool.submit(int, "not a number")
    good = pool.submit(int, "7")
    with pytest.raises(ValueError, match="not a number"):
        bad.result()
    assert good.result() == 7
    pool.shutdown()


def test_task_run_calls_now_and_keeps_the_exception() -> None:
    task = Task.run(int, "x")
    assert task.done()
    with pytest.raises(ValueError):
        task.result()
    assert Task.run(int, "3").result() == 3


def test_shutdown_cancels_calls_not_started_and_refuses_new_ones() -> None:
    pool = DaemonPool(1)
    entered, gate = threading.Event(), threading.Event()

    def block() -> bool:
        entered.set()
        return gate.wait(5)

    started = pool.submit(block)
    queued = pool.submit(int, "1")
    assert entered.wait(5)
    pool.shutdown()
    gate.set()
    assert started.result() is True
    with pytest.raises(TaskCancelled):
        queued.result()
    with pytest.raises(RuntimeError, match="after shutdown"):
        pool.submit(int, "2")


def test_a_blocked_worker_does_not_keep_the_process_alive() -> None:
    code = textwrap.dedent("""
        import threading
        from dreamcli.daemonpool import DaemonPool
        pool = DaemonPool(2)
        pool.submit(threading.Event().wait)  # a call that never returns: a stalled endpoint
        pool.submit(threading.Event().wait)
        pool.shutdown()
        print("main done", flush=True)
    """)
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "main done\n"
    assert time.monotonic() - t0 < 10
