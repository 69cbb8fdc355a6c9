"""Who runs a dream's map (the per-session scan, docs/scaling.md): in this process, a local process pool
(`dream --workers N`), or a Ray cluster (`dream --executor ray`, `pip install 'dreamcli[ray]'`).

The map is `scan._scan_chunk` over contiguous chunks of sessions (local files, or sessions named by their
store URL and id, read straight from the bucket); results come back in chunk
order and are merged in that order (the reduce, under the dream lock), so the same corpus gives
byte-identical proposals whatever runs the map. The executor in use is a context variable set by the
CLI around the dream (`use_executor`); without one, scan.py picks workers by corpus size as before."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from typing import Any, Protocol

Task = tuple[Any, ...]


class MapExecutor(Protocol):
    """Runs fn(*args) for each args tuple; yields the results in the order of `tasks`."""

    workers: int

    def map(self, fn: Callable[..., Any], tasks: Sequence[Task]) -> Iterator[Any]: ...


class LocalExecutor:
    """`workers` processes on this machine (1: in this process, no pool): this process and a pool of
    `workers - 1`. The pool takes tasks from the front; this process, instead of waiting, runs tasks
    from the back that no pool process has started yet (their results need no pickling). Results are
    yielded in the order of `tasks` whoever ran them."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)

    def map(self, fn: Callable[..., Any], tasks: Sequence[Task]) -> Iterator[Any]:
        if self.workers == 1 or len(tasks) <= 1:
            for args in tasks:
                yield fn(*args)
            return
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        from dreamcli.collector import frozen
        from dreamcli.orphans import pool_options

        # what exists now is shared with the forked pool: the collector leaves those pages alone; each
        # worker exits when this process dies (a kill -9 leaves none waiting on the queue forever)
        context = multiprocessing.get_context()
        with frozen(), ProcessPoolExecutor(max_workers=min(self.workers - 1, len(tasks) - 1), mp_context=context,
                                           **pool_options(context)) as pool:
            futures = [pool.submit(fn, *args) for args in tasks]
            here: dict[int, Any] = {}  # results of the tasks run in this process
            back = len(tasks) - 1
            for i, fut in enumerate(futures):
                while i not in here and back > i and not fut.done():
                    if futures[back].cancel():  # not started by the pool: run it here
                        here[back] = fn(*tasks[back])
                    back -= 1
                yield here.pop(i) if i in here else fut.result()


class RayExecutor:
    """Ray tasks: `ray.init(address=…)` joins a cluster (or `RAY_ADDRESS`); no address starts Ray locally.
    Workers must see the session files at the same paths (a shared volume, or the object store)."""

    def __init__(self, address: str | None = None, workers: int | None = None, *, ray_module: Any = None) -> None:
        if ray_module is None:
            import ray as ray_module  # lazy: the optional extra dreamcli[ray]
        self.ray = ray_module
        if not self.ray.is_initialized():
            self.ray.init(address=address, ignore_reinit_error=True, log_to_driver=False,
                          include_dashboard=False)
        cpus = int(self.ray.cluster_resources().get("CPU", 1))
        self.workers = max(1, workers or cpus)

    def map(self, fn: Callable[..., Any], tasks: Sequence[Task]) -> Iterator[Any]:
        remote = self.ray.remote(fn)
        refs = [remote.remote(*args) for args in tasks]
        for ref in refs:  # in order, as submitted
            yield self.ray.get(ref)


_current: ContextVar[MapExecutor | None] = ContextVar("dream_executor", default=None)


def current_executor() -> MapExecutor | None:
    return _current.get()


@contextlib.contextmanager
def use_executor(executor: MapExecutor | None) -> Iterator[None]:
    token = _current.set(executor)
    try:
        yield
    finally:
        _current.reset(token)


def make_executor(kind: str | None, workers: int | None, address: str | None = None) -> MapExecutor | None:
    """From the CLI: None when nothing was asked (scan.py decides by corpus size)."""
    if kind in (None, "", "local"):
        return LocalExecutor(workers) if workers is not None or kind == "local" else None
    if kind == "ray":
        try:
            return RayExecutor(address, workers)
        except ImportError:
            from dreamcli.errors import UsageError

            raise UsageError("--executor ray needs Ray: pip install 'dreamcli[ray]'") from None
    from dreamcli.errors import UsageError

    raise UsageError(f"--executor: {kind!r} is not one of local, ray")
