"""How the dream links imported sub-agents that name their lead by transcript only (`import.parent_source_id`,
by the rule of dreamcli.sessions.lineage) and what its state keeps of them: `Aggregates.transcripts`, the session
holding each transcript read; `Aggregates.unlinked`, the sub-agents read in scope that no dream has linked to
their lead yet; `Aggregates.outside`, those out of the playbook's scope on their own whose lead no dream has read
yet, read whole when a dream reads that lead in scope (`adoptable`), as a sub-agent follows its lead into scope
(`follows`). A state written before them, or holding values no dream wrote there, loads with none."""

from __future__ import annotations

from typing import Any, Protocol

from dreamcli.sessions.lineage import Key, Linked, named_lead
from dreamcli.store.base import is_session_id


class Met(Protocol):
    """What a scan has met (an `Aggregates`)."""

    episodes: dict[str, list[Any]]
    parents: dict[str, str]
    known: set[str]
    running: set[str]
    transcripts: dict[Key, str]
    outside: dict[str, Key]


def follows(met: Met, lead: str) -> bool:
    """A sub-agent of `lead` is in scope with it: `lead` was read in scope (by this scan, an earlier dream or
    another worker), or set aside as still running."""
    return lead in met.episodes or lead in met.parents or lead in met.known or lead in met.running


def lead_met(met: Met, child: Linked) -> str | None:
    """The lead `child` names, by session id, or by transcript when a session holding it was met; else None."""
    return named_lead(child, met.transcripts.get)


def adoptable(met: Met) -> list[str]:
    """The sub-agents of `outside` whose lead is met now, in scope: to read whole (they leave `outside`), in id
    order. Reading them may bring their own sub-agents into scope: ask again until none is."""
    out = sorted(child for child, key in met.outside.items()
                 if (lead := met.transcripts.get(key)) is not None and lead != child and follows(met, lead))
    for child in out:
        del met.outside[child]
    return out


def settle(met: Met) -> None:
    """`outside` after a scan: only the sub-agents whose lead no session met holds (a later dream may read it),
    or is one of them, waiting too; those of a lead met out of scope stay out."""
    waiting = {child: key for child, key in met.outside.items() if key not in met.transcripts}
    while more := {child: key for child, key in met.outside.items()
                   if child not in waiting and met.transcripts.get(key) in waiting}:
        waiting.update(more)
    met.outside = waiting


def as_stored(transcripts: dict[Key, str], unlinked: dict[str, Key], outside: dict[str, Key]) -> dict[str, Any]:
    """The three as `aggregates.json` holds them, each only when it has any."""
    return {**({"transcripts": by_source(transcripts)} if transcripts else {}),
            **({"unlinked": {c: list(k[1:]) for c, k in unlinked.items()}} if unlinked else {}),
            **({"outside": {c: list(k[1:]) for c, k in outside.items()}} if outside else {})}


def loaded(d: dict[str, Any]) -> tuple[dict[Key, str], dict[str, Key], dict[str, Key]]:
    """(transcripts, unlinked, outside) of a loaded `aggregates.json`."""
    return held(d.get("transcripts")), waiting(d.get("unlinked")), waiting(d.get("outside"))


def bounded(transcripts: dict[Key, str], unlinked: dict[str, Key], outside: dict[str, Key],
            most: int) -> tuple[dict[Key, str], dict[str, Key], dict[str, Key]]:
    """The most recent `most` of each (by session id)."""
    if len(transcripts) > most:
        transcripts = dict(sorted(transcripts.items(), key=lambda kv: kv[1])[-most:])
    return transcripts, _recent(unlinked, most), _recent(outside, most)


def _recent(children: dict[str, Key], most: int) -> dict[str, Key]:
    return children if len(children) <= most else {k: children[k] for k in sorted(children)[-most:]}


def by_source(transcripts: dict[Key, str]) -> dict[str, dict[str, str]]:
    """`transcripts` as stored: {source: {transcript id: session id}}."""
    out: dict[str, dict[str, str]] = {}
    for (_kind, source, transcript), sid in transcripts.items():
        out.setdefault(source, {})[transcript] = sid
    return out


def held(stored: Any) -> dict[Key, str]:
    """The stored `transcripts` ({} for a state written before them, or values no dream wrote: a holder that is no
    session id is dropped)."""
    if not isinstance(stored, dict):
        return {}
    return {("transcript", source, transcript): sid for source, ids in stored.items() if isinstance(ids, dict)
            for transcript, sid in ids.items() if is_session_id(sid)}


def waiting(stored: Any) -> dict[str, Key]:
    """The stored `unlinked` or `outside`, {child: [source, transcript id]} ({} as `held`). Only session ids: a
    child of `outside` is read by its id's path (scan._adopt), so `../x` and the like are dropped."""
    if not isinstance(stored, dict):
        return {}
    return {child: ("transcript", *key) for child, key in stored.items() if is_session_id(child)
            and isinstance(key, list) and len(key) == 2 and all(isinstance(k, str) for k in key)}
