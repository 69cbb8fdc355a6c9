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
  session text (a pattern's key, `cost|<task>`) is held (`Aggregates.unverified`, never written) until the
  rebuild's scan has run, and kept only if that scan made the same key again from texts redacted before they
  were cut (`verified`): a key that held a secret is not made again, and goes.
"""

from __future__ import annotations

import re
from typing import Any

from dreamcli.dream.aggregates import Aggregates
from dreamcli.playbooks.model import ID_PATTERN
from dreamcli.store.base import is_session_id

OLDER = "from an older release"  # no stamp
OTHER_RULES = "redacted under other rules"  # the stamp of other built-in rules or `redaction.patterns`
_ID_KEY = re.compile(rf"merge(?:\|{ID_PATTERN})+|stale\|{ID_PATTERN}|memory-op\|[0-9a-f]{{16}}")
_ID = re.compile(ID_PATTERN)


def distrust(stamp: Any, expected: str) -> str | None:
    """Why a file stamped `stamp` is rebuilt rather than read (OLDER, OTHER_RULES); None when it is trusted."""
    if stamp == expected:
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
    """The records of `held` whose key the scan into `agg` made again (a pattern's key, or a task's cost)."""
    made = agg.patterns.keys() | {f"cost|{rec[0]}" for rec in agg.episodes.values() if rec and rec[0]}
    return {key: record for key, record in held.items() if key in made}


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
