"""Who runs a dream's map (the per-session scan, docs/scaling.md): in this process, a local process pool
(`dream --workers N`), or a Ray cluster (`dream --executor ray`, `pip install 'dreamcli[ray]'`).

The map is `scan._scan_chunk` over contiguous chunks of sessions (local files, or sessions named by their
store URL and id, read straight from the bucket); results come back in chunk
order and are merged in that order (the reduce, under the dream lock), so the same corpus gives
byte-identical proposals whatever runs the map. The executor in use is a context variable set by the
CLI around the dream (`use_executor`); without one, scan.py picks workers by corpus size as before.
The CLI's executor starts on first use (`Deferred`): a dream with nothing new to read never starts Ray, and
joining a Ray address first checks its form (dreamcli.dream.ray_errors), then, within RAY_CONNECT_TIMEOUT_S, that
something listens there, and within RAY_ANSWER_TIMEOUT_S that it answers as Ray's gRPC servers do. Ray's failures
are one line each (ray_errors); a failed task stops the map, and the tasks still out are cancelled and collected.
A map stopped early (Ctrl-C, a failed task, the caller gone) stops at once: the local pool cancels what is queued,
stops the tasks its workers run and ends them (dreamcli.orphans), and Ray waits RAY_INTERRUPT_DRAIN_S at most after
Ctrl-C for its cancelled tasks. The CLI closes Ray before it prints its result (`close`; dreamcli.dream.ray_stdout).
The local pool tells a caller of each chunk's result as soon as it has it (`map_telling`: the progress bar)."""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from concurrent.futures import Future

Task = tuple[Any, ...]
RAY_CONNECT_TIMEOUT_S = 10.0  # ray.init retries an address with nothing listening for many minutes
RAY_ANSWER_TIMEOUT_S = 5.0  # ... and one that listens but is no Ray cluster (a wrong port) as long
RAY_DRAIN_TIMEOUT_S = 10.0  # after a failed task: for the cancelled ones to end (else Ray logs their errors)
RAY_INTERRUPT_DRAIN_S = 1.0  # ... and after Ctrl-C (or the caller gone), when the dream must end now
# the HTTP/2 connection preface and an empty SETTINGS frame: a gRPC server answers with its own SETTINGS frame
H2_HELLO = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"


class MapExecutor(Protocol):
    """Runs fn(*args) for each args tuple; yields the results in the order of `tasks`."""

    @property
    def workers(self) -> int: ...

    def map(self, fn: Callable[..., Any], tasks: Sequence[Task]) -> Iterator[Any]: ...


class LocalExecutor:
    """`workers` processes on this machine (1: in this process, no pool): this process and a pool of
    `workers - 1`. The pool takes tasks from the front; this process, instead of waiting, runs tasks
    from the back that no pool process has started yet (their results need no pickling). Results are
    yielded in the order of `tasks` whoever ran them."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)

    def map(self, fn: Callable[..., Any], tasks: Sequence[Task],
            on_done: Callable[[Any], None] | None = None) -> Iterator[Any]:
        """As MapExecutor.map; `on_done(result)` hears of each result once this process has it, before its turn
        (a progress bar: this process runs tasks from the back, whose results wait for all before them)."""
        if self.workers == 1 or len(tasks) <= 1:
            for args in tasks:
                result = fn(*args)
                if on_done is not None:
                    on_done(result)
                yield result
            return
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        from dreamcli.collector import frozen
        from dreamcli.orphans import pool_options, run_stoppable, signals_held, started_since, stop_pool

        # what exists now is shared with the forked pool: the collector leaves those pages alone; each
        # worker exits when this process dies (a kill -9 leaves none waiting on the queue forever)
        context = multiprocessing.get_context()
        with frozen():
            before = (multiprocessing.active_children(), threading.enumerate())
            pool = ProcessPoolExecutor(max_workers=min(self.workers - 1, len(tasks) - 1), mp_context=context,
                                       **pool_options(context, stoppable=True))
            started: tuple[list[Any], list[threading.Thread]] | None = None
            try:
                with signals_held():  # the workers are forked here: each takes a signal once it can stop
                    futures = [pool.submit(run_stoppable, fn, *args) for args in tasks]
                started = started_since(*before)  # the pool starts its processes and its thread in submit
                yield from _in_order(fn, tasks, futures, on_done)
            except BaseException:  # Ctrl-C, a failed task, the caller gone: nothing queued runs, none waits
                stop_pool(pool, *(started or started_since(*before)))
                raise
            pool.shutdown()


def _in_order(fn: Callable[..., Any], tasks: Sequence[Task], futures: Sequence[Future[Any]],
              on_done: Callable[[Any], None] | None = None) -> Iterator[Any]:
    """The results of `futures` (the pool's, one per task) in order; while the next is not done, this process
    runs tasks from the back that the pool has not started (their futures cancelled). `on_done` hears of each
    result once, in this thread, as soon as it is seen: a task run here at once, the pool's finished ones
    after each task run here and at the latest at their turn."""
    here: dict[int, Any] = {}  # results of the tasks run in this process
    heard: set[int] = set()
    finished: queue.SimpleQueue[int] = queue.SimpleQueue()  # the pool's, told by its thread

    def tell(i: int, result: Any) -> None:
        if on_done is not None and i not in heard:
            heard.add(i)
            on_done(result)

    def tell_finished() -> None:
        while not finished.empty():
            j = finished.get()
            fut = futures[j]
            if not fut.cancelled() and fut.exception() is None:  # a failure is raised at its turn
                tell(j, fut.result())

    if on_done is not None:
        for j, fut in enumerate(futures):
            fut.add_done_callback(lambda _, j=j: finished.put(j))  # type: ignore[misc]
    back = len(tasks) - 1
    for i, fut in enumerate(futures):
        while i not in here and back > i and not fut.done():
            if futures[back].cancel():  # not started by the pool: run it here
                here[back] = fn(*tasks[back])
                tell(back, here[back])
                tell_finished()
            back -= 1
        result = here.pop(i) if i in here else fut.result()
        tell_finished()
        tell(i, result)
        yield result


def map_telling(executor: MapExecutor, fn: Callable[..., Any], tasks: Sequence[Task],
                on_done: Callable[[Any], None]) -> Iterator[Any]:
    """`executor.map(fn, tasks)`, `on_done(result)` told of each result once: as soon as this process has it with
    the local pool (LocalExecutor.map), at its turn with any other executor."""
    if isinstance(executor, LocalExecutor):
        yield from executor.map(fn, tasks, on_done)
        return
    for result in executor.map(fn, tasks):
        on_done(result)
        yield result


def _signal_handlers() -> dict[int, Any]:
    """This process's handlers of the signals that stop a command (main thread only: elsewhere, none)."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}


def _restore_signal_handlers(kept: dict[int, Any]) -> None:
    """Put back the handlers `ray.init` replaced: a command's own, or a signal it ignores. The default is left to
    Ray's (outside a command, as a library: Ray's handler shuts its processes down on SIGTERM, the default not)."""
    for signum, handler in kept.items():
        if handler not in (None, signal.SIG_DFL) and signal.getsignal(signum) is not handler:
            with contextlib.suppress(ValueError, OSError):
                signal.signal(signum, handler)


class RayExecutor:
    """Ray tasks: `ray.init(address=…)` joins a cluster (or `RAY_ADDRESS`); no address starts Ray locally.
    Workers must see the session files at the same paths (a shared volume, or the object store)."""

    def __init__(self, address: str | None = None, workers: int | None = None, *, ray_module: Any = None) -> None:
        from dreamcli.dream.ray_errors import check_address, join_failure

        check_address(address)
        check_reachable(address)
        if ray_module is None:
            import ray as ray_module  # lazy: the optional extra dreamcli[ray]
        self.ray = ray_module
        if not self.ray.is_initialized():
            kept = _signal_handlers()
            try:  # Ray's INFO lines ("Connecting to…") are not dreamcli's to show
                self.ray.init(address=address, ignore_reinit_error=True, log_to_driver=False,
                              include_dashboard=False, logging_level=logging.WARNING)
            except (ValueError, ConnectionError, RuntimeError) as e:
                raise join_failure(e, address) from e
            finally:  # Ray takes SIGTERM for a bare sys.exit: the command's own handling (or ignoring) comes back
                _restore_signal_handlers(kept)
        cpus = int(self.ray.cluster_resources().get("CPU", 1))
        self.workers = max(1, workers or cpus)

    def map(self, fn: Callable[..., Any], tasks: Sequence[Task]) -> Iterator[Any]:
        remote = self.ray.remote(fn)
        refs = [remote.remote(*args) for args in tasks]
        done = 0
        drain = RAY_DRAIN_TIMEOUT_S
        try:
            for ref in refs:  # in order, as submitted
                result = self._get(ref)
                done += 1
                yield result
        except BaseException as e:
            if not isinstance(e, Exception):  # Ctrl-C, the caller gone: waits a second at most
                drain = RAY_INTERRUPT_DRAIN_S
            raise
        finally:  # a task failed, or the caller stopped early: none is left running, no error left unread
            if done < len(refs):
                self._abandon(refs[done:], drain)

    def _get(self, ref: Any) -> Any:
        from dreamcli.dream.ray_errors import LOST_NODE, task_failure

        errors = self.ray.exceptions
        try:
            return self.ray.get(ref)
        except errors.RayError as e:  # a task's: its own exception (Ray's text is the remote traceback)
            lost = tuple(c for c in (getattr(errors, name, None) for name in LOST_NODE) if isinstance(c, type))
            raise task_failure(e, errors.RayTaskError, lost) from e

    def close(self) -> None:
        """Disconnect from Ray (local Ray: stop it), as the process's exit would, but now: Ray prints what it held
        back (repeated lines) then, to sys.stdout, and must do it while dreamcli.dream.ray_stdout keeps that off
        stdout."""
        with contextlib.suppress(Exception):
            self.ray.shutdown()

    def _abandon(self, refs: Sequence[Any], drain: float) -> None:
        """Cancel `refs`, then read each one's end (within `drain` seconds): Ray logs an "Unhandled error",
        with its traceback, for every failed task whose error nobody read."""
        for ref in refs:
            with contextlib.suppress(Exception):
                self.ray.cancel(ref)
        deadline = time.monotonic() + drain
        for ref in refs:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            with contextlib.suppress(Exception):  # cancelled, failed, or still running past the deadline
                self.ray.get(ref, timeout=left)


def check_reachable(address: str | None, timeout: float = RAY_CONNECT_TIMEOUT_S,
                    answer_timeout: float | None = None) -> None:
    """A Ray address (`address`, else RAY_ADDRESS) as host:port or ray://host:port must accept a TCP
    connection within `timeout` seconds, and answer there as a gRPC server (Ray's GCS, or its client server)
    within `answer_timeout` (RAY_ANSWER_TIMEOUT_S): ray.init would retry either for many minutes, holding the
    dream lock. Raises CredentialsError (exit 4: the environment, not the input) with one line; "auto",
    "local" and no address are Ray's to resolve, and so is the answer with RAY_USE_TLS (TLS comes first)."""
    from dreamcli.dream.ray_errors import ray_target

    target, given = ray_target(address)
    hostport = target.removeprefix("ray://").rstrip("/")
    host, sep, port = hostport.rpartition(":")
    host = host.strip("[]")  # [::1]:6379
    if not sep or not host or not port.isdigit():
        return
    from dreamcli.errors import CredentialsError

    try:
        conn = socket.create_connection((host, int(port)), timeout=timeout)
    except (OSError, ValueError, OverflowError) as e:
        raise CredentialsError(f"--executor ray: cannot reach the Ray cluster at {target} ({given}): {_reason(e)}; "
                               "start it or give another address") from None
    with conn:
        wait = RAY_ANSWER_TIMEOUT_S if answer_timeout is None else answer_timeout
        problem = None if _ray_tls() else grpc_problem(conn, wait)
    if problem:
        raise CredentialsError(f"--executor ray: {target} ({given}) is not a Ray cluster: {problem}; give the "
                               "address of its head (HOST:6379)")


def grpc_problem(conn: socket.socket, timeout: float) -> str | None:
    """None when the peer answers the HTTP/2 preface with a SETTINGS frame within `timeout` seconds, as every
    gRPC server does; else why it is not one, in a few words."""
    try:
        conn.settimeout(timeout)
        conn.sendall(H2_HELLO)
        head = _read(conn, 9, time.monotonic() + timeout)  # a frame header: length (3), type, flags, stream (4)
    except TimeoutError:
        return f"it accepted the connection but did not answer within {timeout:g} s"
    except OSError as e:
        return f"it accepted the connection, then failed: {_reason(e)}"
    if len(head) == 9 and head[3] == 0x04 and head[5:] == b"\x00\x00\x00\x00":
        return None
    return "it closed the connection without a word" if not head else "it answered, but not as a gRPC server"


def _read(conn: socket.socket, n: int, deadline: float) -> bytes:
    """Up to `n` bytes (fewer when the peer closes); TimeoutError past `deadline` (time.monotonic())."""
    data = b""
    while len(data) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        conn.settimeout(left)
        chunk = conn.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def _ray_tls() -> bool:
    return os.environ.get("RAY_USE_TLS", "0").strip().lower() in ("1", "true")


def _reason(e: BaseException) -> str:
    return e.strerror if isinstance(e, OSError) and e.strerror else str(e) or type(e).__name__


class Deferred:
    """An executor started on its first use (its `workers` or `map`): the CLI sets one around the dream, and
    a dream with nothing to read never starts it (Ray took seconds, and waited on an address, for nothing)."""

    def __init__(self, start: Callable[[], MapExecutor]) -> None:
        self._start = start
        self._executor: MapExecutor | None = None

    @property
    def started(self) -> bool:
        return self._executor is not None

    def executor(self) -> MapExecutor:
        if self._executor is None:
            self._executor = self._start()
        return self._executor

    @property
    def workers(self) -> int:
        return self.executor().workers

    def map(self, fn: Callable[..., Any], tasks: Sequence[Task]) -> Iterator[Any]:
        return self.executor().map(fn, tasks)

    def close(self) -> None:
        close = getattr(self._executor, "close", None)
        if close is not None:
            close()


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
    """From the CLI: None when nothing was asked (scan.py decides by corpus size). Ray is only looked for
    here (a usage error at once when it is not installed); it starts on first use (`Deferred`)."""
    from dreamcli.errors import UsageError

    if kind in (None, "", "local"):
        return LocalExecutor(workers) if workers is not None or kind == "local" else None
    if kind == "ray":
        if not _ray_installed():
            raise UsageError("--executor ray needs Ray: pip install 'dreamcli[ray]'")
        from dreamcli.dream.ray_errors import check_address

        check_address(address)  # at once: a usage error needs no wait for the sessions

        def start() -> MapExecutor:
            try:
                return RayExecutor(address, workers)
            except ImportError:
                raise UsageError("--executor ray needs Ray: pip install 'dreamcli[ray]'") from None

        return Deferred(start)
    raise UsageError(f"--executor: {kind!r} is not one of local, ray")


def _ray_installed() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("ray") is not None  # found, not imported (importing takes seconds)
    except ValueError:  # imported already, without a spec
        return True
    except ImportError:
        return False
