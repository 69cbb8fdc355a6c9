"""How the dream's state stores the links of imported sub-agents that name their lead by transcript only
(`import.parent_source_id`, dreamcli.sessions.lineage): `Aggregates.transcripts`, the session holding each
transcript read, and `Aggregates.unlinked`, the sub-agents no dream has linked to their lead yet. A state
written before them, or holding values no dream wrote there, loads with none."""

from __future__ import annotations

from typing import Any

from dreamcli.sessions.lineage import Key


def by_source(transcripts: dict[Key, str]) -> dict[str, dict[str, str]]:
    """`transcripts` as stored: {source: {transcript id: session id}}."""
    out: dict[str, dict[str, str]] = {}
    for (_kind, source, transcript), sid in transcripts.items():
        out.setdefault(source, {})[transcript] = sid
    return out


def held(stored: Any) -> dict[Key, str]:
    """The stored `transcripts` ({} for a state written before them, or values no dream wrote)."""
    if not isinstance(stored, dict):
        return {}
    return {("transcript", source, transcript): sid for source, ids in stored.items() if isinstance(ids, dict)
            for transcript, sid in ids.items() if isinstance(sid, str)}


def waiting(stored: Any) -> dict[str, Key]:
    """The stored `unlinked`, {child: [source, transcript id]} ({} as `held`)."""
    if not isinstance(stored, dict):
        return {}
    return {child: ("transcript", *key) for child, key in stored.items()
            if isinstance(key, list) and len(key) == 2 and all(isinstance(k, str) for k in key)}
