"""A stored dream state whose texts are not trusted: an `aggregates.json` without the `redaction` stamp of the
workspace's redactor (`dreamcli.dream.watermark.redaction_stamp`). Either an older release wrote it (no stamp),
or it was redacted under other rules (another stamp: `redaction.patterns` or the built-in rules changed since).

Older releases kept secrets in forms no rule recognises once stored (a key lower-cased among a correction's
word stems, an error's template masked before it was redacted), and a rule added since never saw the stored
texts: redacting the file as it is loaded cannot catch those. So none of its texts is loaded. The dream
rebuilds the state from the sessions instead, once, as `dreamcli dream --all` does (`dreamcli.dream.stages`),
and keeps of the old file only what no session text made:

- `entry_use`: the graded episodes already counted helpful or harmful for an entry (entry ids and session
  ids), so no run is counted twice;
- `proposed`: what earlier dreams proposed (still pending, rejected, approved), by candidate key. A key made
  of ids or a digest (a merge of entries, a stale entry, a memory operation) is kept as it is. A key made of
  session text (a pattern's key, `cost|<task>`) is held (`Aggregates.unverified`) until the rebuild's scan has
  run, and kept only if that scan made the same key again from texts redacted before they were cut
  (`verified`): a key that held a secret is not made again, and goes.

A selection (`--since`, `--session`, `--task`) reads only part of the sessions and cannot rebuild: a key its
scan did not make may still be made by the others. It writes the held keys, and its own keys made of session
text, as digests (`hold`: no text), under the file's own stamp, so the file stays untrusted and the next
whole dream rebuilds it and checks them. A file holding digests is never trusted (`distrust`).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from dreamcli.dream.aggregates import Aggregates
from dreamcli.playbooks.model import ID_PATTERN
from dreamcli.store.base import is_session_id

OLDER = "from an older release"  # no stamp
OTHER_RULES = "redacted under other rules"  # the stamp of other built-in rules or `redaction.patterns`
_ID_KEY = re.compile(rf"merge(?:\|{ID_PATTERN})+|stale\|{ID_PATTERN}|memory-op\|[0-9a-f]{{16}}")
_ID = re.compile(ID_PATTERN)
_HELD_KEY = re.compile(r"unverified\|[0-9a-f]{32}")  # a text key held by a selection, as its digest


def distrust(stamp: Any, expected: str, proposed: Any = ()) -> str | None:
    """Why a file stamped `stamp`, with `proposed` records, is rebuilt rather than read (OLDER, OTHER_RULES);
    None when it is trusted. Held digests are checked by a rebuild only: a file holding some is not trusted."""
    if stamp == expected and not any(_HELD_KEY.fullmatch(key) for key in proposed):
        return None
    return OLDER if stamp is None else OTHER_RULES


def trusted_part(data: dict[str, Any], why: str) -> Aggregates:
    """What the dream keeps of an untrusted file (`data`, decoded and of the types a dream writes): its
    entry use and its proposed records, those keyed by session text held apart (`unverified`)."""
    agg = Aggregates(entry_use=_entry_use(data.get("entry_use") or {}))
    for key, record in (data.get("proposed") or {}).items():
        (agg.proposed if _ID_KEY.fullmatch(key) else agg.unverified)[key] = _record(record)
    agg.rebuild = why
    return agg


def verified(held: dict[str, dict[str, Any]], agg: Aggregates) -> dict[str, dict[str, Any]]:
    """The records of `held` (by key or by digest) whose key the scan into `agg` made again (a pattern's key, or
    a task's cost), by that key."""
    made = agg.patterns.keys() | {f"cost|{rec[0]}" for rec in agg.episodes.values() if rec and rec[0]}
    by_digest = {held_key(key): record for key, record in held.items()}
    return {key: by_digest[digest] for key in made if (digest := held_key(key)) in by_digest}


def hold(agg: Aggregates) -> None:
    """What a selection writes of a state it did not trust (`agg`: what it loaded, with what it proposed): the
    records keyed by ids as they are; those keyed by session text (held, or its own, which win) as digests."""
    text = {key: record for key, record in agg.proposed.items() if not _ID_KEY.fullmatch(key)}
    ids = {key: record for key, record in agg.proposed.items() if key not in text}
    agg.proposed = {**ids, **{held_key(key): record for key, record in {**agg.unverified, **text}.items()}}
    agg.unverified = {}


def held_key(key: str) -> str:
    """How a key made of session text is written while it is held: its digest (the key may spell a secret in a
    form no rule recognises)."""
    if _HELD_KEY.fullmatch(key):
        return key
    return "unverified|" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _record(record: dict[str, Any]) -> dict[str, Any]:
    """A proposed record with its ids only when they are ids (an entry id, a dream id), and its support."""
    entry, dream, support = record.get("entry_id"), record.get("dream_id"), record.get("support")
    return {"entry_id": entry if isinstance(entry, str) and _ID.fullmatch(entry) else None,
            "dream_id": dream if is_session_id(dream) else None,
            "support": support if isinstance(support, int) else None}


def _entry_use(entry_use: dict[str, dict[str, list[str]]]) -> dict[str, dict[str, list[str]]]:
    """Entry use of entry ids by session ids (episodes); anything else is dropped."""
    out: dict[str, dict[str, list[str]]] = {}
    for entry, use in entry_use.items():
        if _ID.fullmatch(entry):
            out[entry] = {side: [e for e in episodes if is_session_id(e)] for side, episodes in use.items()
                          if side in ("helpful", "harmful", "new_helpful", "new_harmful")}
    return out
