"""One model turn: a streamed Messages API call, with live text to the callbacks.

The SDK retries 429/529/5xx and connection failures before a response starts (max_retries =
limits.model_retries). A stream that breaks off after it started (an SSE `error` event such as
overloaded_error, or a dropped connection) is not retried by the SDK; `stream_turn` requests the
whole turn again, up to the same number of retries, with exponential backoff.

A stream that ends without `message_stop`, or whose message has no `stop_reason`, is incomplete
(the connection closed between two events, cleanly): the SDK still hands out the message built so
far, with a tool call's JSON maybe half sent. Such a reply is never returned: it is retried like a
dropped connection, and when every attempt is incomplete the call fails with
`connection to HOST closed mid-response after N retries (...)` (ModelError, exit 3).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from dreamcli.agent.callbacks import RunCallbacks
from dreamcli.agent.conversation import content_params
from dreamcli.agent.usage import usage_dict
from dreamcli.errors import ModelError
from dreamcli.modelclient import RETRYABLE_ERROR_TYPES as _RETRYABLE_TYPES
from dreamcli.modelclient import base_url_host, connection_closed, error_type, is_connection_drop

RETRY_BASE_S = 0.5
RETRY_MAX_S = 8.0


class IncompleteResponse(ConnectionError):
    """The response stream ended before the message was whole (no message_stop, or no stop_reason)."""


def _incomplete_error(e: IncompleteResponse, retries: int) -> ModelError:
    return ModelError(f"{connection_closed(retries)} ({e})" if e.args[0] == NO_MESSAGE_STOP else
                      f"the response from {base_url_host()} {e} after {retries} "
                      f"{'retry' if retries == 1 else 'retries'}")


NO_MESSAGE_STOP = "the stream ended before message_stop"
NO_STOP_REASON = "had no stop_reason"


@dataclass
class ModelTurn:
    content: list[dict[str, Any]]
    stop_reason: str | None
    usage: dict[str, int]
    model: str
    latency_ms: float
    retries: int = 0


def retryable_midstream(e: BaseException) -> bool:
    import anthropic

    if isinstance(e, anthropic.APIConnectionError | ConnectionError | TimeoutError):
        return True
    if type(e).__module__.split(".")[0] in ("httpx", "httpx2", "httpcore", "h11"):
        return True  # the transport broke mid-stream (the SDK does not wrap errors raised while iterating)
    if isinstance(e, anthropic.APIStatusError):
        return error_type(e) in _RETRYABLE_TYPES or getattr(e, "status_code", 0) >= 500
    return False


def backoff(attempt: int) -> float:
    return min(RETRY_MAX_S, RETRY_BASE_S * (2 ** (attempt - 1)))


def stream_turn(
    client: Any,
    request: dict[str, Any],
    callbacks: RunCallbacks,
    *,
    retries: int,
    cancel: threading.Event | None = None,
) -> ModelTurn:
    """Stream one response; raises the SDK's exception when it finally fails."""
    attempt = 0
    while True:
        started = False
        t0 = time.perf_counter()
        try:
            with client.messages.stream(**request) as stream:
                started = True
                stopped = False
                for event in stream:
                    etype = event.type
                    if etype == "text":
                        callbacks.on_text(event.text)
                    elif etype == "thinking":
                        callbacks.on_thinking(event.thinking)
                    elif etype == "message_stop":
                        stopped = True
                if not stopped:
                    raise IncompleteResponse(NO_MESSAGE_STOP)
                message = stream.get_final_message()
                if not getattr(message, "stop_reason", None):
                    raise IncompleteResponse(NO_STOP_REASON)
        except Exception as e:
            if isinstance(e, IncompleteResponse) and attempt >= retries:
                raise _incomplete_error(e, attempt) from None
            if started and attempt >= retries and is_connection_drop(e):
                raise connection_closed(attempt) from e  # reachable, but the response broke off
            if not started or attempt >= retries or not retryable_midstream(e):
                raise
            attempt += 1
            delay = backoff(attempt)
            callbacks.on_retry(attempt, error_type(e) or type(e).__name__, delay)
            if cancel is not None:
                if cancel.wait(delay):
                    raise KeyboardInterrupt from None
            else:
                time.sleep(delay)
            continue
        latency_ms = (time.perf_counter() - t0) * 1000
        return ModelTurn(
            content=content_params(message.content),
            stop_reason=message.stop_reason,
            usage=usage_dict(message.usage),
            model=message.model or request["model"],
            latency_ms=round(latency_ms, 1),
            retries=attempt,
        )
