"""How dreamcli talks to object storage beyond one request (docs/scaling.md, "Uploads and errors").

- The client (`open_filesystem`, `client_options`, `call`): timeouts of seconds and two attempts, and no
  retries of the driver's own on top of them, so that an unreachable store costs a command or a run seconds,
  not minutes; each request to S3 is also given up after its bound (`request_bound_s`), whatever the client
  waits for (aiohttp waits for the `100 Continue` of a PUT with no timeout at all).
- The upload journal (`Pending`): `<buffer>/.uploads/<id>` for each session not yet sealed in the store,
  held with an exclusive flock by the one process that uploads it (its writer, or a resume) and recording
  what of it is uploaded, so that `ObjectStore.resume` finds every unsent tail without listing the bucket,
  and two processes never upload one session at once. It is one fixed-width record, rewritten in place by
  one write (a kill never leaves part of two records), and holds parts and bytes only once they are known
  (read from it, or listed from the bucket): before that, only whether the session ended. A session marked
  waiting (`mark_waiting`) has an empty journal, not held. A killed run's session, every whole line up
  and idle for IDLE_S, is let go (`forget`): it is never sealed, its run never ended. A session whose local
  file was replaced by another copy (a grown transcript re-imported) is recorded `stale` until the objects
  of its earlier copy are removed from the store: its next upload removes them first, then sends it whole.
- What a resume did (`Resumed`, `resume_each`), for its callers to report."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dreamcli.errors import DreamError
from dreamcli.store.base import is_session_id
from dreamcli.store.errors import StoreUnavailable, is_missing_bucket, store_errors
from dreamcli.workspace.fsutil import ensure_dir

PENDING = ".uploads"  # under the buffer directory
CONNECT_TIMEOUT_S, READ_TIMEOUT_S, ATTEMPTS = 3, 10, 2  # the S3 client's
RETRY_DELAY_S = 1  # at most, botocore's wait before its second attempt (standard mode)
RECORD_WIDTH = 128  # bytes of a journal record, padded with spaces: rewritten whole by one pwrite, never truncated
IDLE_S = 3600.0  # a killed run's session, every whole line up and its file untouched this long, is let go


def _s3(url: str) -> bool:
    return urlsplit(url).scheme.lower() in ("s3", "s3a")


def _attempts_from_env() -> bool:
    return bool(os.environ.get("AWS_MAX_ATTEMPTS") or os.environ.get("AWS_RETRY_MODE"))


def client_options(url: str) -> dict[str, Any]:
    """fsspec options of the URL's filesystem. S3: a client of its own (made from the AWS variables of the
    moment, not an earlier store's), timeouts of seconds, and 2 attempts in all (botocore's
    `total_max_attempts`: its `max_attempts` counts retries) unless AWS_MAX_ATTEMPTS or AWS_RETRY_MODE say
    otherwise: a dead endpoint costs a command seconds, not minutes."""
    if not _s3(url):
        return {}
    config: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT_S, "read_timeout": READ_TIMEOUT_S}
    if not _attempts_from_env():
        config["retries"] = {"total_max_attempts": ATTEMPTS, "mode": "standard"}
    return {"skip_instance_cache": True, "config_kwargs": config}


def open_filesystem(url: str) -> tuple[Any, str]:
    """The URL's fsspec filesystem and root. S3: s3fs's own loop around each request (its `retries`, 5 by
    default, each of them botocore's attempts) tries once: the attempts are botocore's alone."""
    from fsspec.core import url_to_fs  # lazy: fsspec only when an object store is used

    fs, root = url_to_fs(url, **client_options(url))
    if _s3(url):
        fs.retries = 1
    return fs, str(root).rstrip("/")


def request_bound_s(url: str) -> float | None:
    """How long one request to the store may take in all: each attempt's connect and read timeouts, and
    the backoff between them (S3 with its attempts ours; None otherwise: the driver's own bounds hold)."""
    if not _s3(url) or _attempts_from_env():
        return None
    return float(ATTEMPTS * (CONNECT_TIMEOUT_S + READ_TIMEOUT_S) + RETRY_DELAY_S)


def call(fs: Any, bound_s: float | None, name: str, *args: Any, **kwargs: Any) -> Any:
    """`fs.<name>(*args, **kwargs)`; on an async driver with a bound, the coroutine `fs._<name>` through
    `fsspec.asyn.sync` with that timeout: cancelled when it runs over, FSTimeoutError (a TimeoutError)."""
    if bound_s is None or not getattr(fs, "async_impl", False):
        return getattr(fs, name)(*args, **kwargs)
    from fsspec.asyn import sync

    return sync(fs.loop, getattr(fs, f"_{name}"), *args, timeout=bound_s, **kwargs)


class Pending:
    """One session's upload as the process that holds it sees it: the buffer's descriptor while it appends,
    and the journal file, flocked (only its holder uploads the session; others skip it), which records the
    parts and bytes uploaded and whether the session ended, until it is sealed in the store."""

    def __init__(self, buffer_dir: Path, sid: str) -> None:
        self.path = buffer_dir / PENDING / sid
        self.fd: int | None = None  # the buffer, while this process appends to it
        self.lock: int | None = None  # the journal file, flocked
        self.known = False  # parts/uploaded are known (else the bucket's parts are listed at the first upload)
        self.uploaded = 0  # bytes of the buffer already in parts
        self.parts = 0
        self.lines = 0  # lines appended since the last upload attempt
        self.sealed = False
        self.stale = False  # the store holds objects of an earlier copy of the file: removed before any upload

    def claim(self, *, create: bool = True, wait: bool = False) -> bool:
        """Hold the journal file and read what it records; False when another process holds it (unless
        `wait`: then once it lets go), or when it is gone (removed once the session was sealed; with
        create=False, never made)."""
        if self.lock is not None:
            return True
        if create:
            ensure_dir(self.path.parent)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CLOEXEC | (os.O_CREAT if create else 0), 0o600)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            held = os.fstat(fd).st_nlink > 0
        except BlockingIOError:
            held = False
        except OSError:
            os.close(fd)
            raise
        if not held:
            os.close(fd)
            return False
        self.lock = fd
        try:
            rec = json.loads(os.pread(fd, 4096, 0) or b"null")
        except (ValueError, OSError, RecursionError):  # unreadable: the bucket's parts tell, at the first upload
            rec = None
        if isinstance(rec, dict):
            self.sealed = self.sealed or rec.get("sealed") is True
            self.stale = self.stale or rec.get("stale") is True
            with contextlib.suppress(ValueError, TypeError, KeyError, OverflowError):  # new: parts not known yet
                self.parts, self.uploaded, self.known = max(0, int(rec["parts"])), max(0, int(rec["bytes"])), True
        return True

    def record(self) -> None:
        """What is uploaded, after each part (a kill before it leaves the record one part behind: that part
        is sent again, a superset of the same bytes, which keeps the parts a prefix of the buffer). Until the
        parts are known, only whether the session ended: a guess of 0 parts would be read as known. While
        `stale`, only that: what the store holds is no prefix of the file."""
        if self.lock is not None:
            rec: dict[str, Any] = {"stale": True} if self.stale else \
                {"parts": self.parts, "bytes": self.uploaded} if self.known else {}
            data = json.dumps({**rec, "sealed": self.sealed}).encode()
            os.pwrite(self.lock, data.ljust(RECORD_WIDTH), 0)  # one write of a fixed width: nothing to truncate

    def done(self) -> None:
        """Sealed in the store: no longer pending."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    def close(self) -> None:
        for fd in (self.fd, self.lock):  # closing the journal file lets go of its flock
            if fd is not None:
                os.close(fd)
        self.fd = self.lock = None


def mark_waiting(buffer_dir: Path, sid: str) -> None:
    """The session waits to upload: its journal exists (kept as it is, or made empty: the bucket's parts are
    listed when it is sent), and is not held, so marking any number of sessions keeps no file open."""
    path = buffer_dir / PENDING / sid
    ensure_dir(path.parent)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600))


def mark_stale(buffer_dir: Path, sid: str) -> None:
    """The session's local file was replaced by another copy (a grown transcript re-imported): what the store
    holds of it is no prefix of it any more. Recorded in its journal, with no request: its next upload removes
    those objects first, then sends the whole file (`remove_copy`; a kill in between leaves it recorded, and
    the next upload starts over). Waits for a process uploading the session now to let go of it."""
    state = Pending(buffer_dir, sid)
    try:
        if not (state.claim(wait=True) or state.claim(wait=True)):  # the second: its journal was just removed
            raise OSError(f"cannot hold the upload journal {state.path}")
        state.stale = True
        state.record()
    finally:
        state.close()


def remove_copy(call: Callable[..., Any], url: str, prefix: str, marker: str) -> list[int]:
    """Remove the objects of a session's earlier copy under `prefix` (`call`: one request of the store's): its
    sealed marker first (a reader then sees the session unsealed), then its parts from the last (what is left is
    a prefix of them). Returns the sizes of the parts left, none."""
    with store_errors(url, "remove from"):
        try:
            names = [str(n) for n in call("ls", prefix, detail=False, refresh=True)]
        except FileNotFoundError as e:
            if is_missing_bucket(e):
                raise
            return []
        for name in sorted(names, key=lambda n: (n.rsplit("/", 1)[-1] == marker, n), reverse=True):
            with contextlib.suppress(FileNotFoundError):
                call("rm_file", name)
    return []


def forget(buffer_dir: Path, sid: str) -> bool:
    """Drop the session's journal unless another process holds it (its local file is gone, or a killed run's
    session has every whole line up and has been idle IDLE_S): whether it was dropped."""
    state = Pending(buffer_dir, sid)
    try:
        if not state.claim(create=False):
            return False
        state.done()
        return True
    finally:
        state.close()


def idle(path: Path, now: float | None = None) -> bool:
    """The file has not been written for IDLE_S (OSError when it is gone)."""
    return (time.time() if now is None else now) - path.stat().st_mtime >= IDLE_S


@dataclass
class Resumed:
    """What `ObjectStore.resume` did: the sessions it sent something of (`count`; parts and bytes), those
    still not sent (id -> one line why; their lines wait in the buffer for the next resume), and those
    another process uploads right now (a live run, a concurrent resume: left to it)."""

    sent: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    busy: list[str] = field(default_factory=list)
    parts: int = 0
    bytes: int = 0

    @property
    def count(self) -> int:
        return len(self.sent)


def resume_each(ids: Iterable[str], one: Callable[[str], tuple[int, bool] | None],
                progress: Callable[[int, int], None] | None = None) -> Resumed:
    """`one(sid)` for each session (the bytes of its tail sent and whether its marker was; None when another
    process holds it), gathered. After an unreachable store the rest are not tried; OSError is this
    machine's (a journal, a buffer), said with its type, and the next session is tried. `progress(done,
    total)` is told after each session, however it went (thousands take minutes: `doctor --fix`'s bar)."""
    out = Resumed()
    down: str | None = None
    ids = list(ids)
    for done, sid in enumerate(ids, 1):
        try:
            if down is not None:
                out.failed[sid] = down
            elif (sent := one(sid)) is None:
                out.busy.append(sid)
            elif sent[0] or sent[1]:
                out.sent.append(sid)
                out.parts, out.bytes = out.parts + bool(sent[0]) + sent[1], out.bytes + sent[0]
        except (DreamError, OSError) as e:
            out.failed[sid] = str(e) if isinstance(e, DreamError) else f"{type(e).__name__}: {e}"
            down = str(e) if isinstance(e, StoreUnavailable) else None
        if progress is not None:
            progress(done, len(ids))
    return out


def pending_ids(buffer_dir: Path) -> list[str]:
    """The sessions whose upload is not complete, from the journal (no request to the store)."""
    try:
        return sorted(n for n in os.listdir(buffer_dir / PENDING) if is_session_id(n) and n == n.upper())
    except OSError:
        return []


def run_ended(path: Path) -> bool:
    """The session's log ends with `session.end`: its run ended (sealed, as the local store reads it)."""
    from dreamcli.sessions import schema
    from dreamcli.sessions.reader import read_last_event

    try:
        last = read_last_event(path)
    except OSError:
        return False
    return last is not None and last.get("type") == schema.SESSION_END
