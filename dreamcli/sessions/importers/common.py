"""Shared pieces of the transcript importers: deterministic session ids, timestamps, line reading that
tolerates a cut-off last line, counters, and the plan of an import (`Transcript`, `ChildRef`)."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dreamcli.errors import InputError
from dreamcli.ids import ulid_at

PROMPT_LIMIT = 4000
SNIFF_BYTES = 65536

_TS_OK = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


# ---------------------------------------------------------------- ids and timestamps


def deterministic_ulid(source: str, source_id: str, start_ms: int) -> str:
    """A valid ULID whose time part is the transcript's start and whose random part is derived from
    the source and its id, so importing the same transcript twice gives the same session id."""
    digest = hashlib.sha256(f"{source}\0{source_id}\0{start_ms}".encode()).digest()
    return ulid_at(max(0, min(start_ms, (1 << 48) - 1)), digest)


def parse_ts_ms(value: Any) -> int | None:
    """Milliseconds since the epoch of an RFC 3339 timestamp, or None if it is not one."""
    if not isinstance(value, str) or len(value) < 19:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def clean_ts(value: Any) -> str | None:
    """`value` when it already is an RFC 3339 timestamp the session log accepts; else a normalized one
    (UTC, milliseconds), or None when it is not a timestamp at all."""
    if not isinstance(value, str):
        return None
    if _TS_OK.match(value):
        return value
    ms = parse_ts_ms(value)
    return None if ms is None else ms_to_ts(ms)


def ms_to_ts(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# ---------------------------------------------------------------- reading


@dataclass
class LineCounts:
    """What happened to the lines of the transcripts read."""

    lines: int = 0
    imported: int = 0  # lines that became (part of) an event
    corrupt: int = 0  # not JSON, or not an object
    truncated: int = 0  # a cut-off last line
    malformed: int = 0  # a known line type without the fields it needs
    ignored: Counter[str] = field(default_factory=Counter)  # known types that carry nothing to import
    unknown: Counter[str] = field(default_factory=Counter)  # line types this importer does not know

    def add(self, other: LineCounts) -> None:
        for name in ("lines", "imported", "corrupt", "truncated", "malformed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.ignored.update(other.ignored)
        self.unknown.update(other.unknown)


PROGRESS_EVERY = 4 << 20


def iter_json_lines(path: Path, counts: LineCounts, progress: Callable[[int], None] | None = None
                    ) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each JSON-object line; corrupt lines and a cut-off last line are
    counted and skipped. `progress(n)` is told about every few MB read."""
    loads = json.loads
    with open(path, "rb", buffering=1 << 20) as f:
        lineno = 0
        unreported = 0
        for raw in f:
            lineno += 1
            if progress is not None:
                unreported += len(raw)
                if unreported >= PROGRESS_EVERY:
                    progress(unreported)
                    unreported = 0
            if not raw.strip():
                continue
            counts.lines += 1
            try:
                obj = loads(raw)
            except (ValueError, RecursionError):  # not JSON, or nested deeper than Python can parse
                if raw.endswith(b"\n"):
                    counts.corrupt += 1
                else:
                    counts.truncated += 1
                continue
            if isinstance(obj, dict):
                yield lineno, obj
            else:
                counts.corrupt += 1
        if progress is not None and unreported:
            progress(unreported)


def head_objects(path: Path, *, limit_bytes: int = SNIFF_BYTES, max_lines: int = 400,
                 until: Callable[[dict[str, Any]], bool] | None = None) -> list[dict[str, Any]]:
    """The JSON objects among the first lines of a file (for headers and sniffing). With `until`, reads
    on past the limits to the first object it accepts (a transcript can open with many bookkeeping
    lines); objects past the limits other than that one are not kept."""
    out: list[dict[str, Any]] = []
    found = until is None
    with open(path, "rb") as f:
        read = 0
        for raw in f:
            read += len(raw)
            over = read >= limit_bytes or len(out) >= max_lines
            if raw.strip():
                try:
                    obj = json.loads(raw)
                except (ValueError, RecursionError):
                    obj = None
                if isinstance(obj, dict):
                    hit = not found and until is not None and until(obj)
                    if not over or hit:
                        out.append(obj)
                    found = found or hit
            if over and found:
                break
    return out


def discover_files(root: Path, suffix: str = ".jsonl") -> list[Path]:
    """Every regular file whose name ends in `suffix` under `root`, in sorted walk order (directories
    sorted, symlinked directories not followed), or `[root]` when `root` is a file."""
    if root.is_file():
        return [root]
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if name.endswith(suffix):
                p = Path(dirpath) / name
                if p.is_file():
                    found.append(p)
    return found


def check_jsonl(path: Path) -> bool:
    """Refuse a file that is not JSONL (its first non-empty line is not a JSON object). Returns False
    for an empty file."""
    try:
        with open(path, "rb") as f:
            lineno = 0
            for raw in f:
                lineno += 1
                if not raw.strip():
                    continue
                try:
                    obj = json.loads(raw)
                except (ValueError, RecursionError):
                    if not raw.endswith(b"\n") and lineno == 1:
                        # a one-line file cut off mid-write: tolerated, nothing to import
                        return False
                    raise InputError("not a JSONL file (line is not JSON)", file=str(path), line=lineno) from None
                if not isinstance(obj, dict):
                    raise InputError("not a JSONL transcript (line is not a JSON object)", file=str(path),
                                     line=lineno)
                return True
    except UnicodeDecodeError:
        raise InputError("not a JSONL file (not UTF-8 text)", file=str(path)) from None
    except OSError as err:
        raise InputError(f"cannot read: {err.strerror or err}", file=str(path)) from None
    return False


def text_of(content: Any, limit: int = PROMPT_LIMIT) -> str | None:
    """The text of a message's content (a string or content blocks), for prompts and briefs."""
    if isinstance(content, str):
        text = content
    elif isinstance(content, list):
        parts = []
        for b in content:
            if isinstance(b, str):
                parts.append(b)
            elif isinstance(b, dict) and b.get("type") in ("text", "input_text", "output_text"):
                t = b.get("text")
                if isinstance(t, str):
                    parts.append(t)
        text = "\n".join(parts)
    else:
        return None
    text = text.strip()
    if not text:
        return None
    return text if len(text) <= limit else text[:limit] + "…"


# ---------------------------------------------------------------- the plan of an import


@dataclass
class ChildRef:
    """A child session announced in its parent with a `subagent` event."""

    session_id: str
    start_ms: int
    start_ts: str
    brief: str | None


@dataclass
class Transcript:
    """One transcript file to import, with what its first lines say (found before anything is
    written, so parents and children know each other's session ids)."""

    path: Path
    size: int
    source_id: str
    start_ms: int
    session_id: str
    start_ts: str
    workdir: str | None = None
    model: str | None = None
    prompt: str | None = None
    version: str | None = None
    agent: str | None = None
    tags: list[str] = field(default_factory=list)
    parent_source_id: str | None = None
    parent_session_id: str | None = None
    children: list[ChildRef] = field(default_factory=list)
    extra_import: dict[str, Any] = field(default_factory=dict)

    def import_info(self) -> dict[str, Any]:
        info: dict[str, Any] = {"path": str(self.path), "source_id": self.source_id, "bytes": self.size}
        if self.parent_source_id:
            info["parent_source_id"] = self.parent_source_id
        info.update(self.extra_import)
        return info
