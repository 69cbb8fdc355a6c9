"""`cloud dream`: start Dreams API jobs (output `create_new`, never `update_existing`), poll them with
backoff, and cancel them on Ctrl-C (`dreams.cancel`). A dream takes one memory store and 1-100
sessions: more sessions are split across dreams. A signal that arrives while the create request is in
flight is held until it returns (`held_signals`), so the dream it created is cancelled too; from its
answer to the poll loop every signal is held, and a malformed answer that names a dream cancels it (a
second signal cuts that cancel short)."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from dreamcli import sdk_beta
from dreamcli.cloud.client import attempts_of, cloud_error, redacted
from dreamcli.cloud.dream_create import (
    MAY_HAVE_STARTED,
    MAY_HAVE_STARTED_RECORDED,
    DreamCreateFailed,
    create_dream_once,
)
from dreamcli.cloud.memory_pull import shown_redacted
from dreamcli.cloud.state import shown, valid_cloud_id
from dreamcli.errors import Interrupted, ModelError, UsageError, WorkFailed
from dreamcli.redaction import Redactor, default_redactor

FINAL = ("completed", "failed", "canceled")
HELD = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
Created = Callable[[dict[str, Any] | None], bool]  # records a create's answer (None: none came back); recorded?
Unusable = Callable[[str, str | None], None]  # an unusable answer's line, and the status its cancel returned
FIRST_POLL_S = 2.0
MAX_POLL_S = 30.0
BACKOFF = 1.5
WAIT_SLICE_S = 0.05  # how soon a signal held during a pause between creates ends it


@dataclass
class Poll:
    """What the progress line shows (the id and status redacted)."""

    dream_id: str
    status: str
    elapsed_s: float
    usage: dict[str, Any]
    part: int = 1
    parts: int = 1


def chunks(session_ids: list[str], size: int = sdk_beta.MAX_SESSIONS_PER_DREAM) -> list[list[str]]:
    unique = list(dict.fromkeys(session_ids))
    return [unique[i:i + size] for i in range(0, len(unique), size)]


def recent_sessions(client: Any, store_id: str, limit: int, redactor: Redactor | None = None) -> list[str]:
    """The ids of the store's most recent sessions (newest first), paged; a value named in an error is
    redacted with `redactor` (default: the built-in rules) before it is cut."""
    rules = redactor or default_redactor()
    ids: list[str] = []
    try:
        for s in sdk_beta.iter_sessions(client, memory_store_id=store_id, order="desc", max_items=limit):
            if not valid_cloud_id(s.get("id")):
                raise ModelError(f"list the sessions of memory store {store_id}: the API listed a session id "
                                 f"{shown_redacted(s.get('id'), rules)}, not a session id (sesn_...)")
            ids.append(s["id"])
    except Exception as e:
        raise cloud_error(e, what=f"list the sessions of memory store {store_id}", store=store_id,
                          redactor=rules, attempts=attempts_of(client)) from None
    if not ids:
        raise UsageError(f"memory store {store_id} has no sessions to dream over (give --sessions ID,...)")
    return ids


class Held:
    """The signals `held_signals` holds: the first one is kept in `signum` (acted on by `release`), a
    second one stops the work at once, through the handler it would have met without the hold (in a
    nested block, the outer one's: it gets both, so it stops too), until `answered`. `stopped`: the first
    signal of the two, kept for the work that catches the second's exception (a cancel: `_release`)."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self.stopped: int | None = None
        self._answered = False
        self._previous: dict[int, Any] = {}

    def answered(self, hold_all: bool = True) -> None:
        """The create request answered: from here to `release` (the poll loop's first step) every signal
        is held, a second one too, so none can stop the work between them with the dream left running.
        `hold_all=False` before the cancel of a malformed answer: a second signal cuts it short again."""
        self._answered = hold_all

    def wait(self, seconds: float) -> bool:
        """Wait up to `seconds`, less once a signal is held; whether one is (the create's pause between
        attempts). In slices of WAIT_SLICE_S: a sleep goes on after a handler that returns, and the signal
        may reach another thread. A second signal raises here, as anywhere in the block."""
        end = time.monotonic() + seconds
        while self.signum is None and (left := end - time.monotonic()) > 0:
            time.sleep(min(left, WAIT_SLICE_S))
        return self.signum is not None

    def _hold(self, signum: int, _frame: Any) -> None:
        if self.signum is None:
            self.signum = signum
            return
        if self._answered:
            return
        first, self.signum = self.signum, None  # this one stops the work: nothing is left to release
        self.stopped = first
        self._restore()
        if _holding(first):  # nested: the outer block holds the first, so this one is its second
            _deliver(first)
        _deliver(signum)

    def _restore(self) -> None:
        while self._previous:  # one at a time: a signal taken meanwhile finds the rest still to restore
            signum, old = self._previous.popitem()
            with contextlib.suppress(ValueError, OSError):
                signal.signal(signum, old)

    def release(self) -> None:
        """Give the handlers back; a held signal then goes to its handler, here (which raises)."""
        self._restore()
        signum, self.signum = self.signum, None
        if signum is not None:
            _deliver(signum)


def _holding(signum: int) -> bool:
    """Whether `signum`'s handler is another `held_signals` block's (an outer one)."""
    return isinstance(getattr(signal.getsignal(signum), "__self__", None), Held)


def _deliver(signum: int) -> None:
    """Call the signal's handler as the signal would: KeyboardInterrupt for SIGINT, `Terminated` for
    SIGTERM and SIGHUP under `signals_exit` (which also records it, so a repeat cannot cut the cancel short)."""
    handler = signal.getsignal(signum)
    if callable(handler):
        handler(signum, None)


@contextlib.contextmanager
def held_signals(signums: tuple[int, ...] = HELD) -> Iterator[Held]:
    """SIGINT, SIGTERM and SIGHUP are recorded, not raised, inside the block (main thread only, and only
    those a Python handler catches: one ignored stays ignored); the block calls `release` where it can
    act on one, and leaving the block releases any still held."""
    held = Held()
    if threading.current_thread() is threading.main_thread():
        for signum in signums:
            if callable(signal.getsignal(signum)):
                with contextlib.suppress(ValueError, OSError):
                    held._previous[signum] = signal.signal(signum, held._hold)
    try:
        yield held
    finally:
        held.release()


def start(client: Any, store_id: str, session_ids: list[str], model: str, instructions: str | None,
          held: Held | None = None, *, redactor: Redactor | None = None,
          created: Created | None = None, unusable: Unusable | None = None) -> dict[str, Any]:
    """Create a dream, at most once (`create_dream_once`). Inside `held_signals` (`held`), a signal during
    the request waits for its answer: a created dream is returned with the signal still held (`wait`
    cancels it); a failed request exits as the signal says; a second signal stops at once, the dream
    perhaps created and left running. Once the request answered, every signal is held (`Held.answered`).
    A failed create that may have started a dream all the same says so, and to check before running again.
    A malformed answer that names a dream cancels it (one request, which a second signal cuts short) and
    raises its ModelError, the cancel's outcome added to its line, which goes to `unusable` first with the
    status the cancel returned (None: it failed). `created` records the answer as soon as it comes (None
    for a create that may have started a dream whose id never came back); values the lines name are
    redacted with `redactor` (default: the built-in rules) before they are cut."""
    rules = redactor or default_redactor()
    try:
        started = create_dream_once(client, store_id=store_id, session_ids=session_ids, model=model,
                                    instructions=instructions, attempts=attempts_of(client) or 1,
                                    pause=None if held is None else held.wait)
        if held is not None:
            held.answered()
        if created is not None:
            created(started if valid_cloud_id(started.get("id")) else None)
    except KeyboardInterrupt as e:
        if held is None:
            raise
        where = "; `dreamcli cloud dream list` shows when" if created is not None and created(None) else ""
        raise _interrupted(e, "interrupted again while the cloud dream was being created: it may be running "
                              f"(its id never came back){where}; check the console") from None
    except DreamCreateFailed as e:
        failure = cloud_error(e.error, what=f"start a cloud dream over memory store {store_id}", store=store_id,
                              redactor=rules, attempts=e.attempts, resent=False)  # model_retries is moot
        if e.uncertain:  # no id came back, yet a dream may be running: nothing dreamcli can cancel
            recorded = created is not None and created(None)
            failure.args = (f"{failure}; {MAY_HAVE_STARTED_RECORDED if recorded else MAY_HAVE_STARTED}",
                            *failure.args[1:])
        _release(held, ("interrupted: " if e.uncertain else "interrupted; no cloud dream to cancel: ") + str(failure))
        raise failure from None
    try:
        return checked_dream(started, rules)
    except ModelError as e:
        if valid_cloud_id(started.get("id")):  # created, yet unusable: it must not run on, unwatched
            if held is not None:  # the cancel may stall (the client's timeout): a second signal stops it
                held.answered(hold_all=False)
            _, outcome, status = _cancel_outcome(client, started["id"], rules, once=True)
            e.args = (f"{e}; {outcome}", *e.args[1:])
            if unusable is not None:
                with contextlib.suppress(KeyboardInterrupt):  # a third signal: stopping at once comes first
                    unusable(str(e), status)
        _release(held, f"interrupted: {e}")
        raise


def _release(held: Held | None, message: str) -> None:
    """Act on a held signal: Interrupted with `message`, exit 128 + the signal (130 for Ctrl-C); so too
    when a second signal stopped work that caught it (the cancel said what that leaves)."""
    if held is None:
        return
    try:
        held.release()
    except KeyboardInterrupt as e:
        raise _interrupted(e, message) from None
    if held.stopped is not None:  # Ctrl-C is a KeyboardInterrupt without a `signum`: "interrupted", 130
        raise _interrupted_by(None if held.stopped == signal.SIGINT else held.stopped, message)


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


def checked_dream(dream: dict[str, Any], redactor: Redactor | None = None) -> dict[str, Any]:
    """A dream (`BetaDream`) as the API answered it, each field dreamcli reads type-checked: a wrong type
    is one line, exit 3 (the API misbehaved), never an AttributeError further on. The value it names is
    redacted whole (`redactor`, default: the built-in rules) before it is cut for the line: a secret at the
    cut would stay half in it."""
    rules = redactor or default_redactor()
    dream_id = dream.get("id")
    if not valid_cloud_id(dream_id):
        raise ModelError(f"cloud dream: the API answered a dream id {shown_redacted(dream_id, rules)}, "
                         "not a dream id (drm_...)")
    for name, (ok, expected) in _FIELDS.items():
        if not ok(dream.get(name)):
            raise ModelError(f"cloud dream {dream_id}: the API answered {name} "
                             f"{shown_redacted(dream.get(name), rules)}, not {expected}")
    return dream


def _pause(seconds: float) -> None:
    time.sleep(seconds)


def wait(client: Any, dream: dict[str, Any], *, progress: Callable[[Poll], None] | None = None,
         sleep: Callable[[float], None] | None = None, clock: Callable[[], float] = time.monotonic,
         first_poll_s: float | None = None, part: int = 1, parts: int = 1,
         held: Held | None = None, redactor: Redactor | None = None,
         cancelled: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Poll until the dream is final (backoff 2 s x1.5 up to 30 s). Ctrl-C cancels it and raises
    Interrupted (exit 130) saying so, as does SIGTERM or SIGHUP turned into a KeyboardInterrupt with a
    `signum` (`dreamcli cloud dream` does; exit 128 + the signal), and a signal `start` held (`held`,
    released before the first poll); the status the cancel returned (redacted) goes to `cancelled` first.
    A failed dream is exit 3, a canceled one exit 1. What the API answers is shown redacted with `redactor`
    (default: the built-in rules)."""
    rules = redactor or default_redactor()
    dream_id = str(checked_dream(dream, rules)["id"])
    shown_id = rules.redact_text(dream_id)
    started = clock()
    delay = FIRST_POLL_S if first_poll_s is None else first_poll_s
    pause = sleep or _pause
    try:
        if held is not None:
            held.release()
        while dream.get("status") not in FINAL:
            if progress is not None:
                progress(Poll(shown_id, rules.redact_text(str(dream.get("status"))), clock() - started,
                              dream.get("usage") or {}, part, parts))
            pause(delay)
            delay = min(MAX_POLL_S, delay * BACKOFF)
            try:
                dream = sdk_beta.retrieve_dream(client, dream_id)
            except Exception as e:
                raise cloud_error(e, what=f"check cloud dream {dream_id}", redactor=rules,
                                  attempts=attempts_of(client)) from None
            dream = checked_dream(dream, rules)
    except KeyboardInterrupt as e:  # Ctrl-C; SIGTERM or SIGHUP where the CLI makes them one (a `signum`)
        raise _interrupted(e, _cancel(client, dream_id, rules, cancelled)) from None
    if progress is not None:
        progress(Poll(shown_id, rules.redact_text(str(dream["status"])), clock() - started, dream.get("usage") or {},
                      part, parts))
    if dream["status"] == "failed":
        err = dream.get("error") or {}
        raise redacted(ModelError(f"cloud dream {dream_id} failed: {err.get('type', 'error')}: "
                                  f"{err.get('message', 'no reason given')}"), rules)
    if dream["status"] == "canceled":
        raise WorkFailed(f"cloud dream {dream_id} was canceled before it completed; nothing to review")
    return dream


def _interrupted(e: KeyboardInterrupt, message: str) -> Interrupted:
    return _interrupted_by(getattr(e, "signum", None), message)


def _interrupted_by(signum: Any, message: str) -> Interrupted:
    if not isinstance(signum, int):
        return Interrupted(message)
    try:
        name = signal.Signals(signum).name
    except ValueError:
        name = f"signal {signum}"
    return Interrupted(message.replace("interrupted", f"interrupted by {name}", 1), exit_code=128 + signum)


def _cancel(client: Any, dream_id: str, redactor: Redactor, cancelled: Callable[[str], None] | None = None) -> str:
    """Cancel the dream; the line to raise. The status it returned goes to `cancelled` (a second Ctrl-C
    there leaves it untold: stopping at once comes first)."""
    sent, outcome, status = _cancel_outcome(client, dream_id, redactor)
    if status is not None and cancelled is not None:
        with contextlib.suppress(KeyboardInterrupt):
            cancelled(status)
    return ("interrupted: " if sent else "interrupted; ") + outcome


def _cancel_outcome(client: Any, dream_id: str, redactor: Redactor, *,
                    once: bool = False) -> tuple[bool, str, str | None]:
    """Cancel the dream, best effort: whether the cancel went through, what to say of it, and the status it
    returned (redacted; None when it gave none)."""
    try:
        got = sdk_beta.cancel_dream(client, dream_id, once=once)
    except KeyboardInterrupt:  # Ctrl-C again while the cancel is in flight: stop now, and say what that leaves
        return False, (f"cancelling cloud dream {dream_id} was interrupted: it may still be running; check it in "
                       "the console"), None
    except Exception as e:  # the error that called for the cancel wins; say what happened to the cancel
        return False, f"cancelling cloud dream {dream_id} failed ({type(e).__name__}): check it in the console", None
    status = redactor.redact_text(got["status"]) if isinstance(got.get("status"), str) else None  # then cut
    said = shown("?" if status is None else status, 40)
    return True, f"cancelled cloud dream {dream_id} (dreams.cancel sent; status {said})", status
