"""Which sessions are a lead's sub-agents: the one rule `sessions show`, the budget checks, the dream (its episodes
and scope: dreamcli.dream.signals, transcripts) and the listing's scan (`summary.ImportLinks`) follow, through
`parent_key`, `holds` and `named_lead`. The session index's SQL keeps a twin (`dreamcli.store.index_schema.LEAD`,
one correlated query for the whole listing), checked against `named_lead` on a table of cases
(tests/sessions/test_lead_rule.py).

A session is a sub-agent of the lead its session.start names: as its `parent_session_id`, or, with that
null (an imported sub-agent whose lead was not part of the same import run), by the lead's transcript: its
`import.parent_source_id` is the `import.source_id` of a session of the same `source`; of several such
sessions, the one whose file is last in file order (as the listing picks). A value that is not a non-empty
string names nothing (the session index stores it as null).

A lead's log names the children it started (`subagent` events), but an imported lead cannot name a child
imported in a later run (logs are append-only), so `Family` also finds, for an imported lead, the sessions
whose session.start links to it. A session dreamcli ran names every sub-agent it started, so only imported
leads are searched. Children start after their lead: the search reads the first line of the session files
(or the session index's rows) from the newest down to the lead's day, once for any number of leads."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from dreamcli.ids import ulid_time_ms
from dreamcli.sessions import schema
from dreamcli.sessions.paths import iter_session_files
from dreamcli.workspace.home import Workspace

Key = tuple[str, ...]  # ("id", session id) or ("transcript", source, transcript id)
Day = tuple[str, str, str]  # a day directory: (YYYY, MM, DD)


class Linked(Protocol):
    """What links a session to its lead (a SessionSummary, a RunView or a `Kin`)."""

    @property
    def session_id(self) -> str: ...

    @property
    def source(self) -> str | None: ...

    @property
    def parent_session_id(self) -> str | None: ...

    @property
    def import_source_id(self) -> str | None: ...

    @property
    def import_parent_source_id(self) -> str | None: ...


@dataclass(frozen=True)
class Kin:
    """A session's links, from its session.start."""

    session_id: str
    source: str | None = None
    parent_session_id: str | None = None
    import_source_id: str | None = None
    import_parent_source_id: str | None = None


Row = tuple[Day, Path | Kin]  # a session file, or its links as the session index holds them


def kin_of(start: Mapping[str, Any] | None) -> Kin | None:
    """The links of a session.start; None for anything else."""
    if not isinstance(start, Mapping) or start.get("type") != schema.SESSION_START:
        return None
    info = start.get("import")
    info = info if isinstance(info, Mapping) else {}
    return kin_from((start.get("session_id"), start.get("source"), start.get("parent_session_id"),
                     info.get("source_id"), info.get("parent_source_id")))


def kin_from(values: Sequence[Any]) -> Kin | None:
    """A `Kin` from its five values in field order (a session index row's), empty strings as None; None
    without a session id."""
    sid, source, parent, source_id, parent_source_id = (_text(v) for v in values)
    return Kin(sid, source, parent, source_id, parent_source_id) if sid is not None else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def parent_key(s: Linked) -> Key | None:
    """How `s` names its lead: by session id, else by transcript (within its source); None for a lead."""
    if (parent := _text(s.parent_session_id)) is not None:
        return ("id", parent)
    source, transcript = _text(s.source), _text(s.import_parent_source_id)
    return ("transcript", source, transcript) if source is not None and transcript is not None else None


def holds(s: Linked) -> tuple[Key, ...]:
    """The transcript `s` holds, by which a sub-agent may name it as its lead (an imported session's); ()."""
    source, transcript = _text(s.source), _text(s.import_source_id)
    return (("transcript", source, transcript),) if source is not None and transcript is not None else ()


def lead_keys(s: Linked) -> tuple[Key, ...]:
    """The names a sub-agent may give `s` as its lead: its session id, and for an imported one its transcript."""
    return (("id", s.session_id), *holds(s))


def named_lead(child: Linked, holder: Callable[[Key], str | None]) -> str | None:
    """The session id of `child`'s lead: its parent_session_id, else `holder` of the transcript it names (the
    session holding it that is last in file order); None when it names none, or no session holds it."""
    key = parent_key(child)
    if key is None or key[0] == "id":
        return key[1] if key is not None else None
    return holder(key)


def is_child_of(child: Linked, lead: Linked) -> bool:
    """`child`'s session.start names `lead` (by session id, or by transcript within the same source)."""
    key = parent_key(child)
    return key is not None and key in lead_keys(lead)


def is_imported(s: Linked) -> bool:
    """An imported session: the one kind of lead whose log may not name all its sub-agents."""
    return bool(holds(s))


class Family:
    """The sessions of a workspace by the lead they name, read lazily: the first line of each file, newest
    first, only as far back as a question needs, each file once; or `rows`, the same sessions' links newest
    first (the session index's). Thread-safe (graders share one)."""

    def __init__(self, ws: Workspace, rows: Iterator[Row] | None = None) -> None:
        self._rows = rows if rows is not None else _file_rows(ws)
        self._held: Row | None = None  # listed, not yet read
        self._done = False
        self._kids: dict[Key, list[Kin]] = {}  # parent key -> the sessions naming it, newest first
        self._holder: dict[Key, str] = {}  # transcript key -> the newest session holding it (the listing's lead)
        self._lock = threading.Lock()

    def children(self, lead: Linked) -> list[Kin]:
        """The sessions linked to `lead` (imported), oldest first; [] for a session dreamcli ran."""
        if not is_imported(lead):
            return []
        day = _day_of_id(lead.session_id)
        with self._lock:
            self._read_until(lambda row_day: day is not None and row_day < day)
            return self._children(lead)

    def _children(self, lead: Linked) -> list[Kin]:
        out: list[Kin] = []
        for key in lead_keys(lead):
            if key[0] == "transcript" and self._holder.get(key, lead.session_id) != lead.session_id:
                continue  # a newer session of the same transcript is the lead its children are listed under
            out.extend(k for k in self._kids.get(key, ()) if k.session_id != lead.session_id)
        return sorted(out, key=lambda k: k.session_id)

    def lead_of(self, child: Linked) -> str | None:
        """The session id of `child`'s lead, None when it names none or none is in the workspace."""
        return named_lead(child, self._holder_of)

    def _holder_of(self, key: Key) -> str | None:
        with self._lock:
            self._read_until(lambda _day: key in self._holder)
            return self._holder.get(key)

    def _read_until(self, enough: Callable[[Day], bool]) -> None:
        """Read rows until `enough` (of the next row's day) or none is left."""
        while not self._done:
            row = self._held if self._held is not None else next(self._rows, None)
            self._held = None
            if row is None:
                self._done = True
            elif enough(row[0]):
                self._held = row
                return
            else:
                self._add(row[1])

    def _add(self, session: Path | Kin) -> None:
        kin = _read_kin(session) if isinstance(session, Path) else session
        if kin is None:
            return
        key = parent_key(kin)
        if key is not None:
            self._kids.setdefault(key, []).append(kin)
        for held in holds(kin):
            self._holder.setdefault(held, kin.session_id)


def _file_rows(ws: Workspace) -> Iterator[Row]:
    for path in iter_session_files(ws, newest_first=True):
        yield (path.parent.parent.parent.name, path.parent.parent.name, path.parent.name), path


def _read_kin(path: Path) -> Kin | None:
    from dreamcli.sessions.reader import read_first_event

    try:
        return kin_of(read_first_event(path))
    except OSError:
        return None


def _day_of_id(session_id: str) -> Day | None:
    """The day directory of a session id (a ULID); None for another id (its file may be anywhere)."""
    if len(session_id) != 26:
        return None
    try:
        day = datetime.fromtimestamp(ulid_time_ms(session_id) / 1000, UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return f"{day:%Y}", f"{day:%m}", f"{day:%d}"
