"""One limit on the model calls of a whole command: `limits.concurrency` calls in flight at once,
over every session that shares the model client (leads, their sub-agents, `--parallel` runs, pilot
trials).

    client = shared(make_client(...), limit)          # once per command; a limited client stays as is
    run_agent(..., client=for_session(client, cancel), cancel=cancel)   # each session

`shared` wraps the client so that `messages.stream(...)` (and `messages.create(...)`) holds one slot
of the limiter from the moment the call starts until its stream is closed. A session only holds a
slot while it waits for the model, never while its tools run, so a lead waiting in `delegate` leaves
the slots to its sub-agents (no deadlock, whatever the nesting). The limiter travels with the client:
a lead's `RunContext.client` is the limited client, and its sub-agents share it (`subagents`), so
nesting never multiplies the limit. `for_session` ties waiting for a slot to a session's cancel event:
a session stopped while queued for a slot raises KeyboardInterrupt (its log ends `interrupted`)
instead of making one more model call.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

POLL_S = 0.05  # how often a session waiting for a slot looks at its cancel event


class ModelLimiter:
    """At most `limit` model calls in flight at once, over every client that shares it."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, int(limit))
        self._slots = threading.BoundedSemaphore(self.limit)

    @contextmanager
    def slot(self, cancel: threading.Event | None = None) -> Iterator[None]:
        """Hold one slot for the body (waits for one; KeyboardInterrupt once `cancel` is set meanwhile)."""
        while not self._slots.acquire(timeout=POLL_S):
            if cancel is not None and cancel.is_set():
                raise KeyboardInterrupt
        try:
            yield
        finally:
            self._slots.release()


class LimitedClient:
    """A model client (anything with `messages.stream(**request)`) whose calls take a limiter's slot.
    Every other attribute is the wrapped client's."""

    def __init__(self, inner: Any, limiter: ModelLimiter, cancel: threading.Event | None = None) -> None:
        self.inner, self.limiter, self.cancel = inner, limiter, cancel
        self.messages = _Messages(self)

    def bound(self, cancel: threading.Event | None) -> LimitedClient:
        """The same client and limiter; waiting for a slot gives up once `cancel` is set."""
        return LimitedClient(self.inner, self.limiter, cancel)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class _Messages:
    def __init__(self, client: LimitedClient) -> None:
        self._client = client

    @contextmanager
    def stream(self, **request: Any) -> Iterator[Any]:
        c = self._client
        with c.limiter.slot(c.cancel), c.inner.messages.stream(**request) as stream:
            yield stream

    def create(self, **request: Any) -> Any:
        c = self._client
        with c.limiter.slot(c.cancel):
            return c.inner.messages.create(**request)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client.inner.messages, name)


def shared(client: Any, limit: int) -> LimitedClient:
    """`client` under a limiter of `limit` calls; a client that already has one keeps it (the command's
    limiter is shared by everything nested under it)."""
    return client if isinstance(client, LimitedClient) else LimitedClient(client, ModelLimiter(limit))


def for_session(client: Any, cancel: threading.Event | None) -> Any:
    """The client one session uses: the shared limiter, waiting for a slot only until `cancel` is set."""
    return client.bound(cancel) if isinstance(client, LimitedClient) else client
