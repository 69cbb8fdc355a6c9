"""A transcript that grew since it was imported (docs/importers.md, "Importing again"). The stored session
is replaced by a conversion of the whole grown file when it is `incomplete` (imported while the agent still
ran) or when its messages are the first messages of the new conversion (the conversation went on); a
transcript that changed in any other way (rewritten, cut shorter, converted with other redaction patterns)
keeps its stored session and is only reported. A stored session says which file size it was converted
from in its first line (`import.bytes`)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dreamcli.sessions.importers.context import UnitResult
from dreamcli.sessions.reader import iter_events, read_first_and_last
from dreamcli.sessions.schema import MESSAGE, SESSION_END

INCOMPLETE = "incomplete"


@dataclass(frozen=True)
class Stored:
    """What a stored imported session says of its import."""

    bytes: int | None  # the transcript's size when it was converted (None: not recorded)
    status: str  # its `session.end` status; incomplete without one

    def changed(self, size: int) -> bool:
        return self.bytes is not None and size != self.bytes

    def grew(self, size: int) -> bool:
        return self.bytes is not None and size > self.bytes


def stored_import(path: Path) -> Stored | None:
    """The import facts of the session stored at `path`; None when it cannot be read."""
    try:
        first, last = read_first_and_last(path)
    except OSError:
        return None
    status = last.get("status") if last is not None and last.get("type") == SESSION_END else INCOMPLETE
    return Stored(_bytes(first), status if isinstance(status, str) else INCOMPLETE)


def imported_bytes(path: Path) -> int | None:
    """`import.bytes` of the session stored at `path` (None: missing, unreadable, not recorded)."""
    stored = stored_import(path)
    return stored.bytes if stored is not None else None


def _bytes(first: dict[str, Any] | None) -> int | None:
    info = (first or {}).get("import")
    size = info.get("bytes") if isinstance(info, dict) else None
    return size if isinstance(size, int) and not isinstance(size, bool) else None


def may_replace(stored: Stored, stored_path: Path, staged: Path) -> bool:
    """Whether the conversion `staged` of the grown transcript replaces the stored session."""
    return stored.status == INCOMPLETE or extends(stored_path, staged)


def extends(stored_path: Path, staged: Path) -> bool:
    """Every message of the stored session is, in order, one of the first messages of `staged` (equal but for
    their `seq`): the transcript went on after the import. Read in step, one line of each at a time. What an
    import by an earlier dreamcli kept and a conversion now drops (docs/importers.md) is no difference: the
    messages' `usage`, a stored message equal to one before it (a line written twice, read twice), a block
    repeated within one assistant message (the line written twice added its blocks again)."""
    new = _messages(staged)
    ahead = next(new, None)
    seen: set[bytes] = set()  # digests of the stored messages read
    for old in _messages(stored_path):
        digest = _digest(old)
        if old == ahead:
            ahead = next(new, None)
        elif digest not in seen:
            return False
        seen.add(digest)
    return True


def _messages(path: Path) -> Iterator[dict[str, Any]]:
    """Each message of a session, but its `seq` and `usage`, an assistant's content without repeated blocks."""
    for event in iter_events(path):
        if event.get("type") == MESSAGE:
            message = {k: v for k, v in event.items() if k not in ("seq", "usage")}
            content = message.get("content")
            if message.get("role") == "assistant" and isinstance(content, list):
                message["content"] = _once(content)
            yield message


def _once(blocks: list[Any]) -> list[Any]:
    """The blocks without those equal to one before them."""
    out: list[Any] = []
    for b in blocks:
        if b not in out:
            out.append(b)
    return out


def _digest(message: dict[str, Any]) -> bytes:
    """A digest of a message read from a session file (equal lines read alike give equal digests)."""
    return hashlib.sha256(repr(message).encode("utf-8", "surrogatepass")).digest()


def keep_stored(result: UnitResult, session_id: str) -> None:
    """Make `result` that of a transcript skipped as changed since its import (its conversion, deleted by the
    caller, counts nothing): what an import reported for it before re-imports existed."""
    skipped = UnitResult(path=result.path, bytes=result.bytes, existing=[session_id], changed=True,
                         transcript=result.transcript)
    vars(result).update(vars(skipped))
