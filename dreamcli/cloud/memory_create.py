"""A memory create that never makes a memory twice. Unlike an update or a delete, a create carries no
precondition, so sent again after an attempt that got no answer (the request may have reached the store
and only its answer been lost) it would find the first attempt's memory (a 409) or, where the API allows
two at one path, make a second. So each attempt is sent once (never the SDK's blind retry), and before
the next one the store is looked up by the path (listing only its folder): a memory there is returned
instead of creating again.
How many attempts there are is our own configuration (`limits.model_retries`, capped: `cloud_client`),
and so is the count an error names."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from dreamcli import sdk_beta

BACKOFF_S = 0.5  # the pause after the first failed attempt, doubling, as the SDK's own retries do
MAX_BACKOFF_S = 8.0


class CreateFailed(Exception):
    """A create that did not go through: `error` is the last failure (the create's, or the look-up's),
    `attempts` how many requests of it failed."""

    def __init__(self, error: BaseException, attempts: int) -> None:
        super().__init__(str(error))
        self.error = error
        self.attempts = attempts


def create_memory_once(client: Any, store_id: str, path: str, content: str, *, attempts: int,
                       sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """The memory at `path` after up to `attempts` creates: the API's answer, or the memory a look-up
    found there after an attempt that got no answer (whoever wrote it: the caller compares its
    `content_sha256` with what it sent). Raises CreateFailed."""
    once = client.with_options(max_retries=0)
    failed = 0
    for n in range(1, max(attempts, 1) + 1):
        try:
            return sdk_beta.create_memory(once, store_id, path, content)
        except Exception as e:
            failed += 1
            if n >= attempts or not may_retry(e):
                raise CreateFailed(e, failed) from None
        try:
            found = memory_at(once, store_id, path)
        except Exception as e:  # cannot tell whether the create went through: sending it again might not be safe
            raise CreateFailed(e, failed + 1) from None
        if found is not None:
            return found
        sleep(min(BACKOFF_S * 2 ** (n - 1), MAX_BACKOFF_S))
    raise AssertionError("create_memory_once: no attempt")  # pragma: no cover


def may_retry(e: BaseException) -> bool:
    """What the SDK itself would retry: no answer (a timeout, a dropped connection), 408, 429 or a server
    error. A 409 is an answer (the path is taken), never retried."""
    import anthropic

    if isinstance(e, anthropic.APIConnectionError):  # APITimeoutError too
        return True
    status = e.status_code if isinstance(e, anthropic.APIStatusError) else None
    return isinstance(status, int) and (status >= 500 or status in (408, 429))


def memory_at(client: Any, store_id: str, path: str) -> dict[str, Any] | None:
    """The memory at exactly `path` (the basic listing: id, path, content_sha256), or None. Only the path's
    folder is listed (`path_prefix`); the path is still compared here, whatever the API sent back."""
    listed = sdk_beta.iter_memories(client, store_id, full=False, path_prefix=folder_of(path))
    return next((m for m in listed if m.get("path") == path), None)


def folder_of(path: str) -> str | None:
    """The prefix that lists `path`'s folder (`/notes/` for `/notes/a.md`): up to and with its last `/`, as
    the API wants it; None (the whole store) for a path at the top."""
    head, slash, _ = path.rpartition("/")
    return head + slash if head.strip("/") else None
