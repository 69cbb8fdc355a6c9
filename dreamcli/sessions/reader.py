"""Streaming session reader: line by line, skips and counts corrupt or truncated lines, reads every
known schema version (upgrading older ones to the current shape). Every line is type-checked at this
boundary (`dreamcli.sessions.validate`): valid JSON with wrong types counts as a corrupt line.

Lines are decoded with `dreamcli.codec` (msgspec). What msgspec refuses but the standard library reads
(`NaN`, a number out of float range, a lone surrogate escape, a byte-order mark: lines an older writer or a
person may have left) is decoded again with `json`, so the two read exactly the same lines."""

from __future__ import annotations

import errno
import json
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from dreamcli.codec import loads as _loads
from dreamcli.sessions.schema import SCHEMA_VERSION
from dreamcli.sessions.validate import type_problem

# The buffer to read session logs with, line by line: a log's lines are often longer than the default 8 KB
# (tool outputs), and a readline that refills its buffer several times costs ~10% of a dream's scan.
LINE_BUFFER = 1 << 16

# version -> function upgrading an event of that version to the current one (v1 is current).
UPGRADERS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: lambda e: e}


@dataclass
class ReadStats:
    lines: int = 0
    events: int = 0
    corrupt: int = 0
    truncated: int = 0  # a last line cut off mid-write
    unsupported: int = 0  # a newer schema version than this dreamcli reads
    bytes: int = 0
    problems: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # "FILE: reason": files that could not be read (the dream)

    @property
    def skipped(self) -> int:
        return self.corrupt + self.truncated + self.unsupported

    def add(self, other: ReadStats) -> None:
        for name in ("lines", "events", "corrupt", "truncated", "unsupported", "bytes"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.problems.extend(other.problems[: max(0, 20 - len(self.problems))])
        self.unreadable.extend(other.unreadable)


def parse_line(raw: bytes) -> dict[str, Any] | None:
    """One event from one line, upgraded to the current version; None if it is not a valid event."""
    return _parse(raw)[0]


def _parse(raw: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """(event, None), or (None, why) for a line with valid JSON and wrong types, else (None, None)."""
    try:
        event = _loads(raw)
    except ValueError:
        event = _stdlib_loads(raw)
    except RecursionError:
        return None, None
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        return None, None
    version = event.get("v")
    if not isinstance(version, int) or isinstance(version, bool):
        return None, None
    upgrade = UPGRADERS.get(version)
    if upgrade is None:
        return None, None
    event = upgrade(event)
    problem = type_problem(event)
    if problem is not None:
        return None, problem
    return event, None


def _stdlib_loads(raw: bytes) -> Any:
    """The slow path: what the standard library reads of a line msgspec refused; None if nothing."""
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None


def iter_events(path: Path, stats: ReadStats | None = None) -> Iterator[dict[str, Any]]:
    """Yield the valid events of one session file, in file order."""
    stats = stats if stats is not None else ReadStats()
    with open(path, "rb", buffering=LINE_BUFFER) as f:
        lineno = 0
        for raw in f:
            lineno += 1
            stats.lines += 1
            stats.bytes += len(raw)
            if raw.isspace():  # a blank line (never empty: a line read from a file has at least one byte)
                continue
            event, wrong = _parse(raw)
            if event is not None:
                stats.events += 1
                yield event
                continue
            complete = raw.endswith(b"\n")
            if wrong is not None:
                stats.corrupt += 1
                kind = f"corrupt line ({wrong})"
            elif not complete:
                stats.truncated += 1
                kind = "truncated last line"
            elif _newer_version(raw):
                stats.unsupported += 1
                kind = "newer schema version"
            else:
                stats.corrupt += 1
                kind = "corrupt line"
            if len(stats.problems) < 20:
                stats.problems.append(f"{path.name}:{lineno}: {kind}")


def _newer_version(raw: bytes) -> bool:
    try:
        event = _loads(raw)
    except ValueError:
        event = _stdlib_loads(raw)
    except RecursionError:
        return False
    v = event.get("v") if isinstance(event, dict) else None
    return isinstance(v, int) and v > SCHEMA_VERSION


def read_events(path: Path) -> tuple[list[dict[str, Any]], ReadStats]:
    stats = ReadStats()
    return list(iter_events(path, stats)), stats


def cannot_read(path: str | Path) -> str | None:
    """Why the file cannot be opened for reading (the OS's words: "Permission denied"), or None when it can
    (for messages that must tell an unreadable file from a corrupt one)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO does not hang it
    except OSError as e:
        return os_reason(e)
    try:
        return os.strerror(errno.EISDIR) if stat.S_ISDIR(os.fstat(fd).st_mode) else None
    finally:
        os.close(fd)


def os_reason(e: OSError) -> str:
    """An OSError in a few words of the OS ("Permission denied", "Is a directory"), without the file name."""
    return e.strerror or type(e).__name__


def read_first_event(path: Path) -> dict[str, Any] | None:
    with open(path, "rb") as f:
        return _first(f)


def read_first_and_last(path: Path) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """First and last valid events with one open and two small reads (what listings need)."""
    with open(path, "rb") as f:
        first = _first(f)
        return first, _last(f) if first is not None else None


def _first(f: BinaryIO) -> dict[str, Any] | None:
    for raw in f:
        if raw.strip():
            return parse_line(raw)
    return None


def read_last_event(path: Path, *, chunk: int = 65536) -> dict[str, Any] | None:
    """The last complete, valid event, reading backwards from the end (not the whole file)."""
    with open(path, "rb") as f:
        return _last(f, chunk)


def _last(f: BinaryIO, chunk: int = 65536) -> dict[str, Any] | None:
    f.seek(0, 2)
    end = f.tell()
    pos = end
    buf = b""
    while pos > 0:
        step = min(chunk, pos)
        pos -= step
        f.seek(pos)
        buf = f.read(step) + buf
        lines = buf.split(b"\n")
        # lines[0] may be partial unless we reached the start of the file
        candidates = lines if pos == 0 else lines[1:]
        for raw in reversed(candidates):
            if raw.strip():
                event = parse_line(raw)
                if event is not None:
                    return event
        buf = lines[0]
        if end - pos > 16 * chunk:  # give up: no valid line near the end
            return None
    return None
