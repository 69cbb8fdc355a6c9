"""The client for the Managed Agents resources, and their failures as dreamcli errors.

Cloud commands need a real API key (a local Anthropic-compatible server has no Managed Agents), an
SDK recent enough to have the beta resources, and an account with the betas enabled; each missing
piece is one line and its exit code.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from dreamcli.errors import CredentialsError, DreamError, ModelError, UsageError, WorkFailed
from dreamcli.modelclient import api_error, base_url_host, error_message, make_client
from dreamcli.redaction import Redactor, default_redactor
from dreamcli.sdk_beta import MANAGED_AGENTS_MIN_SDK, UnreadableAnswer, managed_agents_missing, unreadable_reason

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


def cloud_client(*, max_retries: int = 2) -> Any:
    """An `anthropic.Anthropic` with the Managed Agents resources; exit 4 without a key, exit 3 when
    the installed SDK predates them."""
    if not (os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("ANTHROPIC_AUTH_TOKEN")):
        raise CredentialsError(MISSING_KEY)
    client = make_client(max_retries=max_retries, timeout=120.0)
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
    return api_error(e, what=what)


def _unreadable(what: str, reason: str, subject: str | None) -> ModelError:
    """Exit 3 in words: the endpoint (host and port, never credentials or a query) and what its answer was."""
    about = f"{subject}: " if subject else ""
    return ModelError(f"{what}: {about}the API at {base_url_host()} returned an answer dreamcli cannot read "
                      f"({reason})")


def is_conflict(e: BaseException) -> bool:
    import anthropic

    return isinstance(e, anthropic.ConflictError)
