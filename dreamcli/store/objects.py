"""The object storage backend (fsspec: `s3://bucket/prefix`, `gs://…`, `memory://…`, `file://…`).

Object stores have no append. A session is buffered in a local file (one whole line per write(), fsync
at seal: crash-safe as the local log) and uploaded as whole, immutable parts: every `part_lines` lines
and at seal time, then a `sealed.json` marker. Layout under the URL:

    YYYY/MM/DD/<session_id>/part-000000.jsonl, part-000001.jsonl, …   whole lines, in order
    YYYY/MM/DD/<session_id>/sealed.json                                 {"parts": n, "bytes": total}

A process killed mid-upload leaves every finished part intact (a PUT is all or nothing) and its
buffer on disk: at most the lines not yet uploaded are missing until `resume` runs. Keys are unique per
session id, so many machines can write to one bucket at once without coordination.

Uploads never block a writer for long: each request bounded (uploads.request_bound_s), and after a failed
upload none before another whole part *and* a backoff (15 s, doubling to 5 min); the seal tries once, unless
the upload its last line started has just failed, or Ctrl-C or SIGTERM cut an upload short. Until a
session is sealed in the store, `<buffer>/.uploads/<id>` records what of it is uploaded, flocked by the one
process uploading it (the writer, or `resume`, which sends every unsent tail). The store's errors become the
project's (dreamcli.store.errors: exit 4 or 2, one line naming the URL); this machine's (its buffer, its
journal) stay OSError. Listing skips non-session keys. Reading and listing (`ObjectReader`, which
`ObjectStore` extends) are dreamcli/store/object_reader.py."""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from dreamcli.errors import DreamError
from dreamcli.store import uploads
from dreamcli.store.base import check_line
from dreamcli.store.errors import is_missing_bucket, store_errors
from dreamcli.store.object_reader import PART, SEALED, ObjectReader, day_parts
from dreamcli.store.uploads import Pending, Resumed, idle, pending_ids, resume_each, run_ended
from dreamcli.workspace.fsutil import open_append, sync_fd, write_all

DEFAULT_PART_LINES = 200
BACKOFF_S = (15.0, 300.0)  # after a failed upload, no other before this long (doubling up to the second)


class ObjectStore(ObjectReader):
    """Sessions in object storage, buffered in `buffer_dir` (the same YYYY/MM/DD/<id>.jsonl layout, so
    the workspace's own sessions/ directory can be the buffer and stay the local truth)."""

    def __init__(self, url: str, buffer_dir: Path, *, part_lines: int = DEFAULT_PART_LINES) -> None:
        super().__init__(url)  # the URL checked, the client made on first use
        self.buffer_dir = Path(buffer_dir)
        self.part_lines = max(1, part_lines)
        self._pending: dict[str, Pending] = {}
        self._backoff = 0.0
        self._retry_at = 0.0
        self._stopped = False  # Ctrl-C or SIGTERM cut an upload short: no other is tried
        self.on_upload: Callable[[bool], None] | None = None  # told when an upload starts (True) and ends

    # --- where things are ---------------------------------------------------------------------
    def buffer_path(self, session_id: str) -> Path:
        sid = session_id.upper()
        y, m, d = day_parts(sid)
        return self.buffer_dir / y / m / d / f"{sid}.jsonl"

    # --- writing ------------------------------------------------------------------------------
    def append(self, session_id: str, line: bytes) -> None:
        check_line(line)
        sid = session_id.upper()
        state = self._state(sid)
        if state.fd is None:
            path = self.buffer_path(sid)
            if not path.exists() or path.stat().st_size == 0:
                self.opened(sid)
            state.fd = open_append(path)
        write_all(state.fd, line)
        self.appended(sid)

    def opened(self, session_id: str) -> None:
        """A writer opened the session's buffer: when it is empty nothing of it can be uploaded yet (no
        listing of the bucket at its first upload)."""
        sid = session_id.upper()
        state = self._state(sid)
        path = self.buffer_path(sid)
        if not state.known and (not path.exists() or path.stat().st_size == 0):
            state.known, state.uploaded, state.parts = True, 0, 0

    def mark_waiting(self, session_id: str) -> None:
        """The session waits to upload (an import that did not try it): the next resume sends it, sealed
        when its log ended. Nothing is sent, and no journal is held: marking many keeps no file open."""
        uploads.mark_waiting(self.buffer_dir, session_id.upper())

    def appended(self, session_id: str, lines: int = 1) -> None:
        """`lines` more whole lines are in the buffer (written by us or by a SessionWriter): upload a
        part when `part_lines` have gathered and no recent upload failed."""
        state = self._state(session_id.upper())
        state.lines += lines
        if state.lines >= self.part_lines and self._may_upload():
            state.lines = 0  # whatever happens, the next attempt waits for another whole part
            self.flush(session_id)

    def flush(self, session_id: str) -> int:
        """Upload the buffered whole lines not yet in a part; returns the bytes uploaded (0 as well when
        another process uploads this session now). A failure raises the store's error and backs off."""
        sid = session_id.upper()
        state = self._state(sid)
        if not state.claim():
            return 0
        with self._attempt():
            return self._flush(sid, state)

    def seal(self, session_id: str) -> None:
        sid = session_id.upper()
        state = self._state(sid)
        if state.fd is not None:
            sync_fd(state.fd, self.buffer_path(sid))
        state.sealed = True
        try:
            if state.claim():  # else a resume holds it now, and seals it: its log ends the session
                state.record()  # sealed: if the upload fails, a resume completes it
                given_up = self._stopped or (state.lines == 0 and time.monotonic() < self._retry_at)
                if not given_up:  # else the last line's upload has just failed, or was cut short
                    with self._attempt():
                        self._complete(sid, state)
        finally:
            self._release(sid)

    def resume(self, progress: Callable[[int, int], None] | None = None) -> Resumed:
        """Upload the unsent tail of every session whose upload is not complete (a run killed, or cut off
        from the store), then its sealed marker when its run ended (sealed here, or its log ends with
        `session.end`). Idempotent; a session another process holds (a live run, a concurrent resume) is
        left to it. Nothing pending: no request, no driver imported. Never raises for the store: what was
        not sent is returned with one line why (after an unreachable store, the rest are not tried). A killed
        run's session, once every whole line is up and its file idle for uploads.IDLE_S, is no longer pending
        (not sealed: its run never ended; the dream reads unsealed sessions all the same). `progress(done,
        total)` is told after each session."""
        return resume_each(pending_ids(self.buffer_dir), self._resume_one, progress)

    def _resume_one(self, sid: str) -> tuple[int, bool] | None:
        """(bytes of the tail sent, whether the marker was); None when another writer holds the session."""
        state = Pending(self.buffer_dir, sid)
        if sid in self._pending or not state.claim(create=False):
            return None
        path = self.buffer_path(sid)
        try:
            if not path.exists():  # the local file was removed: nothing left to send
                state.done()
                return 0, False
            if state.sealed or run_ended(path):
                state.sealed = True
                state.record()  # only that it ended, until the bucket's parts are known
                return self._complete(sid, state), True
            sent = self._flush(sid, state)  # every whole line is up now
            if idle(path):  # its run was killed long ago: nothing more will come
                state.done()
            return sent, False
        finally:
            state.close()

    def close(self) -> None:
        """Flush what is pending (not sealing; not while uploads back off) and let go of the sessions."""
        try:
            for sid in list(self._pending):
                if self._may_upload():
                    self.flush(sid)
        finally:
            for sid in list(self._pending):
                self._release(sid)

    # --- uploading: one process at a time per session -----------------------------------------
    def _state(self, sid: str) -> Pending:
        state = self._pending.get(sid)
        if state is None:
            state = self._pending[sid] = Pending(self.buffer_dir, sid)
            with contextlib.suppress(OSError):  # not held: tried again at the next upload
                state.claim()
        return state

    def _complete(self, sid: str, state: Pending) -> int:
        """The unsent tail, then the sealed marker: the session is no longer pending. The tail's bytes."""
        sent = self._flush(sid, state)
        self._put(self.key(sid, SEALED), json.dumps({"parts": state.parts, "bytes": state.uploaded}).encode())
        state.done()
        return sent

    def _flush(self, sid: str, state: Pending) -> int:
        if not state.known:  # what an earlier process uploaded: the bucket's parts are a prefix of the buffer,
            # unless they are an earlier copy's (`stale`, uploads.mark_stale): those are removed, the file sent whole
            sizes = uploads.remove_copy(self._call, self.url, self.key(sid), SEALED) if state.stale else \
                self._part_sizes(sid)
            state.known, state.parts, state.uploaded, state.stale = True, len(sizes), sum(sizes), False
            state.record()
        try:
            with open(self.buffer_path(sid), "rb") as f:
                f.seek(state.uploaded)
                data = f.read()
        except FileNotFoundError:
            return 0
        data = data[: data.rfind(b"\n") + 1]  # whole lines only: a line being written waits
        if not data:
            return 0
        self._put(self.key(sid, PART.format(state.parts)), data)
        state.uploaded += len(data)
        state.parts += 1
        state.record()
        return len(data)

    def _release(self, sid: str) -> None:
        state = self._pending.pop(sid, None)
        if state is not None:
            state.close()

    def _may_upload(self) -> bool:
        return not self._stopped and time.monotonic() >= self._retry_at

    @contextlib.contextmanager
    def _attempt(self) -> Iterator[None]:
        """One upload: when the store fails (its requests map their errors) the next waits (backoff); on
        success uploads go on at every part; cut short by Ctrl-C or SIGTERM, none other is tried. This
        machine's errors (its buffer, its journal) stay OSError. `on_upload` is told of its start and end."""
        if self.on_upload is not None:
            self.on_upload(True)
        try:
            yield
        except DreamError:
            self._backoff = min(max(self._backoff * 2, BACKOFF_S[0]), BACKOFF_S[1])
            self._retry_at = time.monotonic() + self._backoff
            raise
        except KeyboardInterrupt:
            self._stopped = True
            raise
        finally:
            if self.on_upload is not None:
                self.on_upload(False)
        self._backoff = self._retry_at = 0.0

    def _put(self, key: str, data: bytes) -> None:
        """One whole object. A file:// volume has directories and no atomic PUT: write aside, then rename."""
        with store_errors(self.url, "upload to"):
            protocols = self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,)
            if "file" not in protocols and "local" not in protocols:
                self._call("pipe_file", key, data)
                return
            from dreamcli.workspace.fsutil import atomic_write_bytes

            atomic_write_bytes(Path(key), data)

    def _part_sizes(self, sid: str) -> list[int]:
        with store_errors(self.url, "list"):
            try:
                entries = self._call("ls", self.key(sid), detail=True, refresh=True)
            except FileNotFoundError as e:
                if is_missing_bucket(e):
                    raise
                return []
        parts = sorted((e["name"].rsplit("/", 1)[-1], int(e.get("size") or 0)) for e in entries)
        return [size for name, size in parts if name.startswith("part-")]


_readers: dict[tuple[int, str], ObjectStore] = {}


def open_session(url: str, session_id: str) -> BinaryIO:
    """A session's uploaded lines read straight from the bucket at `url`, with no local buffer (a dream's
    map on a pool process or a Ray worker on another machine); KeyError if the bucket has none. One
    client per URL and process (fsspec reconnects after a fork)."""
    key = (os.getpid(), url.rstrip("/"))
    store = _readers.get(key)
    if store is None:
        store = _readers[key] = ObjectStore(url, Path(os.devnull))  # never written through: no buffer
    return store.open(session_id)

