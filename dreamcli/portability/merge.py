"""Merging an imported playbook into the local one (`dreamcli import --merge`, the default).

Entries are matched by id, then by text: an incoming entry whose text equals a local entry's
(whitespace-insensitively) is the same lesson learned in another workspace under another id, so it
widens that local entry instead of being added twice. New entries are added to their section.
For an entry both sides have,
the local text wins (a differing incoming text is reported as a conflict, never applied silently);
counts take the larger value, sources are joined (local first, at most 20 kept), first/last seen
widen. Local entries the bundle lacks stay.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from dreamcli.playbooks import Entry, Playbook, text_matches
from dreamcli.playbooks.model import MAX_SOURCES


@dataclass
class MergeReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)  # metadata widened
    conflicts: list[dict[str, Any]] = field(default_factory=list)  # same id, different text: local kept
    same_text: list[dict[str, str]] = field(default_factory=list)  # other id, same text: folded into local

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated)


def _min(a: str | None, b: str | None) -> str | None:
    return min(x for x in (a, b) if x) if (a or b) else None


def _max(a: str | None, b: str | None) -> str | None:
    return max(x for x in (a, b) if x) if (a or b) else None


def normalize_for_match(text: str) -> str:
    return " ".join(text.split()).casefold()


def merge_into(local: Playbook, incoming: Playbook) -> tuple[Playbook, MergeReport]:
    """A copy of `local` with what `incoming` adds; `local` itself is not changed."""
    merged = local.copy()
    report = MergeReport()
    new: list[Entry] = []
    by_text = {normalize_for_match(e.text): e for e in merged.entries()}
    by_id: dict[str, Entry] = {}  # once, not `merged.find` per entry: a lookup over the body each (quadratic)
    for e in merged.entries():
        by_id.setdefault(e.id, e)  # the first of an id, as find gives it
    for inc in incoming.entries():
        mine = by_id.get(inc.id)
        if mine is None:
            mine = by_text.get(normalize_for_match(inc.text))
            if mine is not None:
                report.same_text.append({"id": inc.id, "local_id": mine.id})
        if mine is None:
            entry = copy.deepcopy(inc)
            new.append(entry)
            report.added.append(inc.id)
            continue
        if not text_matches(mine.text, inc.text):
            report.conflicts.append({"id": inc.id, "local": mine.text, "incoming": inc.text})
        sources = list(dict.fromkeys([*mine.sources, *inc.sources]))[:MAX_SOURCES]
        widened = (max(mine.helpful, inc.helpful), max(mine.harmful, inc.harmful), sources,
                   _min(mine.first_seen, inc.first_seen), _max(mine.last_seen, inc.last_seen))
        if widened != (mine.helpful, mine.harmful, mine.sources[:MAX_SOURCES], mine.first_seen, mine.last_seen):
            mine.helpful, mine.harmful, mine.sources, mine.first_seen, mine.last_seen = widened
            report.updated.append(mine.id)
    if new:
        merged.add_entries(new)
    return merged, report
