"""`sessions list --json`, streamed from the session index: each row's printed JSON kept in the index.

The bytes are those of `print_json({"version": 1, "sessions": [s.to_json() for s in rows], "skipped_files":
skipped})` for the rows `list_with_children` and `apply_grades` give, but no SessionSummary is built, nothing
is encoded per row and the listing is never held whole: a first pass reads only each row's id and lead (the
limit and the tree order need nothing else), a second pass reads, in the same order, each row's head (its
JSON as printed up to `tool_errors`, written when the row was indexed: index_schema.listing_head) and the
values a grade may replace, and writes the rows in chunks, holding back only children waiting for their
lead. An imported sub-agent linked to its lead by transcript (index_schema.LEAD) has a head that names no
parent: it is printed from its whole row, its lead named. The first pass filters as every listing does: the
SQL narrows the rows (index_query.where_clause), then SessionFilter.matches judges each one, read as a summary
of the fields it reads (SessionFilter.READS), so `dreamcli pilot` trials are left out (and named in
`skipped_pilot`) unless the filter includes them. Without a usable index the files are scanned
(`list_sessions`) and the same writer prints them.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from functools import partial
from typing import Any, NamedTuple

from dreamcli.numbers import held
from dreamcli.sessions.summary import SessionFilter, SessionSummary, grade_shown
from dreamcli.store.index import fresh_connection
from dreamcli.store.index_query import where_clause
from dreamcli.store.index_schema import FIELDS, LEAD, indented, pilot_of, tags_of
from dreamcli.store.tree import select_with_children
from dreamcli.workspace.home import Workspace

CHUNK = 500  # rows encoded per step
_TAGS, _PILOT = FIELDS.index("tags"), FIELDS.index("pilot")
_IN, _OUT = FIELDS.index("input_tokens"), FIELDS.index("output_tokens")
_ENDED, _OUTCOME = FIELDS.index("ended"), FIELDS.index("outcome")


class Light(NamedTuple):
    """What the first pass reads of a row."""

    rel: str
    session_id: str
    parent_session_id: str | None  # as listings show it (index_schema.LEAD)
    import_parent_source_id: str | None
    own_parent: str | None  # the row's own parent_session_id column


def write_json_listing(ws: Workspace, flt: SessionFilter, limit: int | None, write: Callable[[str], Any]) -> None:
    """Print the listing as `sessions list --json` does, through `write` (`sys.stdout.write`)."""
    db = fresh_connection(ws)
    if db is None:
        _write_scanned(ws, flt, limit, write)
        return
    with closing(db):
        order = _first_pass(db, flt, limit)
        grades = _grades(ws, [r.session_id for r in order])
        _write(_second_pass(db, flt, order, grades), flt, write)


def _first_pass(db: sqlite3.Connection, flt: SessionFilter, limit: int | None) -> list[Light]:
    flt.skipped.extend(p for (p,) in db.execute("SELECT path FROM sessions WHERE listable = 0 ORDER BY rel"))
    where, args = where_clause(flt)
    reads = tuple(dict.fromkeys((*_TREE, *flt.reads())))
    columns = ", ".join(LEAD if f == "parent_session_id" else f"s.{f}" for f in reads)
    rows = db.execute(f"SELECT s.rel, s.parent_session_id, {columns} FROM sessions s WHERE {where} "
                      "ORDER BY s.rel DESC", args)
    return select_with_children(_matching(rows, reads, flt), limit)


_TREE = ("session_id", "parent_session_id", "import_parent_source_id")  # what select_with_children reads
_SUMMARY = partial(SessionSummary, session_id="", path="", started=None, task=None, source=None, model=None,
                   parent_session_id=None)  # SessionSummary's fields without a default, as the rest defaults them
_DECODE: dict[str, Callable[[Any], Any]] = {"tags": tags_of, "pilot": pilot_of}


def _matching(rows: Iterable[tuple[Any, ...]], reads: tuple[str, ...], flt: SessionFilter) -> Iterator[Light]:
    """The rows `flt.matches` takes, each judged as a SessionSummary of the columns `reads` names (decoded
    as `from_row` decodes them), lazily: the trials it leaves out are counted only up to the listing's limit."""
    decode = [(i, _DECODE[f]) for i, f in enumerate(reads) if f in _DECODE]
    matches = flt.matches
    for rel, own_parent, *values in rows:
        for i, fn in decode:
            values[i] = fn(values[i])
        s = _SUMMARY(**dict(zip(reads, values, strict=True)))
        if matches(s):
            yield Light(rel, s.session_id, s.parent_session_id, s.import_parent_source_id, own_parent)


def _second_pass(db: sqlite3.Connection, flt: SessionFilter, order: list[Light],
                 grades: dict[str, dict[str, Any]]) -> Iterator[str]:
    """Each row of `order` as the listing prints it, in its order: read newest first, a row read before
    its turn (a child before its lead) waits."""
    if not order:
        return
    wanted = {r.rel for r in order}
    linked = {r.rel: r.parent_session_id for r in order if r.parent_session_id != r.own_parent}
    waiting: dict[str, str] = {}
    at = 0
    where, args = where_clause(flt)
    sql = (f"SELECT rel, session_id, head, outcome, score, ended, input_tokens, output_tokens FROM sessions "
           f"WHERE {where} ORDER BY rel DESC")
    for row in db.execute(sql, args):
        rel = row[0]
        if rel not in wanted:
            continue
        if row[2] is not None and rel not in linked:
            waiting[rel] = _text(row, grades)
        else:  # no head (tags that do not decode), or a lead its head does not name: read the row as from_row does
            full = db.execute(f"SELECT {', '.join(FIELDS)} FROM sessions WHERE rel = ?", (rel,)).fetchone()
            data = _json(full, grades)
            if rel in linked:
                data["parent_session_id"] = linked[rel]
            waiting[rel] = indented(data, 2)
        while at < len(order) and order[at].rel in waiting:
            yield waiting.pop(order[at].rel)
            at += 1
        if at == len(order):
            return


def _text(row: tuple[Any, ...], grades: dict[str, dict[str, Any]]) -> str:
    """SessionSummary.to_json, apply_grades applied, as the listing prints it: the stored head
    (index_schema.listing_head) and what follows it."""
    _, sid, head, outcome, score, ended, a, b = row
    g = grades.get(sid)
    if g is not None and grade_shown(g, outcome, ended):
        outcome, score = g.get("result"), held(g.get("score"))
    tokens = None if a is None and b is None else (a or 0) + (b or 0)
    o = "null" if outcome is None else _STRINGS.get(outcome) if type(outcome) is str else None
    s = repr(score) if type(score) is float and score - score == 0.0 else None  # finite: json writes its repr
    return (f'{head},\n      "outcome": {_value(outcome) if o is None else o},\n      "score": '
            f'{_value(score) if s is None else s},\n      "tokens": {tokens if type(tokens) is int else _value(tokens)}'
            '\n    }')


_STRINGS: dict[str, str] = {}  # outcome strings: few distinct


def _value(v: Any) -> str:
    """`v` as a value of a listed session (`indented(v, 3)`), faster for the usual values."""
    if v is None:
        return "null"
    t = type(v)
    if t is float and v - v == 0.0:  # finite: json writes float.__repr__
        return repr(v)
    if t is int:
        return int.__repr__(v)
    if t is str:
        got = _STRINGS.get(v)
        if got is None:
            got = indented(v, 3)
            if len(_STRINGS) < 64:
                _STRINGS[v] = got
        return got
    return indented(v, 3)


def _json(row: tuple[Any, ...], grades: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """SessionSummary.to_json of an index row (index_schema.from_row), its latest grade applied (apply_grades)."""
    data = dict(zip(FIELDS, row, strict=True))
    tags = row[_TAGS]
    data["tags"] = list(tags_of(tags))
    data["pilot"] = pilot_of(row[_PILOT])
    a, b = row[_IN], row[_OUT]
    data["tokens"] = None if a is None and b is None else (a or 0) + (b or 0)
    g = grades.get(row[0])
    if g is not None and grade_shown(g, row[_OUTCOME], row[_ENDED]):
        data["outcome"] = g.get("result")
        data["score"] = held(g.get("score"))
    return data


def _grades(ws: Workspace, session_ids: list[str]) -> dict[str, dict[str, Any]]:
    from dreamcli.outcomes.grade_index import latest_grades

    return latest_grades(ws, session_ids)


def _write_scanned(ws: Workspace, flt: SessionFilter, limit: int | None, write: Callable[[str], Any]) -> None:
    from dreamcli.sessions.summary import apply_grades, list_sessions

    rows = select_with_children(list_sessions(ws, flt), limit)
    rows = apply_grades(rows, _grades(ws, [r.session_id for r in rows]))
    _write((indented(r.to_json(), 2) for r in rows), flt, write)


def _write(sessions: Iterable[str], flt: SessionFilter, write: Callable[[str], Any]) -> None:
    """`print_json({"version": 1, "sessions": [...], "skipped_files": flt.skipped, "skipped_pilot":
    flt.skipped_pilot})` given each session as it prints there (`indented(session, 2)`), a chunk at a time:
    the skipped are read once the sessions are written."""
    it = iter(sessions)
    first = True
    while chunk := [row for _, row in zip(range(CHUNK), it, strict=False)]:
        write(('{\n  "version": 1,\n  "sessions": [\n    ' if first else ",\n    ") + ",\n    ".join(chunk))
        first = False
    doc = json.dumps({"version": 1, "sessions": [] if first else [0], "skipped_files": flt.skipped,
                      "skipped_pilot": flt.skipped_pilot}, indent=2, ensure_ascii=False, default=str)
    write((doc if first else "\n" + doc[doc.index("\n  ],") + 1:]) + "\n")  # no sessions: "sessions": []
