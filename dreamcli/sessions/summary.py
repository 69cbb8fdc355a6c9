"""Session summaries for listings, read from the first and last lines only (never the whole file)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any

from dreamcli.numbers import held
from dreamcli.sessions import schema
from dreamcli.timeutil import parse_ts
from dreamcli.workspace.home import Workspace


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
    status: str = "incomplete"  # session.end status, or "incomplete" when the log has no end
    ended: str | None = None
    turns: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    tool_errors: int | None = None
    outcome: str | None = None  # the final outcome result recorded by the run, or the latest grade
    score: float | None = None

    @property
    def tokens(self) -> int | None:
        if self.input_tokens is None and self.output_tokens is None:
            return None
        return (self.input_tokens or 0) + (self.output_tokens or 0)

    def to_json(self) -> dict[str, Any]:
        """The fields in declaration order (what `dataclasses.asdict` gives, without its deep copy) and `tokens`."""
        data = {name: getattr(self, name) for name in _SUMMARY_FIELDS}
        data["tags"] = list(self.tags)
        data["tokens"] = self.tokens
        return data


_SUMMARY_FIELDS = tuple(f.name for f in fields(SessionSummary))


def summarize(path: Path) -> SessionSummary | None:
    """Summary of one session file; None if its first line is not a readable session.start."""
    from dreamcli.sessions.reader import read_first_and_last  # not for a listing from the index

    try:
        first, last = read_first_and_last(path)
    except OSError:
        return None
    if first is None or first.get("type") != schema.SESSION_START:
        return None
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
    )
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


@dataclass
class SessionFilter:
    since: datetime | None = None
    status: str | None = None
    task: str | None = None
    include_children: bool = True
    source: str | None = None
    skipped: list[str] = field(default_factory=list)  # filled while listing: files with no readable start

    def matches(self, s: SessionSummary) -> bool:
        if self.status and s.status != self.status:
            return False
        if self.task and s.task != self.task:
            return False
        if self.source and s.source != self.source:
            return False
        if not self.include_children and s.parent_session_id:
            return False
        if self.since and s.started:
            try:
                if parse_ts(s.started) < self.since:
                    return False
            except ValueError:
                return False
        return True


def list_sessions(
    ws: Workspace, flt: SessionFilter | None = None, *, limit: int | None = None, newest_first: bool = True
) -> Iterator[SessionSummary]:
    """Summaries of matching sessions, newest first by default, stopping after `limit` matches."""
    from dreamcli.sessions.paths import iter_session_files

    flt = flt or SessionFilter()
    n = 0
    for path in iter_session_files(ws, newest_first=newest_first):
        if flt.since is not None and _day_before(path, flt.since):
            if newest_first:
                break
            continue
        s = summarize(path)
        if s is None:
            flt.skipped.append(str(path))
            continue
        if not flt.matches(s):
            continue
        yield s
        n += 1
        if limit is not None and n >= limit:
            return


def _day_before(path: Path, since: datetime) -> bool:
    """True when the whole day directory of `path` is before `since` (skip without opening)."""
    try:
        y, m, d = int(path.parent.parent.parent.name), int(path.parent.parent.name), int(path.parent.name)
    except ValueError:
        return False
    return (y, m, d) < (since.year, since.month, since.day)


def apply_grades(summaries: Iterable[SessionSummary], grades: dict[str, dict[str, Any]]) -> list[SessionSummary]:
    """Fill `outcome`/`score` from the latest stored grade where the run itself recorded none."""
    out = []
    for s in summaries:
        g = grades.get(s.session_id)
        if g is not None and (s.outcome is None or g.get("ts", "") >= (s.ended or "")):
            s.outcome = g.get("result")
            s.score = held(g.get("score"))
        out.append(s)
    return out
