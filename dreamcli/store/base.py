"""The `SessionStore` interface: append a line, seal, list with filters, open for reading, watermark.

A session is a sequence of whole JSONL lines under its id (a ULID, so ids sort by time). `append` adds
one line; `seal` says no line will follow (a sealed session is complete and immutable). Readers see
every line a backend has made durable: for the local directory every appended line, for object storage
the uploaded parts (whole lines only, never a torn one)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, Protocol, runtime_checkable

from dreamcli.ids import ulid_time_ms

_SESSION_ID = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")  # a ULID: 26 Crockford base32, 48 bits of time first


def is_session_id(value: object) -> bool:
    """True for a session id (a ULID, any case): what a watermark or a listing's `after` may hold."""
    return isinstance(value, str) and _SESSION_ID.fullmatch(value.upper()) is not None


@dataclass(frozen=True)
class StoredSession:
    """One session as a store lists it."""

    session_id: str
    sealed: bool
    size: int  # bytes readable now
    location: str  # a path or URL, for messages


@dataclass(frozen=True)
class StoreFilter:
    """What a store's `list` returns: ids after `after` (a watermark), started at or after `since` and before
    `until` (by the time in the id), sealed or not (`sealed=None`: both). With `after`, only session ids
    (ULIDs) are returned: a stray name ("README.TXT") sorts after every id and must never be taken for
    one, nor become a watermark.

    It judges a backend's raw session ids before any file is read (a dream's selection from the local
    directory and the bucket, after its watermark), so it knows nothing of what a session holds. To choose
    sessions by their content (status, task, source, sub-agents, pilot trials), as listings do, use
    `SessionFilter` (dreamcli.sessions.summary)."""

    after: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    sealed: bool | None = None

    def accepts_id(self, session_id: str) -> bool:
        sid = session_id.upper()
        if self.after is not None and (sid <= self.after.upper() or not is_session_id(sid)):
            return False
        if self.since is None and self.until is None:
            return True
        try:
            ms = ulid_time_ms(sid)
        except ValueError:
            return self.since is None
        if self.since is not None and ms < self.since.timestamp() * 1000:
            return False
        return not (self.until is not None and ms >= self.until.timestamp() * 1000)

    def accepts(self, s: StoredSession) -> bool:
        return self.accepts_id(s.session_id) and (self.sealed is None or s.sealed == self.sealed)


@runtime_checkable
class SessionStore(Protocol):
    """Storage of session logs. Implementations: LocalStore, ObjectStore."""

    url: str

    def append(self, session_id: str, line: bytes) -> None:
        """Add one whole line (ending in a newline) to the session; creates it on the first line."""

    def seal(self, session_id: str) -> None:
        """No more lines: make everything durable and mark the session complete. Idempotent."""

    def list(self, flt: StoreFilter | None = None) -> list[StoredSession]:
        """The sessions that match, in id (= time) order."""
        ...

    def open(self, session_id: str) -> BinaryIO:
        """The session's readable lines as one binary stream; KeyError if there is no such session."""
        ...

    def watermark(self) -> str | None:
        """The greatest sealed session id: list(StoreFilter(after=mark)) returns what came after it."""
        ...

    def close(self) -> None:
        """Flush what is pending (without sealing) and release resources."""


def check_line(line: bytes) -> None:
    if not line.endswith(b"\n") or b"\n" in line[:-1]:
        raise ValueError("a session line is one whole line ending in a newline")
