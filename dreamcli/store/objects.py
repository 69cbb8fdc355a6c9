"""The object storage backend (fsspec: `s3://bucket/prefix`, `gs://…`, `memory://…`, `file://…`).

Object stores have no append. A session is buffered in a local file (one whole line per write(), fsync
at seal: crash-safe as the local log) and uploaded as whole, immutable parts: every `part_lines` lines
and at seal time, then a `sealed.json` marker. Layout under the URL:

    YYYY/MM/DD/<session_id>/part-000000.jsonl, part-000001.jsonl, …   whole lines, in order
    YYYY/MM/DD/<session_id>/sealed.json                                 {"parts": n, "bytes": total}

A process killed mid-upload leaves every finished part intact (a PUT is all or nothing) and its
buffer on disk: at most the lines not yet uploaded are missing until `flush` runs again (the next
write to that session, or `resume`). Keys are unique per session id, so many machines can write to one
bucket at once without coordination."""

from __future__ import annotations

import builtins
import io
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from dreamcli.ids import ulid_time_ms
from dreamcli.store.base import StoredSession, StoreFilter, check_line
from dreamcli.workspace.fsutil import open_append, write_all

SEALED = "sealed.json"
PART = "part-{:06d}.jsonl"
DEFAULT_PART_LINES = 200


def day_parts(session_id: str) -> tuple[str, str, str]:
    try:
        day = datetime.fromtimestamp(ulid_time_ms(session_id) / 1000, UTC)
    except ValueError:
        day = datetime.now(UTC)
    return f"{day:%Y}", f"{day:%m}", f"{day:%d}"


class _Pending:
    def __init__(self, uploaded: int = 0, parts: int = 0) -> None:
        self.fd: int | None = None
        self.uploaded = uploaded  # bytes of the buffer already in parts
        self.parts = parts
        self.lines = 0  # lines appended since the last upload


class ObjectStore:
    """Sessions in object storage, buffered in `buffer_dir` (the same YYYY/MM/DD/<id>.jsonl layout, so
    the workspace's own sessions/ directory can be the buffer and stay the local truth)."""

    def __init__(self, url: str, buffer_dir: Path, *, part_lines: int = DEFAULT_PART_LINES) -> None:
        from fsspec.core import url_to_fs  # lazy: fsspec only when an object store is used

        self.url = url.rstrip("/")
        fs, root = url_to_fs(self.url)  # endpoint, credentials: AWS_* variables; fsspec reuses the client
        self.fs = fs
        self.root = str(root).rstrip("/")
        self.buffer_dir = Path(buffer_dir)
        self.part_lines = max(1, part_lines)
        self._pending: dict[str, _Pending] = {}

    # --- where things are ---------------------------------------------------------------------
    def key(self, session_id: str, name: str = "") -> str:
        y, m, d = day_parts(session_id)
        return f"{self.root}/{y}/{m}/{d}/{session_id.upper()}" + (f"/{name}" if name else "")

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
            state.fd = open_append(self.buffer_path(sid))
        write_all(state.fd, line)
        self.appended(sid)

    def appended(self, session_id: str, lines: int = 1) -> None:
        """`lines` more whole lines are in the buffer (written by us or by a SessionWriter): upload a
        part when `part_lines` have gathered."""
        state = self._state(session_id.upper())
        state.lines += lines
        if state.lines >= self.part_lines:
            self.flush(session_id)

    def flush(self, session_id: str) -> int:
        """Upload the buffered whole lines not yet in a part; returns the bytes uploaded."""
        sid = session_id.upper()
        state = self._state(sid)
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
        state.lines = 0
        return len(data)

    def seal(self, session_id: str) -> None:
        sid = session_id.upper()
        state = self._state(sid)
        if state.fd is not None:
            os.fsync(state.fd)
            os.close(state.fd)
            state.fd = None
        self.flush(sid)
        marker = json.dumps({"parts": state.parts, "bytes": state.uploaded}).encode()
        self._put(self.key(sid, SEALED), marker)
        self._pending.pop(sid, None)

    def _put(self, key: str, data: bytes) -> None:
        """One whole object. A file:// volume has directories and no atomic PUT: write aside, then rename."""
        protocols = self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,)
        if "file" not in protocols and "local" not in protocols:
            self.fs.pipe_file(key, data)
            return
        from dreamcli.workspace.fsutil import atomic_write_bytes

        atomic_write_bytes(Path(key), data)

    def resume(self) -> list[str]:
        """After a crash: upload the unsent tail of every buffered session that is not sealed yet
        (not sealing it: the run that wrote it did not finish). Returns the session ids resumed."""
        done = []
        for path in sorted(self.buffer_dir.glob("*/*/*/*.jsonl")):
            sid = path.stem.upper()
            if self.fs.exists(self.key(sid, SEALED)):
                continue
            if self.flush(sid):
                done.append(sid)
        return done

    def _state(self, sid: str) -> _Pending:
        state = self._pending.get(sid)
        if state is None:
            state = self._pending[sid] = _Pending()
            if self.buffer_path(sid).exists():  # written before this process: count what is uploaded
                for size in self._part_sizes(sid):
                    state.uploaded += size
                    state.parts += 1
        return state

    def _part_sizes(self, sid: str) -> list[int]:
        try:
            entries = self.fs.ls(self.key(sid), detail=True, refresh=True)
        except FileNotFoundError:
            return []
        parts = sorted((e["name"].rsplit("/", 1)[-1], int(e.get("size") or 0)) for e in entries)
        return [size for name, size in parts if name.startswith("part-")]

    def close(self) -> None:
        for sid, state in list(self._pending.items()):
            if state.fd is not None:
                os.fsync(state.fd)
                os.close(state.fd)
                state.fd = None
            self.flush(sid)

    # --- reading ------------------------------------------------------------------------------
    def _ls(self, path: str, *, dirs: bool) -> list[str]:
        try:
            entries = self.fs.ls(path, detail=True, refresh=True)
        except FileNotFoundError:
            return []
        names = [e["name"].rstrip("/").rsplit("/", 1)[-1] for e in entries
                 if (e.get("type") == "directory") == dirs]
        return sorted(names)

    def list(self, flt: StoreFilter | None = None) -> builtins.list[StoredSession]:
        flt = flt or StoreFilter()
        lo = _day(flt.since) if flt.since else ("", "", "")
        if flt.after:
            lo = max(lo, day_parts(flt.after))
        out: builtins.list[StoredSession] = []
        for y in self._ls(self.root, dirs=True):
            if y < lo[0]:
                continue
            for m in self._ls(f"{self.root}/{y}", dirs=True):
                if (y, m) < lo[:2]:
                    continue
                for d in self._ls(f"{self.root}/{y}/{m}", dirs=True):
                    if (y, m, d) < lo:
                        continue
                    out.extend(self._list_day(f"{self.root}/{y}/{m}/{d}", flt))
        return out

    def _list_day(self, prefix: str, flt: StoreFilter) -> builtins.list[StoredSession]:
        try:
            found = self.fs.find(prefix, detail=True)
        except FileNotFoundError:
            return []
        sessions: dict[str, dict[str, Any]] = {}
        for name, info in found.items():
            sid, _, leaf = name[len(prefix) + 1:].partition("/")
            entry = sessions.setdefault(sid, {"size": 0, "sealed": False})
            if leaf == SEALED:
                entry["sealed"] = True
            elif leaf.startswith("part-"):
                entry["size"] += int(info.get("size") or 0)
        items = [StoredSession(sid, e["sealed"], e["size"], f"{self.fs.unstrip_protocol(prefix)}/{sid}")
                 for sid, e in sorted(sessions.items())]
        return [s for s in items if flt.accepts(s)]

    def open(self, session_id: str) -> BinaryIO:
        sid = session_id.upper()
        try:
            names = sorted(n for n in self.fs.ls(self.key(sid), detail=False, refresh=True)
                           if n.rsplit("/", 1)[-1].startswith("part-"))
        except FileNotFoundError:
            raise KeyError(session_id) from None
        if not names:
            raise KeyError(session_id)
        return io.BytesIO(b"".join(self.fs.cat_file(n) for n in names))

    def watermark(self) -> str | None:
        sealed = [s.session_id for s in self.list(StoreFilter(sealed=True))]
        return sealed[-1] if sealed else None


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


def _day(ts: datetime) -> tuple[str, str, str]:
    ts = ts.astimezone(UTC)
    return f"{ts:%Y}", f"{ts:%m}", f"{ts:%d}"
