"""Session-log lines as the dream's scan reads them: one typed decode per line, in C.

Nearly every line of a log is a message, a tool event or a sub-agent event. `decode_event` decodes
those with one msgspec decoder (a union tagged by the `type` field) into small structs that hold
only what the signals use: a tool result's output stays undecoded (`Block.content`, raw JSON) until
the result turns out to have failed, and fields the signals never read are skipped.

The structs check what the reader's boundary checks (`dreamcli.sessions.validate.type_problem`, the
schema v1 types of the envelope and of each field) in the same pass, so a line they take is one
`dreamcli.sessions.reader.parse_line` takes too, with the same values. Anything they refuse (other
event types, wrong types, a version other than 1, a non-ASCII line that is not UTF-8 (msgspec checks
only what it decodes), JSON msgspec does not read such as `NaN`, nesting past what it decodes) goes
the full way through `parse_line`, which has the last word; `typed_event` gives the same structs for
the dicts it returns.

`settled` reads a log's last line before the scan does: a session it settles (ended, or quiet for long) is
never one to set aside as still running, so the scan adds what it reads straight into the aggregates.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import msgspec

from dreamcli.codec import loads_as_json_reads
from dreamcli.sessions.running import recent
from dreamcli.sessions.validate import counts_problem

UNSET: Any = msgspec.UNSET
_NO_OUTPUT = msgspec.Raw(b"")
TAIL = 4096  # bytes read back from a log's end to find its last line (a session.end line is a few hundred)


class Block(msgspec.Struct, kw_only=True):
    """A content block. `content` (a tool result's output) is kept as raw JSON; `text` is UNSET when
    the block has none (a `null` text stays None)."""

    type: str
    text: Any = UNSET
    id: Any = None
    name: Any = None
    input: Any = None
    tool_use_id: Any = None
    is_error: Any = None
    content: msgspec.Raw = _NO_OUTPUT


class _Event(msgspec.Struct, kw_only=True, tag_field="type"):
    """The envelope of schema v1 (docs/session-log.md). `usage` and `totals` are checked on any event."""

    v: int
    ts: str = UNSET
    session_id: str = UNSET
    seq: int = UNSET
    usage: Any = None
    totals: Any = None


class Message(_Event, kw_only=True, tag="message"):
    role: str
    content: str | list[Block]
    model: str | None = None
    stop_reason: str | None = None
    usage: dict[str, Any] | None = None
    latency_ms: int | float | None = None
    cost_usd: int | float | None = None
    origin: Any = None  # who wrote a user-role text (dreamcli.dream.origins)


class Tool(_Event, kw_only=True, tag="tool"):
    name: str
    tool_use_id: str = UNSET
    duration_ms: int | float | None = None
    exit_code: int | None = None
    error_kind: str | None = None
    truncated: bool = False


class Subagent(_Event, kw_only=True, tag="subagent"):
    child_session_id: str
    event: str = UNSET
    brief: str | None = None
    status: str | None = None


class End(_Event, kw_only=True, tag="session.end"):
    status: str
    error: str | None = None
    totals: dict[str, Any] = UNSET
    outcome: dict[str, Any] | None = None


Event = Message | Tool | Subagent | End
TYPED = frozenset({"message", "tool", "subagent", "session.end"})
_decoder = msgspec.json.Decoder(Event)


def decode_event(raw: bytes) -> Event | None:
    """A message, tool, sub-agent or end event from one line; None when the line must go the full way."""
    if not raw.isascii() and not _utf8(raw):  # msgspec skips what it does not decode unchecked; the reader does not
        return None
    try:
        event = _decoder.decode(raw)
    except (msgspec.DecodeError, RecursionError):  # RecursionError: nested past what msgspec decodes
        return None
    if event.v != 1 or (event.usage is not None and counts_problem(event.usage)):
        return None
    totals = event.totals
    return event if totals is None or totals is UNSET or not counts_problem(totals) else None


def typed_event(event: dict[str, Any]) -> Event | None:
    """The struct for an event `parse_line` returned (one `decode_event` refused: `NaN`, a lone surrogate,
    an integer past 64 bits, JSON msgspec does not read); None for other types. Built from the dict as the
    reader gave it, each tool output re-encoded (`json.dumps`: NaN and lone surrogates survive) for
    `block_output` to read the same way."""
    if event.get("type") not in TYPED:
        return None
    content = event.get("content")
    outputs: list[bytes | None] = []
    try:
        if isinstance(content, list):  # outputs set aside: msgspec before 0.19 converts no Raw
            outputs = [json.dumps(b["content"]).encode() if isinstance(b, dict) and "content" in b else None
                       for b in content]
            event = {**event, "content": [{k: v for k, v in b.items() if k != "content"} if isinstance(b, dict) else b
                                          for b in content]}
        typed: Event = msgspec.convert(event, Event)
    except (msgspec.ValidationError, TypeError, ValueError, RecursionError):
        return None
    if isinstance(typed, Message) and not isinstance(typed.content, str):
        for block, output in zip(typed.content, outputs, strict=False):
            if output is not None:
                block.content = msgspec.Raw(output)
    return typed


def _utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def block_text(block: Block) -> str:
    """A block's text as the signals read it ("" when it has none)."""
    return "" if block.text is UNSET else str(block.text)


def block_output(block: Block) -> Any:
    """A tool result's output, decoded (None when it has none). What msgspec does not read (a number
    past a float's range, NaN, a lone surrogate escape) is read as the reader reads it, by `json`."""
    raw = bytes(block.content)
    if not raw:
        return None
    try:
        return loads_as_json_reads(raw)
    except ValueError:
        return None


def settled(f: Iterable[bytes], now: datetime | None, seconds: float) -> bool:
    """Is the session certainly not one a scan at `now` sets aside as still running, by its last line alone? Yes
    when that line is a session.end, or has a time (then the scan's last) not within `seconds` before `now` (the
    test of `recent`), or when there is no `now`. No when unsure: a cut-off, odd or very long last line, or a
    stream it cannot read back; the whole read decides then. Reads one block at the end of a file, which is
    read from where it was all the same."""
    if now is None:
        return True
    last = _last_line(f)
    event = decode_event(last) if last else None
    if event is None:
        return False
    return isinstance(event, End) or (event.ts is not UNSET and not recent(event.ts, now, seconds))


def _last_line(f: Iterable[bytes]) -> bytes | None:
    """The last line that is not blank (JSON whitespace), from a list of lines or the end of a file: read where
    it is (`pread`: the file's position and buffer untouched), or by seeking there and back."""
    if isinstance(f, Sequence) and not isinstance(f, bytes | bytearray):
        return next((raw for raw in reversed(f) if raw.strip(b" \t\r\n")), None)
    try:
        if isinstance(f, io.BufferedReader) and hasattr(os, "pread"):  # a session file
            fd = f.fileno()
            end = os.fstat(fd).st_size
            begin = max(0, end - TAIL)
            tail = os.pread(fd, end - begin, begin)
        elif isinstance(f, io.BufferedIOBase) and f.seekable():  # a session from a bucket (BytesIO)
            start = f.tell()
            try:
                end = f.seek(0, os.SEEK_END)
                begin = max(0, end - TAIL)
                f.seek(begin)
                tail = f.read(end - begin)
            finally:
                f.seek(start)
        else:
            return None
    except OSError:  # not a regular file: the whole read decides
        return None
    tail = tail.rstrip(b" \t\r\n")
    cut = tail.rfind(b"\n")
    if cut < 0 and begin > 0:  # longer than the block read
        return None
    return tail[cut + 1:] or None
