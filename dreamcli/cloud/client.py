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
from dreamcli.modelclient import api_error, base_url_host, http_client, make_client
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

    base_url = "http://127.0.0.1:9"
    client = anthropic.Anthropic(api_key="unused", base_url=base_url, http_client=http_client(base_url, 5.0))
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


def attempts_of(client: Any) -> int | None:
    """How many times a request of `client` is sent before it fails, from our own configuration: the
    retries `cloud_client` gave it (a client made to send once: 0) plus one; None when it does not say."""
    retries = getattr(client, "max_retries", None)
    return retries + 1 if isinstance(retries, int) and retries >= 0 else None


def cloud_error(e: BaseException, *, what: str, store: str | None = None,
                redactor: Redactor | None = None, attempts: int | None = None, resent: bool = True) -> DreamError:
    """One clear line for a failed cloud call: beta not enabled (4), unknown store (2), conflict (1), an
    answer dreamcli cannot read (3), an error answer (`cloud API error: HTTP 500: …`, 3), else the
    model-call mapping (3 for infrastructure). The API's own text is redacted (`redactor`, default: the
    built-in rules): an API can echo a key or a token back in its error message. `attempts`: how many
    times the request was sent (`attempts_of(client)`, or the caller's own count), named when it timed out;
    `resent=False` for a request never sent again after a timeout (a dream create), whose line then names
    only the timeout's setting."""
    if isinstance(e, DreamError):
        return redacted(e, redactor)
    rules = redactor or default_redactor()
    _scrub(e, rules)
    return redacted(_mapped(e, what=what, store=store, redactor=rules, attempts=attempts, resent=resent), redactor)


def redacted(e: DreamError, redactor: Redactor | None = None) -> DreamError:
    """`e` with its message redacted (in place; the same error, its exit code kept)."""
    message = str(e)
    safe = (redactor or default_redactor()).redact_text(message)
    if safe != message:
        e.args = (safe, *e.args[1:])
    return e


def api_message(e: BaseException, redactor: Redactor | None = None) -> str:
    """The API's own error message (at most 300 characters), redacted whole before it is cut; `no
    message` when its answer has none."""
    return said(e, redactor or default_redactor()) or "no message"


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


def _mapped(e: BaseException, *, what: str, store: str | None, redactor: Redactor,
            attempts: int | None, resent: bool = True) -> DreamError:
    import anthropic

    reason = unreadable_reason(e)
    if reason is not None:
        return _unreadable(what, reason, e.subject if isinstance(e, UnreadableAnswer) else None)
    if isinstance(e, anthropic.APITimeoutError):
        return _stalled(what, getattr(e, "request", None), attempts, resent)
    if not isinstance(e, anthropic.APIStatusError) or isinstance(e, anthropic.AuthenticationError):
        return api_error(e, what=what)  # no answer (cannot connect), refused credentials
    message = said(e, redactor)
    if isinstance(e, anthropic.PermissionDeniedError | anthropic.BadRequestError) and "beta" in (message or "").lower():
        return CredentialsError(f"{what}: " + BETA_HINT.format(detail=message))
    if isinstance(e, anthropic.PermissionDeniedError):
        return api_error(e, what=what)
    if isinstance(e, anthropic.NotFoundError):
        if store is not None:
            return UsageError(f"{what}: no memory store {store!r} in this workspace of the account "
                              f"({message or 'no message'})")
        return UsageError(f"{what}: not found ({message or 'no message'})")
    if isinstance(e, anthropic.ConflictError):
        return Conflict(f"{what}: conflict: {message or 'no message'}")
    status = f"HTTP {getattr(e, 'status_code', '?')}"
    if message is None and _html(getattr(e, "body", None)):
        return ModelError(f"{what}: cloud API error: {status} (no message: an HTML page)")
    return ModelError(f"{what}: cloud API error: {status}" + (f": {message}" if message else " (no message)"))


def said(e: BaseException, redactor: Redactor) -> str | None:
    """What an error answer says, wherever its body keeps it (`error.message`, `message`, `error` as
    text, a plain-text body), on one line, redacted whole and then cut to 300 characters; None when it
    says nothing (an empty body, `{}`, `null`, an HTML page)."""
    body = getattr(e, "body", None)
    text: Any = None
    if isinstance(body, dict):
        err = body.get("error")
        text = next((t for t in (err.get("message") if isinstance(err, dict) else err, body.get("message"))
                     if isinstance(t, str) and t.strip()), None)
    elif isinstance(body, str) and not _html(body):
        text = body
    line = " ".join(text.split()) if isinstance(text, str) else ""
    return _cut(redactor.redact_text(line), 300) if line else None


def _cut(text: str, width: int) -> str:
    """`text` at most `width` characters and an ellipsis, never ending inside a `[REDACTED:…]` marker."""
    if len(text) <= width:
        return text
    head = text[:width]
    marker = head.rfind("[REDACTED:")
    if marker >= 0 and "]" not in head[marker:]:
        head = head[:marker].rstrip()
    return head + "…"


def _html(body: Any) -> bool:
    head = body.lstrip("\ufeff \t\r\n")[:512].lower() if isinstance(body, str) else ""
    return head.startswith("<") and "html" in head


def _stalled(what: str, request: Any, attempts: int | None, resent: bool = True) -> ModelError:
    """Exit 3 in words for a request that timed out every attempt: the endpoint, how long each attempt
    waited (the request's timeout), how many attempts there were (`attempts`: our own count, never what
    the SDK put in the request's headers), and the settings for both; for a request not sent again after
    a timeout (`resent=False`), that and the timeout's setting only (model_retries changes nothing there)."""
    timeout = _request_timeout(request)
    waited = f" within {timeout:g} s" if timeout is not None else ""
    tries = "" if attempts is None else f"{attempts} attempt{'' if attempts == 1 else 's'}; "
    settings = "limits.request_timeout_s, limits.model_retries" if resent else "limits.request_timeout_s"
    again = "" if resent else "not sent again after a timeout; "
    return ModelError(f"{what}: the API at {base_url_host()} did not answer{waited} ({tries}{again}config "
                      f"{settings})")


def _request_timeout(request: Any) -> float | None:
    """The timeout an `httpx` request waited (its `timeout` extension), None when it carries none."""
    extensions = getattr(request, "extensions", None)
    phases = extensions.get("timeout") if isinstance(extensions, dict) else None
    seconds = [v for v in phases.values() if isinstance(v, int | float)] if isinstance(phases, dict) else []
    return max(seconds) if seconds else None


def _unreadable(what: str, reason: str, subject: str | None) -> ModelError:
    """Exit 3 in words: the endpoint (host and port, never credentials or a query) and what its answer was."""
    about = f"{subject}: " if subject else ""
    return ModelError(f"{what}: {about}the API at {base_url_host()} returned an answer dreamcli cannot read "
                      f"({reason})")


def is_conflict(e: BaseException) -> bool:
    import anthropic

    return isinstance(e, anthropic.ConflictError)
