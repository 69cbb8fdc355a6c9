"""The one place a model client is made, and API failures are mapped to dreamcli errors.

`ANTHROPIC_API_KEY` / `ANTHROPIC_AUTH_TOKEN` and `ANTHROPIC_BASE_URL` work as the SDK defines them,
so an Anthropic-compatible local server (Ollama >= 0.14, llama.cpp, LiteLLM) runs fully locally.
`anthropic` is imported lazily here, never at CLI start-up.
"""

from __future__ import annotations

import contextlib
import functools
import os
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from dreamcli.errors import CredentialsError, DreamError, ModelError, UsageError

if TYPE_CHECKING:
    import anthropic
    import httpx2

DEFAULT_BASE_URL = "https://api.anthropic.com"
MISSING_CREDENTIALS = (
    "no model credentials: set ANTHROPIC_API_KEY, or ANTHROPIC_BASE_URL for an Anthropic-compatible "
    "local server (e.g. http://localhost:11434 for Ollama)"
)


def base_url() -> str:
    return os.environ.get("ANTHROPIC_BASE_URL") or DEFAULT_BASE_URL


def base_url_host() -> str:
    """Host (and port) of the endpoint, never any `user:password@` the URL may carry."""
    parsed = urlparse(base_url())
    try:
        port = parsed.port
    except ValueError:
        port = None
    if not parsed.hostname:
        return "(unparsable ANTHROPIC_BASE_URL)"
    return parsed.hostname + (f":{port}" if port else "")


def is_anthropic_endpoint() -> bool:
    """True for Anthropic's own API (prompt caching, built-in tool schemas, tool_choice work there)."""
    host = urlparse(base_url()).hostname or ""
    return host == "anthropic.com" or host.endswith(".anthropic.com")


def model_configured() -> bool:
    return bool(
        os.environ.get("ANTHROPIC_API_KEY")
        or os.environ.get("ANTHROPIC_AUTH_TOKEN")
        or os.environ.get("ANTHROPIC_BASE_URL")
    )


def make_client(*, max_retries: int = 4, timeout: float = 600.0) -> anthropic.Anthropic:
    """A configured `anthropic.Anthropic`; CredentialsError (exit 4) when there is nothing to call."""
    if not model_configured():
        raise CredentialsError(MISSING_CREDENTIALS)
    import anthropic

    key = os.environ.get("ANTHROPIC_API_KEY")
    token = os.environ.get("ANTHROPIC_AUTH_TOKEN")
    kwargs: dict[str, Any] = {"max_retries": max_retries, "timeout": timeout, "base_url": base_url()}
    if key:
        kwargs["api_key"] = key
    elif token:
        kwargs["auth_token"] = token
    else:  # local servers accept any key; the SDK insists on one
        kwargs["api_key"] = "local"
    kwargs["http_client"] = http_client(kwargs["base_url"], timeout)
    return anthropic.Anthropic(**kwargs)


def http_client(base_url: str, timeout: float) -> httpx2.Client:
    """The HTTP client an `anthropic.Anthropic` of dreamcli's is given (`_http_client_class`: one that a stop
    while it is built leaves silent)."""
    return _http_client_class()(base_url=base_url, timeout=timeout)


@functools.cache
def _http_client_class() -> type[httpx2.Client]:
    """The SDK's own HTTP client (`anthropic.DefaultHttpxClient`: its limits, timeout, redirects and keep-alive),
    closed when it is dropped unclosed, as the one the SDK makes for itself is. Ctrl-C can land while it is
    being built (loading the CA certificates is its slow step); the SDK's finaliser then reads state the
    constructor never set and the interpreter prints "Exception ignored in ... AttributeError" after the
    command's stop line. This one's finaliser knows a half-built client has nothing open, and stays silent."""
    import anthropic

    class ModelHttpClient(anthropic.DefaultHttpxClient):
        def __del__(self) -> None:
            try:
                closed = self.is_closed
            except AttributeError:  # half built: its constructor was stopped before it opened anything
                return
            if not closed:
                with contextlib.suppress(Exception):  # a finaliser has no one to tell, as in the SDK's
                    self.close()

    return ModelHttpClient


def is_connection_drop(e: BaseException) -> bool:
    """A transport failure (the connection closed, reset or timed out), not an HTTP error answer."""
    import anthropic

    if isinstance(e, anthropic.APIStatusError):
        return False
    if isinstance(e, anthropic.APIConnectionError | ConnectionError | TimeoutError):
        return True
    return type(e).__module__.split(".")[0] in ("httpx", "httpx2", "httpcore", "h11")


def connection_closed(retries: int) -> ModelError:
    """A response that had started and then broke off, every time: the server is reachable."""
    return ModelError(f"connection to {base_url_host()} closed mid-response after {retries} "
                      f"{'retry' if retries == 1 else 'retries'}")


_CONNECT_FAILURES = ("ConnectError", "ConnectTimeout")  # httpx's (and httpcore's): no connection was made


def unreachable_reason(e: BaseException) -> str | None:
    """Why no connection to the endpoint could be made at all (`connection refused`, `name or service not
    known`, `connect timeout`), from the exception's causes; None when one was made (it answered, or broke
    off or timed out afterwards)."""
    reason: str | None = None
    seen: set[int] = set()
    cur: BaseException | None = e
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        name, root = type(cur).__name__, type(cur).__module__.split(".")[0]
        if name in _CONNECT_FAILURES and root.startswith(("httpx", "httpcore")):
            reason = reason or ("connect timeout" if name == "ConnectTimeout" else "connection failed")
        if isinstance(cur, OSError) and reason is not None and cur.strerror:
            reason = cur.strerror.lower()
        cur = cur.__cause__ or cur.__context__
    return reason


def api_error(e: BaseException, *, what: str = "model call") -> DreamError:
    """Map an exception from the SDK to a dreamcli error with the right exit code (never shows the key):
    no connection at all is exit 4 (`cannot reach HOST`), as for object stores and Ray clusters; a
    connection that timed out or broke off before an answer is exit 3."""
    import anthropic

    if isinstance(e, anthropic.AuthenticationError | anthropic.PermissionDeniedError):
        return CredentialsError(f"{what}: the endpoint refused the credentials ({_status(e)}); check ANTHROPIC_API_KEY")
    if isinstance(e, DreamError):
        return e
    if isinstance(e, anthropic.APIConnectionError):
        unreachable = unreachable_reason(e)
        if unreachable is not None:
            return CredentialsError(f"{what}: cannot reach {base_url_host()} ({unreachable})")
        if isinstance(e, anthropic.APITimeoutError):
            return ModelError(f"{what}: no answer from {base_url_host()} within the timeout "
                              "(config limits.request_timeout_s)")
        return ModelError(f"{what}: the connection to {base_url_host()} failed before an answer "
                          f"({_cause_name(e)})")
    if isinstance(e, anthropic.NotFoundError):
        return ModelError(f"{what}: not found ({error_message(e)}); is the model id right?")
    if isinstance(e, anthropic.BadRequestError):
        return ModelError(f"{what}: request rejected: {error_message(e)}")
    if isinstance(e, anthropic.APIStatusError) and in_stream(e):
        kind = error_type(e) or "an error"
        after = " (after retries)" if kind in RETRYABLE_ERROR_TYPES else ""
        return ModelError(f"{what}: {kind} in the response stream: {error_message(e)}{after}")
    if isinstance(e, anthropic.APIStatusError):
        return ModelError(f"{what}: {_status(e)} {error_message(e)} (after retries)")
    if isinstance(e, DreamError):
        return e
    return ModelError(f"{what}: {type(e).__name__}: {e}")


RETRYABLE_ERROR_TYPES = ("overloaded_error", "api_error", "rate_limit_error", "timeout_error")  # retried mid-stream


def in_stream(e: Any) -> bool:
    """An SSE `error` event in a response that had started (HTTP 200): the SDK raises it with the response's
    status, which says nothing about the failure."""
    status = getattr(e, "status_code", None)
    return isinstance(status, int) and status < 400


def error_type(e: Any) -> str | None:
    """The API's error type (the body's `error.type`: `overloaded_error`, ...), or None."""
    body = getattr(e, "body", None)
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict) and err.get("type"):
            return str(err["type"])[:100]
    return None


def _cause_name(e: BaseException) -> str:
    return type(e.__cause__).__name__ if e.__cause__ is not None else type(e).__name__


def _status(e: Any) -> str:
    return f"HTTP {getattr(e, 'status_code', '?')}"


def error_message(e: Any) -> str:
    """The API's own error message (the body's `error.message`), at most 300 characters."""
    body = getattr(e, "body", None)
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])[:300]
    return str(getattr(e, "message", e))[:300]


def require_model_id(model: str | None) -> str:
    if not model:
        raise UsageError("no model id given")
    return model
