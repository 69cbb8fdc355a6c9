"""`doctor`'s checks of the model endpoint and the credentials, from the one call `modelreach.reach` makes. Nothing
here prints, sends or stores a credential: only whether one is set."""

from __future__ import annotations

import os

from dreamcli import modelreach
from dreamcli.doctor.report import Check
from dreamcli.modelclient import base_url_host

ENDPOINT_TIMEOUT_S = 3.0


def check_endpoint(called: modelreach.Reach | None) -> list[Check]:
    """The endpoint's URL, then what its call (`modelreach.reach`) gave: its time, or the HTTP status of an
    answer that is not a page (the endpoint is there), or why no answer came: a warning, as offline dreams
    and imports work. A call that broke (`error`) is this line's FAIL."""
    host = base_url_host()  # host and port only: never user:password or a path
    if host.startswith("("):
        return [Check("endpoint", "fail", "ANTHROPIC_BASE_URL is not a URL",
                      "set it like http://localhost:11434, or unset it")]
    custom = bool(os.environ.get("ANTHROPIC_BASE_URL"))
    where = f"{host} ({'ANTHROPIC_BASE_URL' if custom else 'default'})"
    if called is None:  # the credentials line warns: no command would call it
        return [Check("endpoint", "ok", f"{where}; not tried: no credentials to call it with")]
    if called.error is not None:
        raise called.error
    if called.failure:
        fix = "start the server, or fix ANTHROPIC_BASE_URL" if custom else "check the network and the firewall"
        proxy = "; a proxy is set: check *_PROXY and NO_PROXY" if modelreach.proxy_set() else ""
        return [Check("endpoint", "warn", f"{where}: cannot reach it ({called.failure}); offline dreams and "
                      "imports still work", fix + proxy)]
    see = ": see credentials" if called.refused else ""
    got = "answered" if called.status is None else f"reachable (HTTP {called.status}{see})"
    return [Check("endpoint", "ok", f"{where}, {got} in {called.took_s * 1000:.0f} ms")]


def check_credentials(called: modelreach.Reach | None = None) -> list[Check]:
    """Whether a key or a token is set (never a character of it); FAIL when the endpoint refused it."""
    names = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")
    found = [bool(os.environ.get(n)) for n in names]
    detail = ", ".join(f"{n} {'set' if f else 'not set'}" for n, f in zip(names, found, strict=True))
    if called is not None and called.refused:
        sent = next((n for n, f in zip(names, found, strict=True) if f), None)  # the one the client sends
        whom = "it" if sent else "a call without one"
        return [Check("credentials", "fail", f"{detail}; the endpoint refused {whom} (HTTP {called.status})",
                      f"check {sent}" if sent else "export ANTHROPIC_API_KEY")]
    if any(found):
        return [Check("credentials", "ok", detail)]
    if os.environ.get("ANTHROPIC_BASE_URL"):
        return [Check("credentials", "ok", detail + " (a local server may need none)")]
    return [Check("credentials", "warn", detail + " (offline commands still work)",
                  "export ANTHROPIC_API_KEY, or ANTHROPIC_BASE_URL for a local server")]
