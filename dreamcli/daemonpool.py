"""A small pool of daemon worker threads, for work that may block on the network (a model call).

    pool = DaemonPool(4, name="grade")
    tasks = [pool.submit(fn, x) for x in xs]        # at most 4 running at once, the rest queued
    results = [t.result() for t in tasks]           # in submission order; a task's exception re-raised
    pool.shutdown()                                 # queued tasks never start; nothing is waited for

Unlike `concurrent.futures.ThreadPoolExecutor`, whose worker threads the interpreter joins at exit, the
workers are daemon threads: on Ctrl-C the caller stops waiting, and a worker still blocked in a call
(a stalled endpoint, retries under a long timeout) never keeps the process alive. `Task.run` runs a call
in the calling thread and returns it as a finished task, so inline work and pooled work queue up alike.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class TaskCancelled(Exception):
    """The pool was shut down before the task started."""


class Task(Generic[T]):
    """The result of one call, set once by whoever ran it."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self._value: T | None = None
        self._error: BaseException | None = None

    @classmethod
    def run(cls, fn: Callable[..., T], *args: Any) -> Task[T]:
        """Call `fn(*args)` now, in this thread: a finished task holding its value or its exception (an
        `Exception`; anything else, a KeyboardInterrupt, propagates at once)."""
        task: Task[T] = cls()
        task._call(fn, args, catch=Exception)
        return task

    def _call(self, fn: Callable[..., T], args: tuple[Any, ...], *, catch: type[BaseException]) -> None:
        try:
            self._value = fn(*args)
        except catch as e:
            self._error = e
        self._done.set()

    def _cancel(self) -> None:
        self._error = TaskCancelled("the pool was shut down before this task started")
        self._done.set()

    def done(self) -> bool:
        return self._done.is_set()

    def result(self) -> T:
        """Wait for the task (a signal, Ctrl-C, interrupts the wait), then return its value or raise its
        exception."""
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]


_busy_lock = threading.Lock()
_busy = 0  # workers of every pool running a call now


def busy() -> int:
    """How many workers, of every pool, are running a call now. The process must not end through the
    interpreter's finalisation while one is (dreamcli.cli.app): a worker inside a C++ extension that let go
    of the GIL (RE2's search) is unwound by `pthread_exit` when it takes it back, and the C++ runtime aborts
    the whole process (`terminate called without an active exception`, exit 134)."""
    return _busy


class DaemonPool:
    """Runs submitted calls on at most `workers` daemon threads, started as work arrives."""

    def __init__(self, workers: int, *, name: str = "dreamcli-worker") -> None:
        self.workers = max(1, int(workers))
        self.name = name
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        self._queue: deque[tuple[Task[Any], Callable[..., Any], tuple[Any, ...]]] = deque()
        self._threads = 0
        self._closed = False

    def submit(self, fn: Callable[..., T], *args: Any) -> Task[T]:
        task: Task[T] = Task()
        with self._lock:
            if self._closed:
                raise RuntimeError(f"{self.name}: submit after shutdown")
            self._queue.append((task, fn, args))
            if self._threads < self.workers:
                self._threads += 1
                threading.Thread(target=self._work, name=f"{self.name}-{self._threads}", daemon=True).start()
            else:
                self._ready.notify()
        return task

    def _work(self) -> None:
        global _busy
        while True:
            with self._lock:
                while not self._queue and not self._closed:
                    self._ready.wait()
                if not self._queue:
                    return
                task, fn, args = self._queue.popleft()
                with _busy_lock:  # counted as it leaves the queue: never neither queued nor busy
                    _busy += 1
            try:
                task._call(fn, args, catch=BaseException)  # reported to whoever waits; a worker never dies
            finally:
                with _busy_lock:
                    _busy -= 1

    def shutdown(self) -> None:
        """Accept no more calls and cancel those not started; calls running go on, on their daemon threads,
        and nothing waits for them."""
        with self._lock:
            self._closed = True
            dropped = list(self._queue)
            self._queue.clear()
            self._ready.notify_all()
        for task, _, _ in dropped:
            task._cancel()
