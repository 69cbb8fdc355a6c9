"""A per-session event loop for the SDK's async tool implementations.

The SDK's agent toolset (`anthropic.lib.tools.agent_toolset`) is async, and its bash shell is an
anyio subprocess bound to the loop that started it. A session therefore owns one event loop in a
background thread (an anyio blocking portal), started on first use and stopped by `close()`. Any
thread may call `run()`; calls are serialised by the portal's loop.

Most file-tool calls never really suspend (they read or write a small file), and handing them to
another thread costs an OS wake-up (milliseconds on a busy machine). `run_inline_first()` therefore
drives the coroutine in the calling thread and only falls back to the loop (re-running it there)
when it needs one -- safe for tools whose work before their first real await is idempotent.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, suppress
from typing import Any, TypeVar

T = TypeVar("T")
_NO_LOOP_ERRORS = ("NoEventLoopError", "AsyncLibraryNotFoundError")


class AsyncRuntime:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cm: AbstractContextManager[Any] | None = None
        self._portal: Any = None

    def _ensure(self) -> Any:
        with self._lock:
            if self._portal is None:
                from anyio.from_thread import start_blocking_portal

                self._cm = start_blocking_portal()
                self._portal = self._cm.__enter__()
            return self._portal

    def run(self, func: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run `await func(*args)` on the session's loop and return its result (or raise)."""
        return self._ensure().call(func, *args)

    def run_inline_first(self, func: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Like `run()`, but try to complete the coroutine in this thread first (see the module doc)."""
        coro: Any = func(*args)
        try:
            coro.send(None)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        except RuntimeError as e:  # anyio: no event loop here (NoEventLoopError / sniffio's error)
            if type(e).__name__ not in _NO_LOOP_ERRORS:
                raise
        coro.close()
        return self.run(func, *args)

    @property
    def started(self) -> bool:
        return self._portal is not None

    def close(self) -> None:
        """Stop the loop, cancelling anything still running on it."""
        with self._lock:
            cm, portal = self._cm, self._portal
            self._cm = self._portal = None
        if cm is None:
            return
        with suppress(Exception):
            portal.call(portal.stop, True)
        with suppress(Exception):
            cm.__exit__(None, None, None)
