"""Per-playbook dream state under `state/dream/<playbook>/`:

    watermark.json   the newest session already dreamed, sessions deferred because they may still be
                     running, how far grades/grades.jsonl was read, the last dream id, and the ids
                     dreamed after `recent_floor` (`recent`), LOOKBACK_MS before the newest: with
                     sessions in object storage a session can reach the bucket after a newer one was
                     dreamed (a long run, a runner's clock ahead), so selection lists the bucket from
                     the floor and skips what `recent` holds (docs/scaling.md)
    aggregates.json  the patterns learned so far (dreamcli.dream.aggregates), so support accumulates
                     across dreams; stamped with the redaction its texts had (`redaction_stamp`): none of
                     the texts of a file without the stamp of the workspace's redactor (an older dream's,
                     or one from before a rule or `redaction.patterns` existed) is loaded; the dream
                     rebuilds the state from the sessions (dreamcli.dream.older_state)

Both are staged next to the proposal under an intent (dreamcli.dream.journal) and installed after
the proposal is in place: a dream killed before its proposal is in place leaves the previous state
(its sessions are dreamed again); one killed after it has its state installed by the next command,
so its sessions are never proposed twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from dreamcli.dream.aggregates import Aggregates
from dreamcli.dream.statefile import NotRegularFile, read_regular
from dreamcli.ids import ulid_at, ulid_time_ms
from dreamcli.store.base import is_session_id
from dreamcli.timeutil import now_rfc3339
from dreamcli.workspace.fsutil import FILE_MODE, atomic_write_text, ensure_dir, naming
from dreamcli.workspace.home import Workspace

STATE_VERSION = 1
# what the dream redacts of what it keeps, in `redaction_stamp`: raise it when that changes, so that every
# state written before is rebuilt from the sessions (1: texts redacted before they are cut)
REDACTED_BY = 1
LOOKBACK_MS = 24 * 3600 * 1000  # a session reaching the bucket up to this long after its id's time is dreamed
_T = TypeVar("_T")


@dataclass
class Watermark:
    playbook: str
    last_session_id: str | None = None
    deferred: list[str] = field(default_factory=list)
    grades_offset: int = 0
    dream_id: str | None = None
    updated: str | None = None
    sessions_dreamed: int = 0
    arrivals_offset: int = 0  # bytes of state/session-arrivals.jsonl already taken into account
    arrivals_digest: str | None = None  # of the bytes before the offset (sessions.arrivals.digest_at); None: older
    # set by a selection that read the arrivals (None: it did not); saved as arrivals_offset and arrivals_digest
    arrivals_next: tuple[int, str | None] | None = field(default=None, repr=False)
    recent: list[str] = field(default_factory=list)  # every id dreamed after recent_floor (sorted)
    recent_floor: str | None = None  # the bucket's lookback never lists this id or an older one
    selected_next: list[str] = field(default_factory=list, repr=False)  # set by selection; joins `recent`
    listed_ms: int | None = field(default=None, repr=False)  # set by selection: this machine's clock then

    def take_arrivals(self) -> bool:
        """Move the arrivals offset (and its digest) to where the selection read to; whether it moved."""
        if self.arrivals_next is None or self.arrivals_next == (self.arrivals_offset, self.arrivals_digest):
            return False
        self.arrivals_offset, self.arrivals_digest = self.arrivals_next
        return True

    def is_new(self, session_id: str) -> bool:
        return self.last_session_id is None or session_id.upper() > self.last_session_id.upper()

    def lookback_after(self) -> str | None:
        """Where a bucket listing starts (exclusive): `recent_floor`, set when the last dream's state was
        saved. None (no watermark): list everything."""
        if self.last_session_id is None:
            return None
        return self.recent_floor or self.last_session_id

    def settle_recent(self, now_ms: int | None = None) -> None:
        """`recent` after a dream: the ids it read (not those deferred: they are read again) joined in; the
        floor moved to LOOKBACK_MS before the watermark's time, or before the selection's listing when the
        watermark is later (a runner's clock ahead must not push the window past sessions still on their
        way); ids at or below the floor dropped, so the file holds about LOOKBACK_MS of ids."""
        done = {s.upper() for s in (*self.recent, *self.selected_next)} - {s.upper() for s in self.deferred}
        if self.last_session_id is not None:
            now = now_ms or self.listed_ms or int(time.time() * 1000)
            start = ulid_at(max(0, min(ulid_time_ms(self.last_session_id), now) - LOOKBACK_MS), b"")
            self.recent_floor = max(start, self.recent_floor or "")
        floor = self.recent_floor or ""
        self.recent = sorted(s for s in done if s > floor and is_session_id(s))
        self.selected_next = []


def state_dir(ws: Workspace, playbook: str) -> Path:
    return ws.state_dir / "dream" / playbook


def load_watermark(ws: Workspace, playbook: str, problems: list[str] | None = None) -> Watermark:
    """The playbook's watermark; a fresh one when there is none or it cannot be read. A file with values
    no dream wrote is set aside: its problem is added to `problems` (the engine logs it)."""
    path = state_dir(ws, playbook) / "watermark.json"
    try:
        data = json.loads(read_regular(path))
    except NotRegularFile:  # a FIFO hung the dream, holding its lock
        return _set_aside(path, problems, Watermark(playbook=playbook))
    except (OSError, ValueError, RecursionError):  # RecursionError: nested deeper than json reads
        return Watermark(playbook=playbook)
    from dreamcli.dream.state_schema import watermark_problem

    if not isinstance(data, dict) or data.get("v") != STATE_VERSION:
        return Watermark(playbook=playbook)
    if (problem := _ids_problem(data) or watermark_problem(data)) is not None:  # ids first: the clearer words
        if problems is not None:
            problems.append(f"{path.name}: {problem}")
        return Watermark(playbook=playbook)
    last = data.get("last_session_id")
    return Watermark(
        playbook=playbook,
        last_session_id=last.upper() if last else None,
        deferred=[str(s) for s in data.get("deferred") or []],
        grades_offset=int(data.get("grades_offset") or 0),
        dream_id=data.get("dream_id"),
        updated=data.get("updated"),
        sessions_dreamed=int(data.get("sessions_dreamed") or 0),
        arrivals_offset=int(data.get("arrivals_offset") or 0),
        arrivals_digest=data.get("arrivals_digest") or None,
        recent=[str(x).upper() for x in data.get("recent") or []],
        # none kept (a watermark from before `recent`): which ids it dreamed before its last one is not known
        recent_floor=str(data.get("recent_floor") or last or "").upper() or None,
    )


def _ids_problem(data: dict[str, Any]) -> str | None:
    """Why the ids of a watermark no dream wrote cannot be used (a stray name, "README.TXT", sorts after
    every session id: as a watermark it hid every later session); None when they can."""
    last = data.get("last_session_id")
    if last is not None and not is_session_id(last):
        return f"last_session_id {str(last)[:40]!r} is not a session id"
    recent = data.get("recent", [])
    if not isinstance(recent, list) or not all(is_session_id(x) for x in recent):
        return "recent holds a value that is not a session id"
    floor = data.get("recent_floor")
    if floor is not None and not is_session_id(floor):
        return f"recent_floor {str(floor)[:40]!r} is not a session id"
    return None


def _set_aside(path: Path, problems: list[str] | None, fresh: _T,
               why: str = "not a regular file (a FIFO, a directory or a device)") -> _T:
    if problems is not None:
        problems.append(f"{path.name}: {why}")
    return fresh


def save_watermark(ws: Workspace, mark: Watermark, *, into: Path | None = None) -> None:
    """Save the watermark in the playbook's state folder (or in `into`: a dream stages it there,
    see dreamcli.dream.journal)."""
    mark.updated = now_rfc3339()
    mark.settle_recent()
    data: dict[str, Any] = {"v": STATE_VERSION, **asdict(mark)}
    data.pop("arrivals_next", None)
    data.pop("selected_next", None)
    data.pop("listed_ms", None)
    folder = into if into is not None else state_dir(ws, mark.playbook)
    atomic_write_text(folder / "watermark.json", json.dumps(data, indent=1) + "\n")


def load_aggregates(ws: Workspace, playbook: str, problems: list[str] | None = None,
                    redaction: Sequence[str] | None = None, mark: Watermark | None = None) -> Aggregates:
    """The playbook's stored patterns; empty ones when there are none or they cannot be read. A file with
    values no dream wrote (a copied or edited workspace), or none while `mark` (the playbook's watermark) names
    a session dreamed, is set aside: its problem goes to `problems`. Of a file not stamped with `redaction`
    (config `redaction.patterns`; None: the workspace's config) only what no session text made is loaded, and
    `rebuild` says why (`dreamcli.dream.older_state.trusted_part`)."""
    path = state_dir(ws, playbook) / "aggregates.json"
    try:
        data = json.loads(read_regular(path))
    except NotRegularFile:
        return _set_aside(path, problems, Aggregates())
    except FileNotFoundError:  # no dream yet, or deleted: then the watermark would skip every session dreamed
        if mark is None or mark.last_session_id is None:
            return Aggregates()
        return _set_aside(path, problems, Aggregates(), f"missing, while the watermark says {_dreamed(mark)}")
    except (OSError, ValueError, RecursionError) as e:  # RecursionError: nested deeper than json reads
        # set aside, not taken for "none": the watermark would then skip every session its patterns came from
        reason = e.strerror if isinstance(e, OSError) and e.strerror else "not valid JSON"
        return _set_aside(path, problems, Aggregates(), f"cannot be read ({reason})")
    from dreamcli.dream.older_state import distrust, trusted_part
    from dreamcli.dream.state_schema import state_problem

    if (problem := state_problem(data)) is not None:
        if problems is not None:
            problems.append(f"{path.name}: {problem}")
        return Aggregates()
    patterns = tuple(_workspace_patterns(ws) if redaction is None else redaction)
    why = distrust(data.get("redaction"), redaction_stamp(patterns), data.get("proposed") or {})
    agg = Aggregates.from_json(data) if why is None else trusted_part(data, why)
    agg.redaction = patterns
    # an untrusted file keeps its own stamp until a whole dream rebuilds it (a selection cannot: save_aggregates)
    agg.redacted_with = redaction_stamp(patterns) if why is None else data.get("redaction")
    return agg


def _dreamed(mark: Watermark) -> str:
    n = mark.sessions_dreamed
    return "1 session was dreamed" if n == 1 else f"{n} sessions were dreamed" if n else "sessions were dreamed"


def _workspace_patterns(ws: Workspace) -> tuple[str, ...]:
    from dreamcli.config import load_config

    return tuple(load_config(ws.config_path).redaction.patterns)


@lru_cache(maxsize=16)
def redaction_stamp(patterns: tuple[str, ...]) -> str:
    """What aggregates.json records of the redaction its texts had: a digest of REDACTED_BY, the built-in
    rules and `patterns` (not the patterns themselves: one may spell a secret)."""
    from dreamcli.redaction.catalog import BUILTIN_RULES

    rules = [[r.kind, r.regex.pattern, r.regex.flags, *(getattr(f, "__qualname__", "") for f in (
        r.validate, r.check_match, r.kind_of))] for r in BUILTIN_RULES]
    text = json.dumps([REDACTED_BY, rules, list(patterns)], ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def save_aggregates(ws: Workspace, playbook: str, agg: Aggregates, *, into: Path | None = None) -> None:
    """Atomically (temp file + os.replace, 0600), streamed pattern by pattern (into `into` when given). Stamped
    with `agg.redaction`'s stamp; a state still to be rebuilt (`agg.rebuild`: a selection's, holding no session
    text, dreamcli.dream.older_state.hold) with the stamp it was loaded with, so the next dream rebuilds it."""
    agg.prune()
    path = (into if into is not None else state_dir(ws, playbook)) / "aggregates.json"
    ensure_dir(path.parent)
    prefix = f".{path.name}.{os.getpid()}."
    with naming(path, temp_prefix=prefix):  # a full disk's flush or fsync names no file: this one
        fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=path.parent)
        try:
            os.fchmod(fd, FILE_MODE)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                if agg.rebuild is None:
                    agg.redacted_with = redaction_stamp(agg.redaction)
                agg.write_json(f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise  # not written: the dream must not publish a state without its aggregates


def trim_arrivals(ws: Workspace) -> bool:
    """Empty state/session-arrivals.jsonl once every playbook's watermark is at its end, so that it does not
    grow by a line per imported session forever (call it holding the dream lock, the state installed). A
    playbook without a watermark (never dreamed, or set aside) reads every session anyway; one whose watermark
    is behind keeps the file whole until its own dream. Whether the file was emptied."""
    from dreamcli.sessions.arrivals import arrivals_size
    from dreamcli.sessions.arrivals import trim_arrivals as trim

    if arrivals_size(ws) == 0:
        return False
    try:
        names = sorted(e.name for e in os.scandir(ws.state_dir / "dream") if e.is_dir())
    except OSError:
        return False
    ends = {(m.arrivals_offset, m.arrivals_digest) for m in (load_watermark(ws, n) for n in names)
            if m.last_session_id is not None}
    if len(ends) != 1:
        return False
    offset, digest = ends.pop()
    return digest is not None and trim(ws, offset, digest)
