"""Shared pieces of the transcript importers: deterministic session ids, timestamps, finding the files of
an import and the plan of one (`Transcript`, `ChildRef`). Reading their lines: dreamcli.sessions.importers.lines."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from dreamcli import codec
from dreamcli.errors import InputError
from dreamcli.ids import ulid_at
from dreamcli.sessions.paths import session_path
from dreamcli.workspace.fsutil import open_nofollow
from dreamcli.workspace.home import Workspace

PROMPT_LIMIT = 4000

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
    return _ts_ms(value)


@lru_cache(maxsize=1024)  # a call's time is parsed again for its result's duration
def _ts_ms(value: str) -> int | None:
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        dt = dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
    except (ValueError, OverflowError):  # not a time, or one whose UTC falls outside years 1 to 9999
        return None
    return int(dt.timestamp() * 1000)


def clean_ts(value: Any) -> str | None:
    """`value` when it already is an RFC 3339 timestamp the session log accepts; else a normalized one
    (UTC, milliseconds), or None when it is not a timestamp at all: one of the right shape naming no real
    time (`9999-99-99T00:00:00Z`, a 61st second) too, since a transcript is untrusted."""
    if not isinstance(value, str):
        return None
    if _TS_OK.match(value):
        try:  # the shape is right; is the time real? (C, about a third of a whole parse into milliseconds)
            datetime.fromisoformat(value)
        except ValueError:
            return None
        # years 1 and 9999 only: with an offset, its UTC may fall outside what a datetime holds
        return value if value[:4] not in ("0001", "9999") or parse_ts_ms(value) is not None else None
    ms = parse_ts_ms(value)
    return None if ms is None else ms_to_ts(ms)


@lru_cache(maxsize=4096)
def final_path(ws: Workspace, session_id: str) -> Path:
    """`session_path`, remembered: an import asks for each session's place several times."""
    return session_path(ws, session_id)


def ms_to_ts(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# ---------------------------------------------------------------- reading


def copy_mark(obj: dict[str, Any]) -> tuple[str, int] | None:
    """What makes a message line the copy of one read before (a resumed Claude Code session can write a line
    twice): its `uuid` with its type and message. Different lines under one uuid (Claude Code writes some) are
    not copies. None for a line without a uuid."""
    uuid = obj.get("uuid")
    if not isinstance(uuid, str):
        return None
    try:
        return uuid, hash(codec.dumps([obj.get("type"), obj.get("message")]))
    except (TypeError, ValueError, OverflowError, RecursionError):
        return None


# What a converter raises on a line of a shape no version of the agent writes (a list where a name
# belongs, a missing field): the line is counted as malformed and the rest of the transcript imported.
ODD_LINE = (TypeError, AttributeError, ValueError, KeyError, IndexError, ArithmeticError)


def discover_files(root: Path, suffix: str = ".jsonl") -> list[Path]:
    """Every file named `*suffix` under `root`, in sorted walk order (directories sorted, symlinked ones not
    followed), or `[root]` when `root` is a file (a symlink: the file it points to). A symlinked file under
    `root` is listed for `first_object` to refuse: skipped and reported, never followed out of `root`."""
    if root.is_file():
        return [root.resolve()] if root.is_symlink() else [root]
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if name.endswith(suffix):
                p = Path(dirpath) / name
                if p.is_symlink() or p.is_file():
                    found.append(p)
    return found


def first_object(path: Path) -> dict[str, Any] | None:
    """The first line of a file, refused with InputError when the file is not JSONL (that line is not a JSON
    object) or is a symlink (it may point anywhere the user can read); None for no line or one cut off."""
    if path.is_symlink():
        raise InputError("a symlink, not followed (import the file it points to by its own path)", file=str(path))
    try:
        with open_nofollow(path) as f:  # swapped for a symlink since: refused
            lineno = 0
            for raw in f:
                lineno += 1
                try:
                    obj = codec.loads_rfc8259(raw)
                except (ValueError, RecursionError):
                    if not raw.strip():
                        continue
                    if not raw.endswith(b"\n") and lineno == 1:
                        # a one-line file cut off mid-write: tolerated, nothing to import
                        return None
                    raise InputError(_not_jsonl(raw), file=str(path), line=lineno) from None
                if not isinstance(obj, dict):
                    raise InputError("not a JSONL transcript (line is not a JSON object)", file=str(path),
                                     line=lineno)
                return obj
    except OSError as err:
        raise InputError(f"cannot read: {err.strerror or err}", file=str(path)) from None
    return None


def _not_jsonl(raw: bytes) -> str:
    """Why a first line is refused: not UTF-8 when it is JSON but for bytes that are not UTF-8 (a damaged
    transcript), else not JSON (random bytes, text)."""
    try:
        codec.loads_rfc8259(raw.decode("utf-8", "ignore").encode())
    except (ValueError, RecursionError):
        return "not a JSONL file (line is not JSON)"
    return "not a JSONL file (not UTF-8 text)"


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
