"""Joining grades to dreamed sessions: the latest result per (session, outcome) from
grades/grades.jsonl (read from where the last dream stopped) and, for sessions never graded
separately, the evaluations the run recorded itself. Failing criteria become patterns; entries that
were in context collect helpful/harmful counts (`add_grade`)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from functools import lru_cache
from pathlib import Path
from typing import Any

from dreamcli import codec
from dreamcli.dream.aggregates import Aggregates
from dreamcli.dream.scan import Scanned
from dreamcli.dream.session_state import SessionInfo
from dreamcli.dream.statefile import NotRegularFile, open_regular
from dreamcli.dream.text import excerpt
from dreamcli.dream.transcripts import lead_met
from dreamcli.errors import InputError
from dreamcli.outcomes.grade_record import NOT_HERE, grade_problem
from dreamcli.outcomes.store import grades_path
from dreamcli.sessions.lineage import kin_of
from dreamcli.sessions.paths import session_path
from dreamcli.sessions.reader import read_first_event
from dreamcli.workspace.home import Workspace


@lru_cache(maxsize=64)
def descriptions(path: str) -> dict[str, str]:
    """Criterion id -> its description in the outcome spec at `path` ({} when it cannot be read)."""
    from dreamcli.outcomes.spec import load_spec

    try:
        spec = load_spec(Path(path))
    except (InputError, OSError, ValueError, RecursionError):
        return {}
    return {c.id: " ".join(c.description.split()) for c in spec.criteria if c.description}


def _task_spec(ws: Workspace, session_id: str) -> str | None:
    """The outcome spec a run's task named (session.start `task.outcome`), for a run's own evaluations."""
    from dreamcli.outcomes.selection import task_outcome_path

    return task_outcome_path(session_path(ws, session_id))


def grades_size(ws: Workspace) -> int:
    try:
        return grades_path(ws).stat().st_size
    except OSError:
        return 0


_MALFORMED = object()


def _decode(raw: bytes) -> Any:
    """One grades.jsonl line as `json.loads` reads it (the fast codec first), or _MALFORMED."""
    try:
        return codec.loads_as_json_reads(raw)
    except ValueError:
        return _MALFORMED


def _records(ws: Workspace, offset: int, *, only: Collection[str] | None = None,
             until: int | None = None) -> tuple[dict[tuple[str, str], dict[str, Any]], int]:
    """The latest record per (session, outcome) after `offset` (compacted to what the dream uses:
    result, ts and the failing criteria), and the offset after the last whole line read; with `only`, of
    those sessions, and with `until`, of the lines before that offset."""
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    end = offset
    path = grades_path(ws)
    try:
        f = open_regular(path)  # streamed line by line, closed below
    except NotRegularFile:  # a FIFO hung the dream, holding its lock
        raise InputError("not a regular file (a FIFO, a directory or a device?); expected the grades log",
                         file=str(path)) from None
    except OSError:
        return latest, offset
    with f:
        f.seek(offset)
        for raw in f:
            if not raw.endswith(b"\n") or (until is not None and end >= until):
                break  # a line being appended right now is read next time
            end += len(raw)
            if only is not None and not any(sid.encode() in raw for sid in only):
                continue  # not one of theirs: not decoded
            rec = _decode(raw)
            if rec is _MALFORMED or grade_problem(rec) is not None:
                continue
            if only is not None and rec["session_id"] not in only:
                continue
            if rec.get("result") == "partial" or rec.get("skipped") or _judged_unrunnable(rec):
                continue  # criteria not judged (--checks-only, a workdir not here): evidence neither way
            key = (rec["session_id"], str(rec.get("outcome") or ""))
            ts = str(rec.get("ts", ""))
            prev = latest.get(key)
            if prev is None or ts >= prev["ts"]:
                failing = [{"id": c.get("id"), "passed": False, "reason": c.get("reason")}
                           for c in rec.get("criteria") or [] if isinstance(c, dict) and c.get("passed") is False]
                latest[key] = {"ts": ts, "result": rec.get("result"), "criteria": failing,
                               "spec": rec.get("outcome_path")}
    return latest, end


def _judged_unrunnable(rec: dict[str, Any]) -> bool:
    """A grade stored before checks of a workdir that is not here went unjudged: it failed them with
    `checks.NOT_HERE` as the reason. It would be partial now, and teaches nothing either way."""
    return any(isinstance(c, dict) and c.get("passed") is False and isinstance(c.get("reason"), str)
               and c["reason"].endswith(NOT_HERE) for c in rec.get("criteria") or [])


def _old_session(ws: Workspace, agg: Aggregates, sid: str, scope: Callable[[dict[str, Any]], bool],
                 playbook: str) -> SessionInfo | None:
    """Info for a session dreamed earlier that got a new grade since."""
    path = session_path(ws, sid)
    try:
        start = read_first_event(path)
    except OSError:
        return None
    if not start or start.get("type") != "session.start":
        return None
    parent = start.get("parent_session_id")
    kin = kin_of(start) if isinstance(start.get("import"), dict) else None
    lead = lead_met(agg, kin) if kin is not None else parent if isinstance(parent, str) else None
    if not scope(start) and not (lead is not None and lead in agg.episodes):  # a sub-agent follows its lead
        return None
    entry_ids = [str(i) for pb in start.get("playbooks") or []
                 if isinstance(pb, dict) and pb.get("playbook") == playbook and isinstance(pb.get("entry_ids"), list)
                 for i in pb["entry_ids"] if isinstance(i, str | int)]
    episode = agg.episode_of(sid, parent if isinstance(parent, str) else None)
    task = start.get("task")
    return SessionInfo(sid, episode, task.get("name") if isinstance(task, dict) else None, entry_ids, start.get("ts"))


def join(ws: Workspace, agg: Aggregates, read: Scanned, *, offset: int, include_old: bool,
         scope: Callable[[dict[str, Any]], bool], playbook: str) -> tuple[int, int]:
    """Add grades to `agg`; returns the number of sessions with a scored grade taken into account and the
    offset in grades.jsonl up to which records were read."""
    records, new_offset = _records(ws, offset)
    if offset and read.waited:  # read in scope only now: their grades an earlier dream read and passed over
        for key, rec in _records(ws, 0, only=read.waited, until=offset)[0].items():
            if key not in records or rec["ts"] > records[key]["ts"]:  # as one read would keep (`_records`)
                records[key] = rec
    graded: set[str] = set()
    for (sid, outcome), rec in records.items():
        info = read.info(sid)
        if info is None and include_old:
            info = _old_session(ws, agg, sid, scope, playbook)
        if info is None or info.skipped or info.deferred:
            continue
        if add_grade(agg, info, outcome, rec.get("result"), rec.get("criteria") or [], rec.get("ts"), rec.get("spec")):
            graded.add(sid)
    for info in read.infos.values():
        if info.skipped or info.deferred:
            continue
        for outcome, (_it, result, criteria, ts) in info.evaluations.items():
            if (info.session_id, outcome) in records:
                continue
            mapped = {"satisfied": "satisfied", "needs_revision": "needs_revision", "failed": "needs_revision",
                      "max_iterations_reached": "needs_revision"}.get(str(result))
            spec = _task_spec(ws, info.session_id) if criteria else None
            if add_grade(agg, info, outcome, mapped, criteria, ts, spec):
                graded.add(info.session_id)
    return len(graded), new_offset


def add_grade(agg: Aggregates, info: SessionInfo, outcome: str, result: str | None,
              criteria: list[dict[str, Any]], ts: str | None, spec: Any = None) -> bool:
    """A graded (session, outcome): failing criteria become patterns; entries in context get used.
    `spec`: the outcome spec's path the grade names, if any: a criterion's pattern takes the spec's
    description of it as its template (what a passing run does), else it stays the criterion's id.
    False for an unscored result, which counts for nothing (not even as graded, in the dream's headline)."""
    if result in (None, "error", "interrupted"):
        return False  # unscored: never counted either way
    agg.graded.setdefault(outcome, set()).add(info.episode)
    described = descriptions(spec) if criteria and isinstance(spec, str) and spec else {}
    for c in criteria:
        cid = c.get("id")
        if not isinstance(cid, str) or c.get("passed") is not False:
            continue
        pat = agg.pattern("criterion", f"{outcome}|{cid}", outcome, cid)
        if described.get(cid):
            pat.template = described[cid]
        reason = str(c.get("reason") or "")
        seq = c.get("seq")  # the outcome.evaluation line, when the run recorded it in its log
        pat.observe(info.episode, info.session_id, ts,
                    {"session_id": info.session_id, "seq": seq if isinstance(seq, int) else None,
                     "excerpt": excerpt(f"{cid}: {reason}", redact=agg.redact)})
        if reason:
            pat.example(excerpt(reason, 200, redact=agg.redact))
    passed = result == "satisfied"
    for entry_id in info.entry_ids:
        agg.use_entry(entry_id, info.episode, passed)
    return True
