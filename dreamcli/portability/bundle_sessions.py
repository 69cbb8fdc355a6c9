"""Sessions carried by a bundle, brought into the workspace without trusting them: each is checked
(named after its session id, every event of that session, a `session.start` first), then re-written
event by event through the workspace's redactor; corrupt lines are skipped and counted, as readers do."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from dreamcli.errors import InputError
from dreamcli.ids import ulid_time_ms
from dreamcli.redaction import Redactor
from dreamcli.sessions.paths import session_path
from dreamcli.sessions.reader import ReadStats, iter_events, parse_line, read_first_event
from dreamcli.workspace.fsutil import atomic_write_bytes
from dreamcli.workspace.home import Workspace

ULID_RE = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")  # the first character holds only 3 bits of the 48-bit time


def is_session_id(stem: str) -> bool:
    """A ULID (upper-case Crockford base32) whose time is a date: its day names the session's directory."""
    if not ULID_RE.fullmatch(stem):
        return False
    try:
        datetime.fromtimestamp(ulid_time_ms(stem) / 1000, UTC)
    except (ValueError, OverflowError, OSError):
        return False
    return True


@dataclass
class BundledSession:
    session_id: str
    member: str  # path inside the bundle
    path: Path  # the unpacked file


@dataclass
class SessionsAdded:
    added: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    lines_skipped: int = 0

    def audit_fields(self) -> dict[str, object]:
        ids = self.added
        return {"sessions_added": len(ids), "session_ids": ids[:200],
                "session_ids_hash": "sha256:" + hashlib.sha256("\n".join(ids).encode()).hexdigest(),
                "lines_skipped": self.lines_skipped}


def bundled_sessions(files: dict[str, Path], bundle: Path) -> list[BundledSession]:
    """Bundle members under sessions/, each named after its session id (its place in the workspace
    comes from that id, never from the path in the bundle)."""
    out = []
    for rel in sorted(files):
        if not rel.startswith("sessions/"):
            continue
        stem = Path(rel).stem
        if not rel.endswith(".jsonl") or not is_session_id(stem):
            raise InputError(f"{rel} is not a session log named after its session id (a ULID whose time is a "
                             "date)", file=str(bundle))
        out.append(BundledSession(stem, rel, files[rel]))
    if len({s.session_id for s in out}) != len(out):
        raise InputError("the bundle holds a session twice", file=str(bundle))
    return out


def check_session(s: BundledSession, bundle: Path) -> None:
    """Refuse (InputError naming the member) a session log that is not the session its name says."""
    where = f"{bundle}/{s.member}"
    first = read_first_event(s.path)
    if first is None or first.get("type") != "session.start":
        raise InputError("a session log must begin with a session.start event", file=where, line=1)
    with open(s.path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            event = parse_line(raw) if raw.strip() else None
            if event is not None and event.get("session_id") != s.session_id:
                raise InputError(f"session_id is {event.get('session_id')!r}, the file is named after "
                                 f"{s.session_id}", file=where, line=lineno)


def write_session(ws: Workspace, s: BundledSession, redactor: Redactor) -> int:
    """Redact and write one checked session to sessions/YYYY/MM/DD/<id>.jsonl atomically; returns
    the number of lines skipped (corrupt, truncated or of a newer schema)."""
    stats = ReadStats()
    parts = [json.dumps(redactor.redact_obj(e), ensure_ascii=False, separators=(",", ":")) + "\n"
             for e in iter_events(s.path, stats)]
    atomic_write_bytes(session_path(ws, s.session_id), "".join(parts).encode("utf-8"))
    return stats.skipped


def add_sessions(ws: Workspace, sessions: list[BundledSession], redactor: Redactor,
                 done: SessionsAdded) -> None:
    """Write every checked session that is not in the workspace yet, recording each in `done` as it
    lands (so the caller can audit what was written even when this is interrupted)."""
    for s in sessions:
        if session_path(ws, s.session_id).exists():
            done.present.append(s.session_id)
            continue
        done.lines_skipped += write_session(ws, s, redactor)
        done.added.append(s.session_id)
