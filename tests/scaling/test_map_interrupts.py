"""A dream's map stopped early (Ctrl-C, a failed task, the caller gone) stops at once: the local pool's
queued tasks are cancelled and its workers ended (before, leaving the pool waited for every task submitted),
and Ray's tasks are cancelled and collected within a second, not ten. The real signal to a real dream:
tests/reliability/test_orphaned_workers.py."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
from typing import Any

import pytest

from dreamcli.dream import executors
from dreamcli.dream.executors import LocalExecutor
from tests.support.ray import FakeRay

SLOW = 0.3  # seconds a task takes; 30 of them on a pool of two: 4.5 s to run them all


def _slow(i: int, parent: int) -> int:
    time.sleep(SLOW)
    return i


def _fails_first(i: int, parent: int) -> int:
    if i == 0:
        raise ValueError("chunk 0 is malformed")
    return _slow(i, parent)


def _interrupted_here(i: int, parent: int) -> int:
    if os.getpid() == parent:  # this process's first task from the back: as Ctrl-C lands in it
        raise KeyboardInterrupt
    return _slow(i, parent)


def _tasks(n: int = 30) -> list[tuple[int, int]]:
    return [(i, os.getpid()) for i in range(n)]


def _pool_gone(before: list[Any]) -> bool:
    return [p for p in multiprocessing.active_children() if p not in before] == []


def test_a_local_map_left_early_ends_its_workers_at_once() -> None:
    before = multiprocessing.active_children()
    results = LocalExecutor(3).map(_slow, _tasks())
    assert next(results) == 0
    started = time.monotonic()
    results.close()  # type: ignore[attr-defined]
    assert time.monotonic() - started < 1.0 and _pool_gone(before)


@pytest.mark.parametrize(("fn", "error"), [(_fails_first, ValueError), (_interrupted_here, KeyboardInterrupt)])
def test_a_failed_or_interrupted_local_map_ends_its_workers_at_once(fn: Any, error: type[BaseException]) -> None:
    before = multiprocessing.active_children()
    started = time.monotonic()
    with pytest.raises(error):
        list(LocalExecutor(3).map(fn, _tasks()))
    assert time.monotonic() - started < 1.5 and _pool_gone(before)


def _big(i: int, parent: int) -> bytes:
    if os.getpid() == parent:  # this process slow: the pool's workers spend their time writing results
        time.sleep(0.2)
    return bytes(8 * 2**20)


def test_a_local_map_stopped_while_its_workers_send_results_leaves_no_pool_running() -> None:
    """A worker killed halfway through writing a result left the pool's reader waiting for the rest of it
    forever, and Python waits for that reader at exit: now a worker stops inside a task, never in a send."""
    before, threads = multiprocessing.active_children(), threading.enumerate()
    for _ in range(3):
        results = LocalExecutor(3).map(_big, _tasks(20))
        assert len(next(results)) == 8 * 2**20
        started = time.monotonic()
        results.close()  # type: ignore[attr-defined]
        assert time.monotonic() - started < 1.5
    assert [t for t in threading.enumerate() if t not in threads] == [] and _pool_gone(before)


def test_a_local_map_run_to_its_end_is_unchanged() -> None:
    before = multiprocessing.active_children()
    assert list(LocalExecutor(3).map(_slow, _tasks(6))) == list(range(6))
    assert _pool_gone(before)


def _stoppable_child(queue: Any, inside: bool) -> None:
    """A stoppable worker that gets SIGTERM inside a task, or outside one (as while it writes a result)."""
    from dreamcli import orphans

    orphans.stoppable_worker(os.getppid())
    os.kill(os.getpid(), signal.SIGINT)  # ignored: the parent handles Ctrl-C
    if inside:
        started = time.monotonic()
        try:
            orphans.run_stoppable(_term_self_then_sleep)
            queue.put("ran to its end")
        except orphans.WorkerStopped:
            queue.put(f"stopped after {time.monotonic() - started:.1f} s")
    else:
        os.kill(os.getpid(), signal.SIGTERM)
        queue.put("went on")
    try:
        orphans.run_stoppable(queue.put, "a later task ran")
    except orphans.WorkerStopped:
        queue.put("a later task did not run")


def _term_self_then_sleep() -> None:
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(5)


@pytest.mark.parametrize(("inside", "first"), [(True, "stopped after 0.0 s"), (False, "went on")])
def test_sigterm_stops_a_stoppable_workers_task_never_what_it_does_between_tasks(inside: bool, first: str) -> None:
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    p = ctx.Process(target=_stoppable_child, args=(queue, inside))
    p.start()
    said = [queue.get(timeout=10) for _ in range(2)]
    p.join(10)
    assert said == [first, "a later task did not run"] and p.exitcode == 0


class StuckRay(FakeRay):
    """A cluster whose cancelled tasks never end: a read of one waits out its timeout (recorded)."""

    def __init__(self) -> None:
        super().__init__(cpus=2)
        self.waited: list[float | None] = []

    def get(self, ref: Any, timeout: float | None = None) -> Any:
        if ref.cancelled:
            self.waited.append(timeout)
            raise self.exceptions.GetTimeoutError("still running")
        return super().get(ref, timeout)


def test_an_interrupted_ray_map_cancels_its_tasks_and_waits_a_second_at_most(
        monkeypatch: pytest.MonkeyPatch) -> None:
    ray = StuckRay()
    monkeypatch.setitem(sys.modules, "ray", ray)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    results = executors.RayExecutor(None, ray_module=ray).map(abs, [(-i,) for i in range(6)])
    assert next(results) == 0
    with pytest.raises(KeyboardInterrupt):
        results.throw(KeyboardInterrupt())  # type: ignore[attr-defined]
    assert set(map(id, ray.refs[1:])) <= set(map(id, ray.cancelled))
    assert ray.waited and all(w is not None and w <= 1.0 for w in ray.waited)  # not 10 s


def test_a_second_ctrl_c_waits_until_the_pool_is_stopped() -> None:
    """A second Ctrl-C while `stop_pool` ends the workers and joins the pool's thread is ignored (cut short,
    the stop left the pool's manager closing its pipe: an EBADF traceback at exit, or death by SIGINT instead
    of one line); Ctrl-C is taken again after it."""
    from dreamcli.orphans import stop_pool

    joined: list[str] = []

    class Pool:
        def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
            os.kill(os.getpid(), signal.SIGINT)  # the second Ctrl-C, as the stop begins

    manager = threading.Thread(target=lambda: (time.sleep(0.3), joined.append("manager")))
    manager.start()
    stop_pool(Pool(), [], [manager])  # type: ignore[arg-type]
    time.sleep(0.2)  # (were it only held, it would land here)
    assert joined == ["manager"]  # the pool's thread was waited for, and no KeyboardInterrupt came
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(1)
