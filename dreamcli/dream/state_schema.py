"""The types of a dream's stored state (state/dream/<playbook>/aggregates.json and watermark.json),
checked when a file is loaded: it is this program's own state, but a copied or hand-edited workspace can
hold one whose values no dream wrote (a string where an object belongs, a negative offset), which failed
the next dream deep inside. A file without these types is treated like an unreadable one: the dream
starts afresh (reads every session again)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec


class _Recovery(msgspec.Struct):
    label: str
    example: str
    episodes: list[str] = []
    why: str | None = None
    then: dict[str, _Recovery] = {}  # the calls that read what this one made (`dreamcli.dream.chains`)


class _Pattern(msgspec.Struct):
    kind: str
    key: str
    label: str = ""
    template: str = ""
    episodes: list[str] = []
    overflow: int = 0
    sessions: list[str] = []
    occurrences: int = 0
    first_seen: str | None = None
    last_seen: str | None = None
    evidence: list[dict[str, Any]] = []
    examples: dict[str, int] = {}
    recoveries: dict[str, _Recovery] = {}
    clean: int = 0
    taint: dict[str, int] = {}


class _Proposed(msgspec.Struct):
    entry_id: str | None = None
    dream_id: str | None = None
    support: int | None = None


# an episode's cost record: [task, cost, calls, truncated, example, is_root] (older states: no is_root)
_Episode = tuple[str | None, float, int, int, str | None, bool]
_OlderEpisode = tuple[str | None, float, int, int, str | None]


class _Aggregates(msgspec.Struct):
    v: int
    sessions_seen: int = 0
    patterns: list[_Pattern] = []
    parents: dict[str, str] = {}
    graded: dict[str, list[str]] = {}
    episodes: dict[str, list[Any]] = {}
    entry_use: dict[str, dict[str, list[str]]] = {}
    memory_touch: dict[str, str] = {}
    proposed: dict[str, _Proposed] = {}
    other_scopes: Annotated[int, msgspec.Meta(ge=0)] = 0
    redaction: str | None = None  # the rules its texts were redacted with (none: an older dream's, redacted on load)


_Offset = Annotated[int, msgspec.Meta(ge=0)]


# a session id (a ULID, any case: dreamcli.store.base.is_session_id): a watermark holding anything else (a stray
# object's name) is set aside by the dream, and the cron fast path (dream/quick.py) leaves it to the dream
_SessionId = Annotated[str, msgspec.Meta(pattern=r"^[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$")]


class _Watermark(msgspec.Struct):
    v: int
    playbook: str | None = None
    last_session_id: _SessionId | None = None
    deferred: list[str] = []
    grades_offset: _Offset = 0
    dream_id: str | None = None
    updated: str | None = None
    sessions_dreamed: _Offset = 0
    arrivals_offset: _Offset = 0
    arrivals_digest: str | None = None


def watermark_problem(data: Any) -> str | None:
    """None when `data` (the decoded watermark.json) has the types a dream writes."""
    try:
        msgspec.convert(data, _Watermark)
    except msgspec.ValidationError as e:
        return str(e)
    return None


def state_problem(data: Any) -> str | None:
    """None when `data` (the decoded file) has the types a dream writes; else the first wrong field."""
    try:
        state = msgspec.convert(data, _Aggregates)
        for record in state.episodes.values():
            msgspec.convert(record, _Episode if len(record) == 6 else _OlderEpisode)
    except msgspec.ValidationError as e:
        return str(e)
    return None
