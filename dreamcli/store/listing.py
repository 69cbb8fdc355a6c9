"""`sessions list --json`, streamed: index rows decoded straight to the listing's JSON objects.

The bytes are those of `print_json({"version": 1, "sessions": [s.to_json() for s in rows], "skipped_files":
skipped})` for the rows `list_with_children` and `apply_grades` give, but no SessionSummary is built and the
whole listing is never held: a first pass reads only each row's id and lead (the limit and the tree order
need nothing else), a second pass reads the full rows in the same order and writes them in chunks, holding
back only the children that wait for their lead. Memory stays flat in the number of sessions listed.
Without a usable index the files are scanned (`list_sessions`), and the same writer prints them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from typing import Any, NamedTuple

from dreamcli.codec import loads
from dreamcli.sessions.summary import SessionFilter
from dreamcli.store.index import connect, refresh, where_clause
from dreamcli.store.index_schema import FIELDS
from dreamcli.store.tree import select_with_children
from dreamcli.workspace.home import Workspace

CHUNK = 500  # rows encoded per step
_KEYS = (*FIELDS, "tokens")
_TAGS = FIELDS.index("tags")
_IN, _OUT = FIELDS.index("input_tokens"), FIELDS.index("output_tokens")
_ENDED, _OUTCOME, _SCORE = FIELDS.index("ended"), FIELDS.index("outcome"), FIELDS.index("score")


class Light(NamedTuple):
    """What the first pass reads of a row."""

    rel: str
    session_id: str
    parent_session_id: str | None
    started: str | None


def write_json_listing(ws: Workspace, flt: SessionFilter, limit: int | None, write: Callable[[str], Any]) -> None:
    """Print the listing as `sessions list --json` does, through `write` (`sys.stdout.write`)."""
    try:
        db = connect(ws)
        if db is not None:
            refresh(ws, db)
    except sqlite3.Error:
        db = None
    if db is None:
        _write_scanned(ws, flt, limit, write)
        return
    with closing(db):
        order = _first_pass(db, flt, limit)
        grades = _grades(ws, [r.session_id for r in order])
        _write(_second_pass(db, flt, order, grades), flt.skipped, write)


def _first_pass(db: sqlite3.Connection, flt: SessionFilter, limit: int | None) -> list[Light]:
    flt.skipped.extend(p for (p,) in db.execute("SELECT path FROM sessions WHERE listable = 0 ORDER BY rel"))
    where, args = where_clause(flt)
    rows: Iterable[Light] = map(Light._make, db.execute(
        f"SELECT rel, session_id, parent_session_id, started FROM sessions WHERE {where} ORDER BY rel DESC", args))
    if flt.since is not None:  # what SessionFilter.matches adds to the SQL (an empty start, a parsed time)
        from dreamcli.sessions.summary import SessionSummary

        rows = (r for r in rows if flt.matches(SessionSummary(r.session_id, "", r.started, None, None, None,
                                                              r.parent_session_id)))
    return select_with_children(rows, limit)


def _second_pass(db: sqlite3.Connection, flt: SessionFilter, order: list[Light],
                 grades: dict[str, dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The full rows of `order`, in its order: read newest first, a row read before its turn (a child
    before its lead) waits."""
    if not order:
        return
    wanted = {r.rel for r in order}
    waiting: dict[str, tuple[Any, ...]] = {}
    at = 0
    where, args = where_clause(flt)
    sql = f"SELECT rel, {', '.join(FIELDS)} FROM sessions WHERE {where} ORDER BY rel DESC"
    for row in db.execute(sql, args):
        if row[0] not in wanted:
            continue
        waiting[row[0]] = row
        while at < len(order) and order[at].rel in waiting:
            yield _json(waiting.pop(order[at].rel)[1:], grades)
            at += 1
        if at == len(order):
            return


def _json(row: tuple[Any, ...], grades: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """SessionSummary.to_json of an index row (index_schema.from_row), its latest grade applied (apply_grades);
    `_STDLIB` set in it when msgspec might write a value otherwise than `json.dumps` (see `_plain`)."""
    data = dict(zip(FIELDS, row, strict=True))
    tags = row[_TAGS]
    data["tags"] = list(loads(tags)) if tags else []
    a, b = row[_IN], row[_OUT]
    data["tokens"] = None if a is None and b is None else (a or 0) + (b or 0)
    g = grades.get(row[0])
    if g is not None and (row[_OUTCOME] is None or g.get("ts", "") >= (row[_ENDED] or "")):
        data["outcome"] = g.get("result")
        data["score"] = g.get("score")
    if not (_plain(data["cost_usd"]) and _plain(data["score"]) and _plain(data["outcome"])) or (
            tags and ("e+" in tags or "e-" in tags or "NaN" in tags or "Infinity" in tags)):
        data[_STDLIB] = True  # tags: json.dumps wrote them, so a float in exponent form has its sign
    return data


_STDLIB = "\0stdlib"


def _plain(v: Any) -> bool:
    """True when msgspec writes `v` as `json.dumps` does: a string, an int, a bool, None, or a float that
    `repr` writes without an exponent (msgspec writes `1e16` and `1.5e-7`, json `1e+16` and `1.5e-07`; NaN
    and infinities become null). Strings are escaped alike (ensure_ascii=False)."""
    t = type(v)
    if t is float:
        return v == 0.0 or 1e-4 <= abs(v) < 1e16
    return v is None or t is str or t is int or t is bool


def _grades(ws: Workspace, session_ids: list[str]) -> dict[str, dict[str, Any]]:
    from dreamcli.outcomes.grade_index import latest_grades

    return latest_grades(ws, session_ids)


def _write_scanned(ws: Workspace, flt: SessionFilter, limit: int | None, write: Callable[[str], Any]) -> None:
    from dreamcli.sessions.summary import apply_grades, list_sessions

    rows = select_with_children(list_sessions(ws, flt), limit)
    rows = apply_grades(rows, _grades(ws, [r.session_id for r in rows]))
    _write(({**r.to_json(), _STDLIB: True} for r in rows), flt.skipped, write)  # a rare path: json.dumps


def _write(sessions: Iterable[dict[str, Any]], skipped: list[str], write: Callable[[str], Any]) -> None:
    """`print_json({"version": 1, "sessions": [...], "skipped_files": skipped})`, a chunk of sessions at a
    time: each chunk encoded as a list, indented, its brackets cut and its lines moved two levels in."""
    import json

    import msgspec

    def fmt(data: Any) -> str:
        return msgspec.json.format(json.dumps(data, ensure_ascii=False, default=str, separators=(",", ":")),
                                   indent=2)

    def fmt_rows(rows: list[dict[str, Any]]) -> str:
        """`fmt(rows)`; encoded by msgspec (5x as fast) unless a row asks for the standard library."""
        if not any(_STDLIB in r for r in rows):
            try:
                return msgspec.json.format(msgspec.json.encode(rows), indent=2).decode()
            except (TypeError, ValueError, OverflowError):  # an int past 64 bits, a lone surrogate
                pass
        for r in rows:
            r.pop(_STDLIB, None)
        return fmt(rows)

    it = iter(sessions)
    first = True
    while chunk := [row for _, row in zip(range(CHUNK), it, strict=False)]:
        text = fmt_rows(chunk)[2:-2].replace("\n", "\n  ")  # "  {\n    ...\n  }" -> one level deeper
        write(('{\n  "version": 1,\n  "sessions": [\n  ' if first else ",\n  ") + text)
        first = False
    if first:  # no sessions: "sessions": []
        write(fmt({"version": 1, "sessions": [], "skipped_files": skipped}) + "\n")
        return
    tail = fmt({"version": 1, "sessions": [0], "skipped_files": skipped})
    write("\n" + tail[tail.index('\n  ],') + 1:] + "\n")
