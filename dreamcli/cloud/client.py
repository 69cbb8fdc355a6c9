"""The client for the Managed Agents resources, and their failures as dreamcli errors.

Cloud commands need a real API key (a local Anthropic-compatible server has no Managed Agents), an
SDK recent enough to have the beta resources, and an account with the betas enabled; each missing
piece is one line and its exit code. Requests follow the model client's policy (config.yaml
`limits.request_timeout_s` each attempt, `limits.model_retries` retries), capped at CLOUD_TIMEOUT_S and
CLOUD_MAX_RETRIES: an API that accepts the connection
and never answers ends a command within that bound, with one line naming the host and the timeout (exit 3).
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING, Any

from dreamcli.errors import CredentialsError, DreamError, ModelError, UsageError, WorkFailed
from dreamcli.modelclient import api_error, base_url_host, error_message, make_client
from dreamcli.redaction import Redactor, default_redactor
from dreamcli.sdk_beta import MANAGED_AGENTS_MIN_SDK, UnreadableAnswer, managed_agents_missing, unreadable_reason

if TYPE_CHECKING:
    from dreamcli.config import LimitsConfig

# at most, whatever `limits` allow model calls (a long generation): a listing or a memory write answers in seconds
CLOUD_TIMEOUT_S = 120.0
CLOUD_MAX_RETRIES = 2
MISSING_KEY = "Managed Agents need an API key: set ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN)"
BETA_HINT = ("the Managed Agents beta is not enabled for this account or key ({detail}); ask your "
             "Anthropic admin to enable managed-agents-2026-04-01 / dreaming-2026-04-21")


def sdk_problem() -> str | None:
    """Why the installed `anthropic` cannot run cloud commands, or None (checked on a client, no call)."""
    import anthropic

    client = anthropic.Anthropic(api_key="unused", base_url="http://127.0.0.1:9")
    missing = managed_agents_missing(client)
    if missing is None:
        return None
    version = getattr(anthropic, "__version__", "?")
    return (f"dreamcli cloud needs anthropic >= {MANAGED_AGENTS_MIN_SDK} (installed {version} has no "
            f"client.{missing}); pip install -U anthropic")


def cloud_client(limits: LimitsConfig) -> Any:
    """An `anthropic.Anthropic` with the Managed Agents resources, its timeout and retries the model
    client's (`limits.request_timeout_s`, `limits.model_retries`) up to CLOUD_TIMEOUT_S and
    CLOUD_MAX_RETRIES; exit 4 without a key, exit 3 when the installed SDK predates them."""
    if not (os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("ANTHROPIC_AUTH_TOKEN")):
        raise CredentialsError(MISSING_KEY)
    client = make_client(max_retries=min(limits.model_retries, CLOUD_MAX_RETRIES),
                         timeout=min(limits.request_timeout_s, CLOUD_TIMEOUT_S))
    missing = managed_agents_missing(client)
    if missing is not None:
        problem = sdk_problem()
        raise ModelError(problem or f"the installed anthropic has no client.{missing}; pip install -U anthropic")
    return client


class Conflict(WorkFailed):
    """A precondition failed: the cloud changed since the last pull (HTTP 409)."""


def cloud_error(e: BaseException, *, what: str, store: str | None = None,
                redactor: Redactor | None = None) -> DreamError:
    """One clear line for a failed cloud call: beta not enabled (4), unknown store (2), conflict (1), an
    answer dreamcli cannot read (3), else the model-call mapping (3 for infrastructure). The API's own
    text is redacted (`redactor`, default: the built-in rules): an API can echo a key or a token back in
    its error message."""
    if isinstance(e, DreamError):
        return redacted(e, redactor)
    _scrub(e, redactor or default_redactor())
    return redacted(_mapped(e, what=what, store=store), redactor)


def redacted(e: DreamError, redactor: Redactor | None = None) -> DreamError:
    """`e` with its message redacted (in place; the same error, its exit code kept)."""
    message = str(e)
    safe = (redactor or default_redactor()).redact_text(message)
    if safe != message:
        e.args = (safe, *e.args[1:])
    return e


def api_message(e: BaseException, redactor: Redactor | None = None) -> str:
    """The API's own error message (at most 300 characters), redacted whole before it is cut."""
    _scrub(e, redactor or default_redactor())
    return error_message(e)


def _scrub(e: BaseException, redactor: Redactor) -> None:
    """Redact the API's error text whole, in the exception itself, before the mapping cuts it to 300
    characters (a secret cut in half is no longer recognised)."""
    body = getattr(e, "body", None)
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict) and isinstance(err.get("message"), str):
        err["message"] = redactor.redact_text(err["message"])
    if isinstance(getattr(e, "message", None), str):
        with contextlib.suppress(AttributeError):
            e.message = redactor.redact_text(e.message)  # type: ignore[attr-defined]
    e.args = tuple(redactor.redact_text(a) if isinstance(a, str) else a for a in e.args)


def _mapped(e: BaseException, *, what: str, store: str | None) -> DreamError:
    import anthropic

    reason = unreadable_reason(e)
    if reason is not None:
        return _unreadable(what, reason, e.subject if isinstance(e, UnreadableAnswer) else None)
    message = error_message(e)
    if isinstance(e, anthropic.PermissionDeniedError | anthropic.BadRequestError) and "beta" in message.lower():
        return CredentialsError(f"{what}: " + BETA_HINT.format(detail=message))
    if isinstance(e, anthropic.NotFoundError):
        if store is not None:
            return UsageError(f"{what}: no memory store {store!r} in this workspace of the account ({message})")
        return UsageError(f"{what}: not found ({message})")
    if isinstance(e, anthropic.ConflictError):
        return Conflict(f"{what}: conflict: {message}")
    if isinstance(e, anthropic.APITimeoutError):
        return _stalled(what, getattr(e, "request", None))
    return api_error(e, what=what)


def _stalled(what: str, request: Any) -> ModelError:
    """Exit 3 in words for a request the SDK gave up on, every attempt timed out: the endpoint, how long
    each attempt waited and how many there were (as that request carries them), and the settings for both."""
    timeout, attempts = _request_policy(request)
    waited = f" within {timeout:g} s" if timeout is not None else ""
    tries = "" if attempts is None else f"{attempts} attempt{'' if attempts == 1 else 's'}; "
    return ModelError(f"{what}: the API at {base_url_host()} did not answer{waited} ({tries}config "
                      "limits.request_timeout_s, limits.model_retries)")


def _request_policy(request: Any) -> tuple[float | None, int | None]:
    """The timeout an SDK request (an `httpx` request) waited, and its attempt number: its `timeout`
    extension and its `x-stainless-retry-count` header plus one; None for what it does not carry."""
    extensions = getattr(request, "extensions", None)
    phases = extensions.get("timeout") if isinstance(extensions, dict) else None
    seconds = [v for v in phases.values() if isinstance(v, int | float)] if isinstance(phases, dict) else []
    headers = getattr(request, "headers", None)
    retried = headers.get("x-stainless-retry-count") if headers is not None else None
    attempt = int(retried) + 1 if isinstance(retried, str) and retried.isdigit() else None
    return (max(seconds) if seconds else None), attempt


def _unreadable(what: str, reason: str, subject: str | None) -> ModelError:
    """Exit 3 in words: the endpoint (host and port, never credentials or a query) and what its answer was."""
    about = f"{subject}: " if subject else ""
    return ModelError(f"{what}: {about}the API at {base_url_host()} returned an answer dreamcli cannot read "
                      f"({reason})")


def is_conflict(e: BaseException) -> bool:
    import anthropic

    return isinstance(e, anthropic.ConflictError)
