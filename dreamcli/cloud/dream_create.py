"""A cloud dream create that never starts two dreams. A create is not conditional, and the Dreams API takes
no idempotency key and no metadata a dream could be found by afterwards (only its inputs, model and
instructions, which another run can share): sent again after an attempt that got no answer, it would start
and bill a second dream. So the create is sent once (`sdk_beta.create_dream`, without the SDK's retries),
and sent again only after a failure that shows no dream was started: no connection could be made at all,
or the API answered 429 (rate limited). Any other failure ends the create; `uncertain` says whether the
request may have reached the API all the same (a timeout, a dropped connection, a 5xx, an answer that
cannot be read). How many attempts there are is our own configuration (`limits.model_retries`, capped:
`cloud_client`), and so is the count an error names."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from dreamcli import sdk_beta
from dreamcli.modelclient import unreachable_reason

BACKOFF_S = 0.5  # the pause after the first refused attempt, doubling, as the SDK's own retries do
MAX_BACKOFF_S = 8.0
MAY_HAVE_STARTED = ("a cloud dream may have started all the same (its id never came back): check the dreams in "
                    "the console before running `dreamcli cloud dream` again")
MAY_HAVE_STARTED_RECORDED = ("a cloud dream may have started all the same (its id never came back): `dreamcli cloud "
                             "dream list` shows when and over which store; find it in the console before running "
                             "`dreamcli cloud dream` again")


class DreamCreateFailed(Exception):
    """A create that started no dream dreamcli knows of: `error` is the last failure, `attempts` how many
    requests failed, `uncertain` whether the last one may have started a dream nonetheless."""

    def __init__(self, error: BaseException, attempts: int, *, uncertain: bool) -> None:
        super().__init__(str(error))
        self.error = error
        self.attempts = attempts
        self.uncertain = uncertain


def _sleep(seconds: float) -> bool:
    time.sleep(seconds)
    return False


def create_dream_once(client: Any, *, store_id: str, session_ids: list[str], model: str,
                      instructions: str | None, attempts: int,
                      pause: Callable[[float], bool] | None = None) -> dict[str, Any]:
    """The API's answer to the one create that went through, after at most `attempts` requests, each sent
    once; a request is sent again only after a failure that started nothing (`never_started`). `pause(s)`
    (default: sleep) waits before the next request and says whether to stop instead (a signal is held:
    `Held.wait`): then no further request goes out, and the last failure ends the create. Raises
    DreamCreateFailed."""
    wait = pause or _sleep
    for n in range(1, max(attempts, 1) + 1):
        try:
            return sdk_beta.create_dream(client, store_id=store_id, session_ids=session_ids, model=model,
                                         instructions=instructions)
        except Exception as e:
            if n >= attempts or not never_started(e):
                raise DreamCreateFailed(e, n, uncertain=may_have_started(e)) from None
            last = e
        if wait(min(BACKOFF_S * 2 ** (n - 1), MAX_BACKOFF_S)):
            raise DreamCreateFailed(last, n, uncertain=may_have_started(last))
    raise AssertionError("create_dream_once: no attempt")  # pragma: no cover


def never_started(e: BaseException) -> bool:
    """A failure that shows the request started no dream, so sending it again is safe: no connection
    could be made at all (the request was never sent), or the API refused it for the rate limit (429)."""
    import anthropic

    if isinstance(e, anthropic.APIConnectionError):
        return unreachable_reason(e) is not None
    return isinstance(e, anthropic.RateLimitError)


def may_have_started(e: BaseException) -> bool:
    """A failure after which a dream may be running: the request may have reached the API and only its
    answer been lost (a timeout, a connection broken off, 408, a 5xx), or the API answered with a body
    dreamcli cannot read. An error answer (4xx) or a connection never made started nothing."""
    import anthropic

    if sdk_beta.unreadable_reason(e) is not None:
        return True
    if isinstance(e, anthropic.APIConnectionError):  # APITimeoutError too
        return unreachable_reason(e) is None
    status = e.status_code if isinstance(e, anthropic.APIStatusError) else None
    return isinstance(status, int) and (status >= 500 or status == 408)
