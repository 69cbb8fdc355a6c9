"""A stand-in `ray` module, and sessions for a dream to scan, for the Ray executor's tests (no cluster)."""

from __future__ import annotations

import time
import types
from typing import Any

from dreamcli.ids import ulid_at
from dreamcli.sessions.writer import SessionWriter
from dreamcli.workspace.home import Workspace


class RayError(Exception):
    """Stands for ray.exceptions.RayError."""


class RayTaskError(RayError):
    """Stands for ray.exceptions.RayTaskError: its text is the remote traceback; `cause` is the task's error."""

    def __init__(self, function_name: str, traceback_str: str, cause: BaseException | None) -> None:
        super().__init__(traceback_str)
        self.function_name = function_name
        self.traceback_str = traceback_str
        self.cause = cause

    def __str__(self) -> str:
        return self.traceback_str


class TaskCancelledError(RayError):
    """Stands for ray.exceptions.TaskCancelledError."""


class GetTimeoutError(RayError, TimeoutError):
    """Stands for ray.exceptions.GetTimeoutError."""


def task_error(fn: Any, cause: BaseException) -> RayTaskError:
    """What ray.get raises for a task that raised `cause`: as Ray does, an instance of both RayTaskError and
    the cause's class, whose text is the remote traceback (escaped colours, many lines)."""
    name = getattr(fn, "__name__", "task")
    text = (f"\x1b[36mray::{name}()\x1b[39m (pid=4242, ip=10.0.0.2)\n  File \"/srv/worker.py\", line 1, in {name}\n"
            f"    raise\n{type(cause).__module__}.{type(cause).__name__}: {cause}")
    try:
        cls = type(f"RayTaskError({type(cause).__name__})", (RayTaskError, type(cause)), {})
        err: RayTaskError = Exception.__new__(cls)
        err.__dict__.update(cause.__dict__)
        RayTaskError.__init__(err, name, text, cause)
        return err
    except TypeError:  # a cause class that cannot be subclassed so
        return RayTaskError(name, text, cause)


class FakeRef:
    """A submitted task: it runs when first got (a task nobody gets, or one cancelled first, never runs)."""

    def __init__(self, fn: Any, args: tuple[Any, ...]) -> None:
        self.fn, self.args = fn, args
        self.done = self.cancelled = self.got = False
        self.value: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        if self.done:
            return
        self.done = True
        if self.cancelled:
            self.error = TaskCancelledError(f"task {self.fn.__name__}{self.args} was cancelled")
            return
        try:
            self.value = self.fn(*self.args)
        except Exception as e:
            self.error = task_error(self.fn, e)


class FakeRay(types.ModuleType):
    """Stands for `ray`: records init calls (`init_error` is raised by init); runs remote functions in this
    process (`refs`, `cancelled`); `unhandled()` are the failed tasks whose error nobody got, which Ray logs
    as "Unhandled error" with their tracebacks."""

    exceptions = types.SimpleNamespace(RayError=RayError, RayTaskError=RayTaskError,
                                       TaskCancelledError=TaskCancelledError, GetTimeoutError=GetTimeoutError)

    def __init__(self, cpus: int = 1, init_error: BaseException | None = None) -> None:
        super().__init__("ray")
        self.inits: list[dict[str, Any]] = []
        self.cpus = cpus
        self.init_error = init_error
        self.refs: list[FakeRef] = []
        self.cancelled: list[FakeRef] = []

    def is_initialized(self) -> bool:
        return False

    def init(self, **kwargs: Any) -> None:
        self.inits.append(kwargs)
        if self.init_error is not None:
            raise self.init_error

    def cluster_resources(self) -> dict[str, float]:
        return {"CPU": self.cpus}

    def remote(self, fn: Any) -> Any:
        def submit(*args: Any) -> FakeRef:
            self.refs.append(FakeRef(fn, args))
            return self.refs[-1]

        return types.SimpleNamespace(remote=submit)

    def get(self, ref: FakeRef, timeout: float | None = None) -> Any:
        ref.run()
        ref.got = True
        if ref.error is not None:
            raise ref.error
        return ref.value

    def cancel(self, ref: FakeRef, *, force: bool = False, recursive: bool = True) -> None:
        if not ref.done:
            ref.cancelled = True
        self.cancelled.append(ref)

    def unhandled(self) -> list[FakeRef]:
        for ref in self.refs:  # what is still running would fail or finish
            ref.run()
        return [ref for ref in self.refs if ref.error is not None and not ref.got]


def recent_session(ws: Workspace, n: int) -> str:
    """The `n`th of a few sessions that ended a minute ago (new to a dream); its id."""
    sid = ulid_at(int(time.time() * 1000) - 60_000 + n, bytes([n]) * 10)
    w = SessionWriter(ws, session_id=sid)
    w.start(task={"name": "contract", "prompt": "read the contract"}, model=None, workdir="/w")
    w.message("user", [{"type": "text", "text": "read the contract"}])
    w.end("completed", totals={"turns": 1})
    return sid
