"""Whether a TCP connection to an HTTP(S) endpoint can be made, and how long it took (`dreamcli doctor`).
Standard library only; nothing is sent on the connection, so neither a request nor a key ever leaves.

    target = target_of("https://api.anthropic.com")   # Target(host, port, proxy=None), or ValueError why not
    took_s = connect(target.host, target.port, timeout=3.0)   # or Unreachable("connection refused")

The proxy is the one the model client would use: `HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY` and
`NO_PROXY` as `urllib.request.getproxies()` reads them (which httpx, under the anthropic SDK, reads too).
Through a proxy only the proxy itself is connected to; the endpoint behind it is not checked.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443, "socks5": 1080, "socks5h": 1080}


class Unreachable(Exception):
    """No connection was made; the message says why in a few words (`connection refused`)."""


@dataclass(frozen=True)
class Target:
    host: str  # where the connection goes: the endpoint, or its proxy
    port: int
    proxy: bool = False  # True: (host, port) is the proxy the client would go through


def _host_port(url: str, what: str) -> tuple[str, int, str]:
    """Host, port and scheme of `url`; ValueError naming `what` when it has no host or no known port."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    scheme = parts.scheme.lower()
    try:
        port = parts.port or DEFAULT_PORTS.get(scheme)
    except ValueError:
        raise ValueError(f"{what} has a port that is not a number") from None
    if not parts.hostname:
        raise ValueError(f"{what} names no host")
    if port is None:
        raise ValueError(f"{what} has scheme {scheme!r} and no port")
    return parts.hostname, port, scheme


def target_of(url: str) -> Target:
    """Where a client of `url` connects first: the endpoint, or the proxy the environment names for it.
    Never carries a user or password the URLs may hold."""
    import urllib.request

    host, port, scheme = _host_port(url, "the URL")
    proxies = urllib.request.getproxies()
    proxy = proxies.get(scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass(host):
        return Target(host, port)
    p_host, p_port, _ = _host_port(proxy, "the proxy URL")
    return Target(p_host, p_port, proxy=True)


def connect(host: str, port: int, timeout: float) -> float:
    """Open a TCP connection to host:port and close it at once; the seconds it took. Name resolution
    counts in `timeout` too: a resolver that hangs gives up with the connect (the attempt goes on in a
    daemon thread, which never keeps the process alive)."""
    outcome: list[BaseException | None] = []

    def attempt() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                outcome.append(None)
        except BaseException as e:  # reported to the caller's thread
            outcome.append(e)

    t0 = time.monotonic()
    worker = threading.Thread(target=attempt, name="dreamcli-connect", daemon=True)
    worker.start()
    worker.join(timeout)
    took = time.monotonic() - t0
    if not outcome:
        raise Unreachable(f"no connection within {timeout:g} s")
    if outcome[0] is not None:
        raise Unreachable(_why(outcome[0], timeout))
    return took


def _why(e: BaseException, timeout: float) -> str:
    if isinstance(e, TimeoutError):
        return f"no connection within {timeout:g} s"
    if isinstance(e, socket.gaierror):
        return f"the name does not resolve: {(e.strerror or str(e)).lower()}"
    if isinstance(e, ConnectionRefusedError):
        return "connection refused"
    if isinstance(e, OSError) and e.strerror:
        return e.strerror.lower()
    return type(e).__name__
