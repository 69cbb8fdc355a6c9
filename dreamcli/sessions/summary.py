"""Session summaries for listings, read from the first and last lines only (never the whole file).

A sub-agent is a session with a `parent_session_id`, or an imported one whose session.start names its lead's
transcript only (`import.parent_source_id`: a Codex or Claude Code child imported in another run than its
lead). A listing names such a child's lead as its parent_session_id when it finds that lead: the session of
the same `source` whose `import.source_id` is that id (`ImportLinks`, by the rule of
dreamcli.sessions.lineage; the session index's twin is `dreamcli.store.index_schema.LEAD`)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from dreamcli.numbers import held
from dreamcli.sessions import schema
from dreamcli.textnorm import same_name
from dreamcli.timeutil import parse_ts
from dreamcli.workspace.home import Workspace

if TYPE_CHECKING:
    from dreamcli.sessions.lineage import Key


@dataclass
class SessionSummary:
    session_id: str
    path: str
    started: str | None
    task: str | None
    source: str | None
    model: str | None
    parent_session_id: str | None
    tags: list[str] = field(default_factory=list)
    pilot: dict[str, Any] | None = None  # a `dreamcli pilot` trial's {id, arm, trial} (`pilot_tag`), else None
    status: str = "incomplete"  # session.end status, or "incomplete" when the log has no end
    ended: str | None = None
    turns: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    tool_errors: int | None = None
    outcome: str | None = None  # the final outcome result recorded by the run, or the latest grade
    score: float | None = None
    # session.start `import.source_id` and `import.parent_source_id` (not in the listing's JSON): how a
    # sub-agent imported apart from its lead is known, and its lead found
    import_source_id: str | None = None
    import_parent_source_id: str | None = None

    @property
    def is_subagent(self) -> bool:
        return bool(self.parent_session_id or self.import_parent_source_id)

    @property
    def tokens(self) -> int | None:
        if self.input_tokens is None and self.output_tokens is None:
            return None
        return (self.input_tokens or 0) + (self.output_tokens or 0)

    def to_json(self) -> dict[str, Any]:
        """The fields in declaration order (what `dataclasses.asdict` gives, without its deep copy) and `tokens`."""
        data = {name: getattr(self, name) for name in _SUMMARY_FIELDS}
        data["tags"] = list(self.tags)
        data["pilot"] = None if self.pilot is None else dict(self.pilot)
        data["tokens"] = self.tokens
        return data


_SUMMARY_FIELDS = tuple(f.name for f in fields(SessionSummary) if not f.name.startswith("import_"))


def summarize(path: Path) -> SessionSummary | None:
    """Summary of one session file; None if its first line is not a readable session.start."""
    from dreamcli.sessions.reader import read_first_and_last  # not for a listing from the index

    try:
        first, last = read_first_and_last(path)
    except OSError:
        return None
    if first is None or first.get("type") != schema.SESSION_START:
        return None
    from dreamcli.codec import utf8_safe

    # a lone surrogate escape (a cut emoji another tool wrote) as U+FFFD: no UTF-8 text (the session index,
    # stdout) holds it, and one such file must not break a listing of every session
    first, last = utf8_safe([first, last])
    task = first.get("task") or {}
    summary = SessionSummary(
        session_id=first.get("session_id") or path.stem,
        path=str(path),
        started=first.get("ts"),
        task=task.get("name") if isinstance(task, dict) else None,
        source=first.get("source"),
        model=first.get("model"),
        parent_session_id=first.get("parent_session_id"),
        tags=list(first.get("tags") or []),
        pilot=pilot_tag(first.get("pilot")),
    )
    info = first.get("import")
    if isinstance(info, dict):
        summary.import_source_id = _text(info.get("source_id"))
        summary.import_parent_source_id = _text(info.get("parent_source_id"))
    if last is not None and last.get("type") == schema.SESSION_END:
        totals = last.get("totals") or {}
        summary.status = str(last.get("status") or "completed")
        summary.ended = last.get("ts")
        summary.turns = held(totals.get("turns"))
        summary.input_tokens = held(totals.get("input_tokens"))
        summary.output_tokens = held(totals.get("output_tokens"))
        summary.cost_usd = held(totals.get("cost_usd"))
        summary.tool_errors = held(totals.get("tool_errors"))
        outcome = last.get("outcome")
        if isinstance(outcome, dict):
            summary.outcome = outcome.get("result")
            summary.score = held(outcome.get("score"))
    return summary


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def pilot_tag(value: Any) -> dict[str, Any] | None:
    """session.start `pilot` as listings show it: {id, arm, trial}, a field of the wrong type as None; None
    when the session is no trial. Any other true value still marks a trial, as `dream` and `grade` read it."""
    if not value:
        return None
    tag = value if isinstance(value, dict) else {}
    trial = tag.get("trial")
    return {"id": _text(tag.get("id")), "arm": _text(tag.get("arm")),
            "trial": trial if type(trial) is int and held(trial) is not None else None}


_FILLED = ("skipped", "skipped_pilot")  # the SessionFilter fields a listing fills: no condition


@dataclass
class SessionFilter:
    """Which sessions a listing shows, judged on their summaries (`matches`): `sessions list`, `grade --last`
    and `--since`, on the scan and on the session index alike. Not the store's `StoreFilter`
    (dreamcli.store.base), which picks a backend's raw session ids by id time and sealing before any file
    is read (a dream's selection, after its watermark).

    `matches` is the one definition of a filter: the index's SQL (`store.index_query.where_clause`) only
    narrows the rows first, and every reader, `sessions list --json` included, runs `matches` on what it
    lists. A new condition goes into `matches`, the summary fields it reads into READS, and a case into
    FILTERS in tests/store/test_listing_stream.py (tests/store/test_listing_filter.py checks the first two)."""

    # The SessionSummary fields `matches` reads for each condition when it is set: what `sessions list --json`
    # reads of an index row to run `matches` (dreamcli.store.listing, which always reads the tree's fields).
    READS: ClassVar[dict[str, tuple[str, ...]]] = {
        "since": ("started",), "status": ("status",), "task": ("task",), "source": ("source",),
        "include_children": ("parent_session_id", "import_parent_source_id"),
        "include_pilot": ("pilot", "session_id", "parent_session_id", "import_parent_source_id")}

    since: datetime | None = None
    status: str | None = None
    task: str | None = None
    include_children: bool = True
    source: str | None = None
    include_pilot: bool = True  # `dreamcli pilot` trials too (`sessions list` leaves them out by default)
    skipped: list[str] = field(default_factory=list)  # filled while listing: files with no readable start
    skipped_pilot: list[str] = field(default_factory=list)  # filled while matching: the trials left out (leads)

    def reads(self) -> tuple[str, ...]:
        """The summary fields `matches` reads with this filter: READS of each condition not at its default."""
        conditions = (f.name for f in fields(self) if f.name not in _FILLED and getattr(self, f.name) != f.default)
        return tuple(dict.fromkeys(r for name in conditions for r in self.READS[name]))

    def matches(self, s: SessionSummary) -> bool:
        if self.status and s.status != self.status:
            return False
        if self.task and not same_name(s.task, self.task):
            return False
        if self.source and s.source != self.source:
            return False
        if not self.include_children and s.is_subagent:
            return False
        if self.since and s.started:
            try:
                if parse_ts(s.started) < self.since:
                    return False
            except ValueError:
                return False
        if not self.include_pilot and s.pilot is not None:  # a trial that matches all else: counted as left out
            if not s.is_subagent:  # a trial's sub-agents carry its tags: left out with it, not counted again
                self.skipped_pilot.append(s.session_id)
            return False
        return True


def list_sessions(
    ws: Workspace, flt: SessionFilter | None = None, *, limit: int | None = None, newest_first: bool = True
) -> Iterator[SessionSummary]:
    """Summaries of matching sessions, newest first by default, stopping after `limit` matches.

    A listed sub-agent that names its lead by transcript only gets its lead's session id as its
    parent_session_id (`ImportLinks`) when the scan meets that lead, listed or not: newest first, after the
    child was yielded, so read the rows' parents once done (or stopped). The days before `since` are read
    for a lead only while a listed child waits for one."""
    from dreamcli.sessions.paths import iter_session_files

    flt = flt or SessionFilter()
    links = ImportLinks()
    n = 0
    files = iter_session_files(ws, newest_first=newest_first)
    for path in files:
        if flt.since is not None and _day_before(path, flt.since):
            if newest_first:
                links.search(itertools.chain([path], files))
                return
            continue
        s = summarize(path)
        if s is None:
            flt.skipped.append(str(path))
            continue
        links.saw(s)
        if not flt.matches(s):
            continue
        links.listed(s)
        yield s
        n += 1
        if limit is not None and n >= limit:
            return
    if flt.since is not None and not newest_first:  # the days skipped first: read for a lead still waited for
        since = flt.since
        links.search(p for p in iter_session_files(ws, newest_first=True) if _day_before(p, since))


class ImportLinks:
    """The leads of the imported sub-agents a scan lists, by the rule of dreamcli.sessions.lineage: a listed session
    that names its lead by transcript only (`parent_key`) gets, as its parent_session_id, the session id of the
    session holding that transcript (`holds`) whose file is last in file order (as the session index's LEAD
    picks), in whatever order the scan meets them."""

    def __init__(self) -> None:
        from dreamcli.sessions.lineage import holds, parent_key  # the scan's only: an indexed listing never loads it

        self._holds, self._parent_key = holds, parent_key
        self._leads: dict[Key, tuple[str, str]] = {}  # transcript -> (path, session id) of its holder
        self._children: dict[Key, list[SessionSummary]] = {}

    def saw(self, s: SessionSummary) -> None:
        """`s` was read, listed or not: the lead, maybe, of children listed before or after it."""
        for key in self._holds(s):
            known = self._leads.get(key)
            if known is not None and known[0] >= s.path:
                continue
            self._leads[key] = (s.path, s.session_id)
            for child in self._children.get(key, ()):
                child.parent_session_id = s.session_id

    def listed(self, s: SessionSummary) -> None:
        """`s` is listed: a sub-agent known by its lead's transcript only is linked now, or when its lead is met."""
        key = self._parent_key(s)
        if key is None or key[0] != "transcript":
            return
        self._children.setdefault(key, []).append(s)
        known = self._leads.get(key)
        if known is not None:
            s.parent_session_id = known[1]

    def waiting(self) -> bool:
        return any(key not in self._leads for key in self._children)

    def search(self, paths: Iterable[Path]) -> None:
        """Read `paths` (files a listing does not list, newest first) for the leads still waited for, stopping
        when none is."""
        if not self.waiting():
            return
        for path in paths:
            s = summarize(path)
            if s is not None and s.import_source_id:
                self.saw(s)
                if not self.waiting():
                    return


def _day_before(path: Path, since: datetime) -> bool:
    """True when the whole day directory of `path` is before `since` (skip without opening)."""
    try:
        y, m, d = int(path.parent.parent.parent.name), int(path.parent.parent.name), int(path.parent.name)
    except ValueError:
        return False
    return (y, m, d) < (since.year, since.month, since.day)


class SkippedKind(NamedTuple):
    """One kind of file a listing skipped: how many files, why, and an example (the first)."""

    files: int
    why: str
    example: str


def skipped_kinds(skipped: Iterable[str], cannot_read: Callable[[str], str | None] | None = None) -> list[SkippedKind]:
    """The files a listing skipped (`SessionFilter.skipped`) by kind: those that cannot be opened (no
    permission: the OS's reason, which `cannot_read` gives, in the example), then those whose first line
    is no readable session.start."""
    skipped = list(skipped)
    if not skipped:
        return []
    why_not: Callable[[str], str | None]
    if cannot_read is None:
        from dreamcli.sessions.reader import cannot_read as why_not  # only when files were skipped
    else:
        why_not = cannot_read
    unreadable: list[str] = []
    corrupt: list[str] = []
    for path in skipped:
        why = why_not(path)
        if why is None:
            corrupt.append(path)
        else:
            unreadable.append(f"{path}: {why}")
    kinds = [SkippedKind(len(unreadable), "unreadable", unreadable[0])] if unreadable else []
    if corrupt:
        kinds.append(SkippedKind(len(corrupt), "corrupt or wrong-typed first line", corrupt[0]))
    return kinds


def grade_shown(grade: dict[str, Any], outcome: Any, ended: str | None) -> bool:
    """Whether a listing shows the session's latest grade instead of the outcome its run recorded: when the run
    recorded none, or the grade was made after the run ended (`dreamcli grade`). `run --outcome` appends its
    own grade before its session.end, often in the same millisecond: its outcome stands, as `run` printed it.
    The session index's listing (dreamcli.store.listing) applies this rule too."""
    return outcome is None or grade.get("ts", "") > (ended or "")


def apply_grades(summaries: Iterable[SessionSummary], grades: dict[str, dict[str, Any]]) -> list[SessionSummary]:
    """Fill `outcome`/`score` from the latest stored grade where the run itself recorded none (`grade_shown`)."""
    out = []
    for s in summaries:
        g = grades.get(s.session_id)
        if g is not None and grade_shown(g, s.outcome, s.ended):
            s.outcome = g.get("result")
            s.score = held(g.get("score"))
        out.append(s)
    return out
