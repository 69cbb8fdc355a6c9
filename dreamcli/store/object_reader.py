"""Reading sessions from object storage (the bucket layout that dreamcli/store/objects.py writes):
`ObjectReader` connects on first use, names each session's keys, lists the sessions under the URL (skipping
keys that are not a session's) and reads one session's uploaded parts. `ObjectStore` adds the local buffer
and the uploads. The layout under the URL:

    YYYY/MM/DD/<session_id>/part-000000.jsonl, part-000001.jsonl, …   whole lines, in order
    YYYY/MM/DD/<session_id>/sealed.json                                 {"parts": n, "bytes": total}

The store's errors become the project's (dreamcli.store.errors: exit 4 or 2, one line naming the URL)."""

from __future__ import annotations

import builtins
import io
import logging
import re
from datetime import UTC, datetime
from typing import Any, BinaryIO

from dreamcli.ids import ulid_time_ms
from dreamcli.store import uploads
from dreamcli.store.base import StoredSession, StoreFilter, is_session_id
from dreamcli.store.errors import StoreMisconfigured, is_missing_bucket, store_errors
from dreamcli.store.schemes import missing_driver
from dreamcli.store.url_text import redacted_url, redacted_urls

log = logging.getLogger(__name__)

SEALED = "sealed.json"
PART = "part-{:06d}.jsonl"
_DAY = re.compile(r"\d{4}/\d{2}/\d{2}")


def day_parts(session_id: str) -> tuple[str, str, str]:
    try:
        day = datetime.fromtimestamp(ulid_time_ms(session_id) / 1000, UTC)
    except ValueError:
        day = datetime.now(UTC)
    return f"{day:%Y}", f"{day:%m}", f"{day:%d}"


class ObjectReader:
    """The sessions under an object storage URL, read (the client is made on first use)."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        if (missing := missing_driver(self.url)) is not None:  # said now; the client is made on first use
            raise ImportError(f"No module named {missing[0]!r}")
        self._fs: Any = None
        self._root = ""
        self._bound: float | None = None  # of one request, in seconds

    @property
    def fs(self) -> Any:
        """The fsspec filesystem (made on first use: `resume` with nothing pending imports no driver)."""
        if self._fs is None:
            with store_errors(self.url, "connect to"):
                try:
                    self._fs, self._root = uploads.open_filesystem(self.url)
                except (ValueError, ImportError) as e:  # a protocol fsspec does not know, or a driver missing
                    why = (str(e).strip().splitlines() or [type(e).__name__])[0]
                    raise StoreMisconfigured(f"cannot use the sessions URL {redacted_url(self.url)}: "
                                             f"{redacted_urls(why)}") from e
            self._bound = uploads.request_bound_s(self.url)
        return self._fs

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """One request of the filesystem's (`ls`, `pipe_file`, …), given up after its bound."""
        return uploads.call(self.fs, self._bound, name, *args, **kwargs)

    @property
    def root(self) -> str:
        _ = self.fs
        return self._root

    # --- where things are ---------------------------------------------------------------------
    def key(self, session_id: str, name: str = "") -> str:
        y, m, d = day_parts(session_id)
        return f"{self.root}/{y}/{m}/{d}/{session_id.upper()}" + (f"/{name}" if name else "")

    # --- reading ------------------------------------------------------------------------------
    def _ls(self, path: str, *, dirs: bool) -> list[str]:
        """Names under `path` (empty when there is no such prefix; a missing bucket is an error)."""
        with store_errors(self.url, "list"):
            try:
                entries = self._call("ls", path, detail=True, refresh=True)
            except FileNotFoundError as e:
                if is_missing_bucket(e):
                    raise
                return []
        return sorted(e["name"].rstrip("/").rsplit("/", 1)[-1] for e in entries
                      if (e.get("type") == "directory") == dirs)

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
                    if _DAY.fullmatch(f"{y}/{m}/{d}"):
                        out.extend(self._list_day((y, m, d), flt))
                    else:
                        log.debug("%s: %s/%s/%s is not a day prefix: ignored", self.url, y, m, d)
        return out

    def _list_day(self, day: tuple[str, str, str], flt: StoreFilter) -> builtins.list[StoredSession]:
        """The sessions under one day prefix: keys `<id>/part-…` and `<id>/sealed.json` whose id is a session
        id of that day; anything else there (a README, a key not under a session id) is not a session."""
        prefix = f"{self.root}/{'/'.join(day)}"
        with store_errors(self.url, "list"):
            try:
                found = self._call("find", prefix, detail=True)
            except FileNotFoundError as e:
                if is_missing_bucket(e):
                    raise
                return []
        sessions: dict[str, dict[str, Any]] = {}
        for name, info in found.items():
            sid, _, leaf = name[len(prefix) + 1:].partition("/")
            if not (is_session_id(sid) and sid == sid.upper() and day_parts(sid) == day
                    and (leaf == SEALED or leaf.startswith("part-"))):
                log.debug("%s: %s is not a session's part or marker: ignored", self.url, name)
                continue
            entry = sessions.setdefault(sid, {"size": 0, "sealed": False})
            if leaf == SEALED:
                entry["sealed"] = True
            else:
                entry["size"] += int(info.get("size") or 0)
        items = [StoredSession(sid, e["sealed"], e["size"], f"{self.fs.unstrip_protocol(prefix)}/{sid}")
                 for sid, e in sorted(sessions.items())]
        return [s for s in items if flt.accepts(s)]

    def open(self, session_id: str) -> BinaryIO:
        sid = session_id.upper()
        with store_errors(self.url, "read"):
            try:
                names = sorted(n for n in self._call("ls", self.key(sid), detail=False, refresh=True)
                               if n.rsplit("/", 1)[-1].startswith("part-"))
                data = b"".join(self._call("cat_file", n) for n in names)
            except FileNotFoundError as e:  # no such session, or a part removed while read
                if is_missing_bucket(e):
                    raise
                raise KeyError(session_id) from None
        if not names:
            raise KeyError(session_id)
        return io.BytesIO(data)

    def watermark(self) -> str | None:
        sealed = [s.session_id for s in self.list(StoreFilter(sealed=True))]
        return sealed[-1] if sealed else None


def _day(ts: datetime) -> tuple[str, str, str]:
    ts = ts.astimezone(UTC)
    return f"{ts:%Y}", f"{ts:%m}", f"{ts:%d}"
