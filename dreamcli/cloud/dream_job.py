"""`cloud dream`: start Dreams API jobs (output `create_new`, never `update_existing`), poll them with
backoff, and cancel them on Ctrl-C (`dreams.cancel`). A dream takes one memory store and 1-100
sessions: more sessions are split across dreams."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dreamcli import sdk_beta
from dreamcli.cloud.client import cloud_error, redacted
from dreamcli.cloud.state import shown, valid_cloud_id
from dreamcli.errors import Interrupted, ModelError, UsageError, WorkFailed

FINAL = ("completed", "failed", "canceled")
FIRST_POLL_S = 2.0
MAX_POLL_S = 30.0
BACKOFF = 1.5


@dataclass
class Poll:
    """What the progress line shows."""

    dream_id: str
    status: str
    elapsed_s: float
    usage: dict[str, Any]
    part: int = 1
    parts: int = 1


def chunks(session_ids: list[str], size: int = sdk_beta.MAX_SESSIONS_PER_DREAM) -> list[list[str]]:
    unique = list(dict.fromkeys(session_ids))
    return [unique[i:i + size] for i in range(0, len(unique), size)]


def recent_sessions(client: Any, store_id: str, limit: int) -> list[str]:
    """The ids of the store's most recent sessions (newest first), paged."""
    ids: list[str] = []
    try:
        for s in sdk_beta.iter_sessions(client, memory_store_id=store_id, order="desc", max_items=limit):
            if not valid_cloud_id(s.get("id")):
                raise ModelError(f"list the sessions of memory store {store_id}: the API listed a session id "
                                 f"{shown(s.get('id'))}, not a session id (sesn_...)")
            ids.append(s["id"])
    except Exception as e:
        raise cloud_error(e, what=f"list the sessions of memory store {store_id}", store=store_id) from None
    if not ids:
        raise UsageError(f"memory store {store_id} has no sessions to dream over (give --sessions ID,...)")
    return ids


def start(client: Any, store_id: str, session_ids: list[str], model: str, instructions: str | None) -> dict[str, Any]:
    try:
        started = sdk_beta.create_dream(client, store_id=store_id, session_ids=session_ids, model=model,
                                        instructions=instructions)
    except Exception as e:
        raise cloud_error(e, what=f"start a cloud dream over memory store {store_id}", store=store_id) from None
    return checked_dream(started)


def _optional_str(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _number(value: Any) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def _error_object(value: Any) -> bool:
    return value is None or (isinstance(value, dict) and isinstance(value.get("type"), str)
                             and _optional_str(value.get("message")))


def _outputs(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(o, dict) and (o.get("memory_store_id") is None or valid_cloud_id(o.get("memory_store_id")))
        for o in value)


_FIELDS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "status": (lambda v: isinstance(v, str), "a status string"),
    "error": (_error_object, "null or an object with a string type"),
    "outputs": (_outputs, "a list of outputs with memory store ids"),
    "model": (lambda v: isinstance(v, dict) and isinstance(v.get("id"), str), "an object with a model id"),
    "usage": (lambda v: v is None or (isinstance(v, dict) and all(_number(x) for x in v.values())),
              "an object of token counts"),
    "instructions": (_optional_str, "null or a string"),
    "session_id": (_optional_str, "null or a string"),
}


def checked_dream(dream: dict[str, Any]) -> dict[str, Any]:
    """A dream (`BetaDream`) as the API answered it, each field dreamcli reads type-checked: a wrong type
    is one line, exit 3 (the API misbehaved), never an AttributeError further on."""
    dream_id = dream.get("id")
    if not valid_cloud_id(dream_id):
        raise ModelError(f"cloud dream: the API answered a dream id {shown(dream_id)}, not a dream id (drm_...)")
    for name, (ok, expected) in _FIELDS.items():
        if not ok(dream.get(name)):
            raise ModelError(f"cloud dream {dream_id}: the API answered {name} {shown(dream.get(name))}, "
                             f"not {expected}")
    return dream


def _pause(seconds: float) -> None:
    time.sleep(seconds)


def wait(client: Any, dream: dict[str, Any], *, progress: Callable[[Poll], None] | None = None,
         sleep: Callable[[float], None] | None = None, clock: Callable[[], float] = time.monotonic,
         first_poll_s: float | None = None, part: int = 1, parts: int = 1) -> dict[str, Any]:
    """Poll until the dream is final (backoff 2 s x1.5 up to 30 s). Ctrl-C cancels it and raises
    Interrupted (exit 130) saying so, as does SIGTERM or SIGHUP turned into a KeyboardInterrupt with a
    `signum` (`dreamcli cloud dream` does; exit 128 + the signal); a failed dream is exit 3, a canceled
    one exit 1."""
    dream_id = str(checked_dream(dream)["id"])
    started = clock()
    delay = FIRST_POLL_S if first_poll_s is None else first_poll_s
    pause = sleep or _pause
    try:
        while dream.get("status") not in FINAL:
            if progress is not None:
                progress(Poll(dream_id, str(dream.get("status")), clock() - started, dream.get("usage") or {},
                              part, parts))
            pause(delay)
            delay = min(MAX_POLL_S, delay * BACKOFF)
            try:
                dream = sdk_beta.retrieve_dream(client, dream_id)
            except Exception as e:
                raise cloud_error(e, what=f"check cloud dream {dream_id}") from None
            dream = checked_dream(dream)
    except KeyboardInterrupt as e:  # Ctrl-C; SIGTERM or SIGHUP where the CLI makes them one (a `signum`)
        raise _interrupted(e, _cancel(client, dream_id)) from None
    if progress is not None:
        progress(Poll(dream_id, str(dream["status"]), clock() - started, dream.get("usage") or {}, part, parts))
    if dream["status"] == "failed":
        err = dream.get("error") or {}
        raise redacted(ModelError(f"cloud dream {dream_id} failed: {err.get('type', 'error')}: "
                                  f"{err.get('message', 'no reason given')}"))
    if dream["status"] == "canceled":
        raise WorkFailed(f"cloud dream {dream_id} was canceled before it completed; nothing to review")
    return dream


def _interrupted(e: KeyboardInterrupt, message: str) -> Interrupted:
    signum = getattr(e, "signum", None)
    if not isinstance(signum, int):
        return Interrupted(message)
    try:
        name = signal.Signals(signum).name
    except ValueError:
        name = f"signal {signum}"
    return Interrupted(message.replace("interrupted", f"interrupted by {name}", 1), exit_code=128 + signum)


def _cancel(client: Any, dream_id: str) -> str:
    try:
        got = sdk_beta.cancel_dream(client, dream_id)
    except Exception as e:  # the interrupt wins; say what happened to the cancel
        return f"interrupted; cancelling cloud dream {dream_id} failed ({type(e).__name__}): check it in the console"
    status = got.get("status") if isinstance(got.get("status"), str) else "?"
    return f"interrupted: cancelled cloud dream {dream_id} (dreams.cancel sent; status {shown(status, 40)})"
