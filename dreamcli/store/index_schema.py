"""The session index's table and the mapping between its rows and SessionSummary."""

from __future__ import annotations

from typing import Any

from dreamcli.sessions.summary import SessionSummary, pilot_tag
from dreamcli.timeutil import parse_ts

INDEX_VERSION = 7  # PRAGMA user_version: an index of another version is dropped and built again from the files
SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    rel TEXT PRIMARY KEY,            -- YYYY/MM/DD/<file stem>: the order of the files
    day TEXT NOT NULL,
    path TEXT NOT NULL,
    size INTEGER, mtime_ns INTEGER,
    listable INTEGER NOT NULL DEFAULT 1,
    session_id TEXT, started TEXT, started_ms INTEGER, task TEXT, source TEXT, model TEXT,
    parent_session_id TEXT, tags TEXT, status TEXT, ended TEXT, turns INTEGER,
    pilot TEXT,  -- a `dreamcli pilot` trial's session.start `pilot` as JSON ({id, arm, trial}: pilot_tag), else NULL
    input_tokens INTEGER, output_tokens INTEGER, cost_usd REAL, tool_errors INTEGER, outcome TEXT, score REAL,
    import_source_id TEXT, import_parent_source_id TEXT,  -- session.start `import`: see LEAD
    head TEXT  -- listing_head: the row as `sessions list --json` prints it, up to its outcome
);
CREATE INDEX IF NOT EXISTS sessions_day ON sessions (day);
CREATE INDEX IF NOT EXISTS sessions_started ON sessions (started_ms);
CREATE INDEX IF NOT EXISTS sessions_status ON sessions (status);
CREATE INDEX IF NOT EXISTS sessions_tree ON sessions (rel, session_id, parent_session_id, import_parent_source_id,
    source) WHERE listable = 1;
CREATE INDEX IF NOT EXISTS sessions_import ON sessions (source, import_source_id, rel)
    WHERE import_source_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS days (day TEXT PRIMARY KEY, mtime_ns INTEGER);
-- the workspace the rows were listed in (its path as given, device and inode): rows hold absolute paths,
-- so a copied, moved or unpacked workspace lists its own files again instead of trusting these
CREATE TABLE IF NOT EXISTS owner (id INTEGER PRIMARY KEY CHECK (id = 0), root TEXT, dev INTEGER, ino INTEGER);
"""

FIELDS = ("session_id", "path", "started", "task", "source", "model", "parent_session_id", "tags", "pilot",
          "status", "ended", "turns", "input_tokens", "output_tokens", "cost_usd", "tool_errors", "outcome", "score")
IMPORT_FIELDS = ("import_source_id", "import_parent_source_id")  # SessionSummary's, not in the listing's JSON
COLUMNS = ("rel", "day", "size", "mtime_ns", "started_ms", *FIELDS, *IMPORT_FIELDS)

# A row's parent_session_id as listings show it: the rule of dreamcli.sessions.lineage (`named_lead`, which the
# scan's summary.ImportLinks follows) in SQL, one correlated query for the whole listing; the two are checked
# against each other on a table of cases (tests/sessions/test_lead_rule.py). Its own, or for an imported
# sub-agent that names its lead by transcript only (`import.parent_source_id`), the session id of the session of
# its source whose `import.source_id` that is (the last in file order), if there is one.
LEAD = ("CASE WHEN s.import_parent_source_id IS NULL OR s.source IS NULL OR s.source = '' OR s.parent_session_id != '' "
        "THEN s.parent_session_id ELSE COALESCE((SELECT l.session_id FROM sessions l WHERE l.source = s.source "
        "AND l.import_source_id = s.import_parent_source_id AND l.listable = 1 ORDER BY l.rel DESC LIMIT 1), "
        "s.parent_session_id) END")
# the columns read back into a SessionSummary (`from_row`), from `sessions s`, parent_session_id as LEAD
SELECT = ", ".join(LEAD if c == "parent_session_id" else f"s.{c}" for c in COLUMNS)


def _ms(started: Any) -> int | None:
    if not isinstance(started, str):
        return None
    try:
        return int(parse_ts(started).timestamp() * 1000)
    except ValueError:
        return None  # unparsable: a --since filter excludes it, as the scan does


def to_row(rel: str, s: SessionSummary, size: int, mtime_ns: int) -> tuple[Any, ...]:
    values = {f: getattr(s, f) for f in FIELDS}
    values["tags"] = "[]" if s.tags == [] else _dumps(s.tags, ensure_ascii=False)
    values["pilot"] = None if s.pilot is None else _dumps(s.pilot, ensure_ascii=False)
    for f in ("turns", "input_tokens", "output_tokens", "tool_errors"):
        values[f] = values[f] if isinstance(values[f], int) else None
    for f in ("cost_usd", "score"):
        values[f] = values[f] if isinstance(values[f], int | float) else None
    for f in ("started", "task", "source", "model", "parent_session_id", "ended", "outcome"):
        values[f] = values[f] if isinstance(values[f], str) else None
    links = tuple(v if isinstance(v, str) and v else None for v in (getattr(s, f) for f in IMPORT_FIELDS))
    return (rel, rel.rsplit("/", 1)[0], size, mtime_ns, _ms(s.started), *(values[f] for f in FIELDS), *links)


_AT = {name: i for i, name in enumerate(COLUMNS)}
_PLAIN = tuple((f, _AT[f]) for f in (*FIELDS, *IMPORT_FIELDS) if f not in ("tags", "pilot"))
_TAGS, _PILOT = _AT["tags"], _AT["pilot"]


def _dumps(value: Any, **options: Any) -> str:
    """json.dumps, loaded with the first row written or printed as JSON: a plain listing of untagged
    sessions (or of none) needs no JSON text."""
    import json

    return json.dumps(value, **options)


def tags_of(text: Any) -> Any:
    """The tags column decoded. `[]`, the usual value, needs no codec: a listing of untagged sessions
    (or of none) leaves msgspec unloaded."""
    if not text or text == "[]":
        return []
    from dreamcli.codec import loads

    return loads(text)


def pilot_of(text: Any) -> dict[str, Any] | None:
    """The pilot column decoded: None, the usual value, needs no codec."""
    if text is None:
        return None
    from dreamcli.codec import loads

    return pilot_tag(loads(text))  # as summarize read it (a row written by hand: a trial all the same)


def from_row(row: tuple[Any, ...]) -> SessionSummary:
    if len(row) != len(COLUMNS):
        raise ValueError(f"a session index row has {len(row)} columns, not {len(COLUMNS)}")
    tags = row[_TAGS]
    return SessionSummary(**{f: row[i] for f, i in _PLAIN}, tags=tags_of(tags), pilot=pilot_of(row[_PILOT]))


HEAD_FIELDS = FIELDS[:FIELDS.index("outcome")]  # SessionSummary.to_json's keys before the grade's and tokens


def listing_head(values: tuple[Any, ...]) -> str | None:
    """`from_row(row).to_json()` up to `tool_errors` as `sessions list --json` prints it (json.dumps with
    indent=2 and ensure_ascii=False, the object at depth 2 in the document), without its closing brace,
    from the HEAD_FIELDS of a row as SQLite gives them back; None when its tags or pilot do not decode (the
    listing then reads the row as `from_row` does)."""
    data = dict(zip(HEAD_FIELDS, values, strict=True))
    tags = data["tags"]
    try:
        data["tags"] = list(tags_of(tags))
        data["pilot"] = pilot_of(data["pilot"])
    except (ValueError, RecursionError):
        return None
    return indented(data, 2)[:-6]  # without "\n    }"


def indented(value: Any, depth: int) -> str:
    """`value` as `json.dumps(doc, indent=2, ensure_ascii=False, default=str)` prints it at `depth` in
    `doc`, from its first character (objects and arrays begin their line when `depth` items indent them)."""
    text = _dumps(value, indent=2, ensure_ascii=False, default=str)
    return text.replace("\n", "\n" + "  " * depth) if "\n" in text else text
