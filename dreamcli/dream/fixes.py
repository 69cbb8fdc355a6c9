"""What fixed an error, as the dreamer keeps it (`Recovery`): the call, the episodes it fixed the error in,
its lines as evidence, the agent's reason, and the calls that went on to read what it made (a fix that is
a chain of calls: `dreamcli.dream.chains`); with the bounds evidence is kept within, shared with
`dreamcli.dream.aggregates`."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

MAX_EPISODES = 5000  # per pattern; beyond this support is counted without ids
MAX_EVIDENCE = 3
MAX_EXAMPLES = 8


def wants(kept: list[dict[str, Any]], episode: str | None) -> bool:
    """Room for evidence, and none yet from `episode` (one piece per episode, MAX_EVIDENCE in all)."""
    return len(kept) < MAX_EVIDENCE and all(e.get("episode", e.get("session_id")) != episode for e in kept)


def keep(kept: list[dict[str, Any]], evidence: dict[str, Any], episode: str | None) -> None:
    """Add `evidence` when `wants` says so, naming its episode when that is not its own session."""
    if wants(kept, episode):
        kept.append(evidence if episode == evidence.get("session_id") else {**evidence, "episode": episode})


@dataclass
class Recovery:
    label: str
    example: str
    episodes: set[str] = field(default_factory=set)
    why: str = ""  # the agent's own words naming the fix, when it said them
    evidence: list[dict[str, Any]] = field(default_factory=list)  # the fix's lines, one per episode
    # the calls that went on to read what this one made (`dreamcli.dream.chains`), keyed like recoveries
    then: dict[str, Recovery] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"label": self.label, "example": self.example, "episodes": sorted(self.episodes)}
        if self.evidence:
            out["evidence"] = self.evidence
        if self.then:
            out["then"] = {k: r.to_json() for k, r in self.then.items()}
        return {**out, "why": self.why} if self.why else out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Recovery:
        return cls(d["label"], d["example"], set(d.get("episodes", [])), str(d.get("why") or ""),
                   list(d.get("evidence", [])), {k: cls.from_json(v) for k, v in d.get("then", {}).items()})

    def step(self, key: str, label: str, example: str, episode: str,
             evidence: dict[str, Any] | None = None) -> Recovery | None:
        """Record the call that read what this one made (None when too many others are kept)."""
        nxt = self.then.get(key)
        if nxt is None:
            if len(self.then) >= MAX_EXAMPLES:
                return None
            nxt = self.then[key] = Recovery(label, example)
        if evidence is not None:
            nxt.add_evidence(evidence, episode)
        if len(nxt.episodes) < MAX_EPISODES:
            nxt.episodes.add(episode)
        return nxt

    def merge(self, other: Recovery) -> None:
        """Fold in the same recovery as seen by another scanner."""
        self.episodes |= other.episodes
        self.why = self.why or other.why
        for e in other.evidence:
            self.add_evidence(e, str(e.get("episode", e.get("session_id"))))
        merge_recoveries(self.then, other.then)

    def remap(self, roots: dict[str, str]) -> None:
        if self.episodes & roots.keys():
            self.episodes = {roots.get(e, e) for e in self.episodes}
        for nxt in self.then.values():
            nxt.remap(roots)

    def intern(self) -> None:
        self.episodes = {sys.intern(e) for e in self.episodes}
        for nxt in self.then.values():
            nxt.intern()

    def wants_evidence(self, episode: str) -> bool:
        """Would `add_evidence` keep evidence from `episode`? (Its excerpt is made only then.)"""
        return wants(self.evidence, episode)

    def add_evidence(self, evidence: dict[str, Any], episode: str) -> None:
        keep(self.evidence, evidence, episode)


def merge_recoveries(mine: dict[str, Recovery], other: dict[str, Recovery]) -> None:
    """Fold `other`'s recoveries (a pattern's, or a fix's next steps) into `mine`, keyed alike: the same
    one merged, a new one kept while there are fewer than MAX_EXAMPLES."""
    for key, rec in other.items():
        have = mine.get(key)
        if have is None:
            if len(mine) < MAX_EXAMPLES:
                mine[key] = rec
        else:
            have.merge(rec)
