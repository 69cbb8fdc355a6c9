"""One cheap call of the model endpoint through the client every model call uses (`modelclient.make_client`):
`dreamcli doctor`'s endpoint and credentials lines. The client takes its own route (the proxy and NO_PROXY
as its HTTP library reads them), its TLS and the credentials, so the answer is the one a run would get.

    got = reach(timeout=3.0)   # Reach(took_s, status=None, failure=""); None: nothing to call it with
    got.failure   # "connection refused": no answer came (a warning, not a failure)
    got.refused   # True: the endpoint answered 401/403, it refused the credentials
    got.status    # 404, 500, ...: an answer, not a page (a local server without GET /v1/models)

The call is `models.list(limit=1)`, sent once (no retries). The key goes where every model call sends it, to
the configured endpoint, and nowhere else; nothing here shows it.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field

from dreamcli.modelclient import base_url_host, make_client, model_configured, unreachable_reason

REFUSED = (401, 403)
PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY")


@dataclass(frozen=True)
class Reach:
    took_s: float
    status: int | None = None  # the HTTP status of an error answer; None: a page came, or no answer at all
    failure: str = ""  # why no answer came (`connection refused`, `no answer within 3 s`); "": one came
    error: Exception | None = field(default=None, compare=False)  # the call broke (neither answer nor failure)

    @property
    def refused(self) -> bool:
        """The endpoint answered that it refuses the credentials (HTTP 401 or 403)."""
        return self.status in REFUSED


def reach(timeout: float) -> Reach | None:
    """Call the endpoint once, `timeout` seconds at most in all: name resolution counts too (the call runs in
    a daemon thread, which never keeps the process alive). None, and the SDK not even loaded, when there is
    nothing to call it with (no credentials) or no URL to call. Never raises: an error that is neither an
    answer nor a failed connection (an SDK without the call, a bug) is kept on `error`."""
    if base_url_host().startswith("(") or not model_configured():
        return None
    try:
        client = make_client(max_retries=0, timeout=timeout)
    except Exception as e:
        return Reach(0.0, error=e)
    outcome: list[BaseException | None] = []

    def call() -> None:
        try:
            client.models.list(limit=1)
            outcome.append(None)
        except BaseException as e:  # reported to the caller's thread
            outcome.append(e)
        finally:
            client.close()

    t0 = time.monotonic()
    worker = threading.Thread(target=call, name="dreamcli-reach", daemon=True)
    worker.start()
    worker.join(timeout)
    took = time.monotonic() - t0
    if not outcome:
        return Reach(took, failure=f"no answer within {timeout:g} s")
    return _classified(outcome[0], took, timeout)


def _classified(e: BaseException | None, took: float, timeout: float) -> Reach:
    import anthropic

    if e is None:
        return Reach(took)
    if isinstance(e, anthropic.APIStatusError):
        return Reach(took, status=e.status_code)
    if isinstance(e, anthropic.APIConnectionError):
        return Reach(took, failure=failure_reason(e, timeout))
    if isinstance(e, Exception):
        return Reach(took, error=e)
    raise e


def failure_reason(e: BaseException, timeout: float) -> str:
    """Why a call got no answer, in a few words: no connection at all (`connection refused`, `connect
    timeout`, the name does not resolve), none within `timeout`, or a connection broken off."""
    import anthropic

    reason = unreachable_reason(e)
    if reason is not None:
        return reason
    if isinstance(e, anthropic.APITimeoutError):
        return f"no answer within {timeout:g} s"
    return f"the connection failed before an answer ({type(e.__cause__ or e).__name__})"


def proxy_set() -> bool:
    """Whether the environment names a proxy (which the client may or may not take: NO_PROXY is its to read)."""
    return any(os.environ.get(v) or os.environ.get(v.lower()) for v in PROXY_VARIABLES)
