"""What the dreamer has learned from all sessions so far: patterns keyed by signature, with the
distinct episodes that showed them (a lead session and its sub-agents are one episode), evidence and
recoveries. Bounded in memory, serializable to JSON so later dreams continue where the last one
stopped (patterns accumulate support across dreams; sets make re-reading a session idempotent)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from dreamcli.dream.fixes import MAX_EPISODES, MAX_EXAMPLES, Recovery, keep, merge_recoveries, wants
from dreamcli.dream.transcripts import Key, as_stored, bounded, loaded
from dreamcli.redaction import Redactor, for_patterns

MAX_SESSIONS = 20  # most recent session ids kept per pattern (the entry's `sources`)
MAX_PATTERNS = 20000  # one-off patterns are dropped first when the store grows past this
MAX_EPISODES_PER_TASK = 5000  # cost records kept per task (the most recent), for medians and outliers
MAX_PARENTS = 20000  # sub-agent -> lead links kept (the most recent); sub-agents start right after their lead
# (and, as many, the transcripts of imported sessions and of each kind of imported sub-agent waiting for its lead)
REDACTED_CACHED = 1500  # texts up to this length redacted by the scan are remembered (Aggregates.redact)


@dataclass
class Pattern:
    kind: str  # error | correction | criterion | loop | memory
    key: str
    label: str = ""
    template: str = ""
    episodes: set[str] = field(default_factory=set)
    overflow: int = 0  # episodes counted beyond MAX_EPISODES
    sessions: list[str] = field(default_factory=list)  # most recent first
    occurrences: int = 0
    first_seen: str | None = None
    last_seen: str | None = None
    evidence: list[dict[str, Any]] = field(default_factory=list)
    recoveries: dict[str, Recovery] = field(default_factory=dict)
    examples: dict[str, int] = field(default_factory=dict)  # representative texts -> count
    touched: bool = False  # got new evidence in this dream (not stored)
    clean: int = 0  # observations from trusted content (the user's words, the agent's own calls)
    taint: dict[str, int] = field(default_factory=dict)  # untrusted source -> observations

    def provenance(self, sources: tuple[str, ...]) -> None:
        """Where the last observation came from: () for trusted content, else its untrusted sources."""
        if not sources:
            self.clean += 1
        for s in sources:
            self.taint[s] = self.taint.get(s, 0) + 1

    @property
    def tainted(self) -> list[str]:
        """The untrusted sources, when nothing trusted ever showed this pattern."""
        return sorted(self.taint) if self.taint and not self.clean else []

    @property
    def support(self) -> int:
        return len(self.episodes) + self.overflow

    def observe(self, episode: str, session_id: str, ts: str | None, evidence: dict[str, Any] | None = None) -> None:
        self.occurrences += 1
        self.touched = True
        if episode not in self.episodes:
            if len(self.episodes) < MAX_EPISODES:
                self.episodes.add(episode)
            else:
                self.overflow += 1
        if session_id not in self.sessions[:5]:
            if session_id in self.sessions:
                self.sessions.remove(session_id)
            self.sessions.insert(0, session_id)
            del self.sessions[MAX_SESSIONS:]
        if ts:
            if self.first_seen is None or ts < self.first_seen:
                self.first_seen = ts
            if self.last_seen is None or ts > self.last_seen:
                self.last_seen = ts
        if evidence is not None:
            keep(self.evidence, evidence, episode)

    def wants_evidence(self, episode: str) -> bool:
        """Would `observe` keep evidence from `episode`? (An excerpt is made, and redacted, only then.)"""
        return wants(self.evidence, episode)

    def example(self, text: str) -> None:
        if text in self.examples or len(self.examples) < MAX_EXAMPLES:
            self.examples[text] = self.examples.get(text, 0) + 1

    def recover(self, key: str, label: str, example: str, episode: str, why: str = "",
                evidence: dict[str, Any] | None = None) -> None:
        rec = self.recoveries.get(key)
        if rec is None:
            if len(self.recoveries) >= MAX_EXAMPLES:
                return
            rec = self.recoveries[key] = Recovery(label, example)
        if why and not rec.why:
            rec.why = why
        if evidence is not None:
            rec.add_evidence(evidence, episode)
        if len(rec.episodes) < MAX_EPISODES:
            rec.episodes.add(episode)

    def intern(self) -> Pattern:
        """Share one string object per session id (ids unpickled from a worker are new copies)."""
        self.episodes = {sys.intern(e) for e in self.episodes}
        self.sessions = [sys.intern(s) for s in self.sessions]
        for rec in self.recoveries.values():
            rec.intern()
        return self

    def merge(self, other: Pattern) -> None:
        """Fold in the same pattern as seen by another scanner (a parallel worker)."""
        other.intern()
        for ep in other.episodes:
            if ep not in self.episodes:
                if len(self.episodes) < MAX_EPISODES:
                    self.episodes.add(ep)
                else:
                    self.overflow += 1
        self.overflow += other.overflow
        self.sessions = sorted(set(self.sessions) | set(other.sessions), reverse=True)[:MAX_SESSIONS]
        self.occurrences += other.occurrences
        self.touched = self.touched or other.touched
        self.clean += other.clean
        for src, n in other.taint.items():
            self.taint[src] = self.taint.get(src, 0) + n
        firsts = [t for t in (self.first_seen, other.first_seen) if t]
        lasts = [t for t in (self.last_seen, other.last_seen) if t]
        self.first_seen, self.last_seen = min(firsts, default=None), max(lasts, default=None)
        for e in other.evidence:
            keep(self.evidence, e, e.get("episode", e.get("session_id")))
        for text, n in other.examples.items():
            if text in self.examples or len(self.examples) < MAX_EXAMPLES:
                self.examples[text] = self.examples.get(text, 0) + n
        merge_recoveries(self.recoveries, other.recoveries)

    def remap(self, roots: dict[str, str]) -> None:
        """Replace episode ids that turned out to be sub-agents by their lead session's id."""
        if self.episodes & roots.keys():
            self.episodes = {roots.get(e, e) for e in self.episodes}
        for rec in self.recoveries.values():
            rec.remap(roots)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "key": self.key, "label": self.label, "template": self.template,
                "episodes": sorted(self.episodes), "overflow": self.overflow, "sessions": self.sessions,
                "occurrences": self.occurrences, "first_seen": self.first_seen, "last_seen": self.last_seen,
                "evidence": self.evidence, "examples": self.examples,
                "recoveries": {k: r.to_json() for k, r in self.recoveries.items()},
                **({"clean": self.clean} if self.clean else {}), **({"taint": self.taint} if self.taint else {})}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Pattern:
        p = cls(kind=d["kind"], key=d["key"], label=d.get("label", ""), template=d.get("template", ""))
        p.episodes = set(d.get("episodes", []))
        p.overflow = int(d.get("overflow", 0))
        p.sessions = list(d.get("sessions", []))
        p.occurrences = int(d.get("occurrences", 0))
        p.first_seen, p.last_seen = d.get("first_seen"), d.get("last_seen")
        p.evidence = list(d.get("evidence", []))
        p.examples = dict(d.get("examples", {}))
        p.recoveries = {k: Recovery.from_json(v) for k, v in d.get("recoveries", {}).items()}
        p.clean = int(d.get("clean", 0))
        p.taint = dict(d.get("taint", {}))
        return p


@dataclass
class Aggregates:
    patterns: dict[str, Pattern] = field(default_factory=dict)
    parents: dict[str, str] = field(default_factory=dict)  # child session -> parent session
    graded: dict[str, set[str]] = field(default_factory=dict)  # outcome -> graded episodes
    episodes: dict[str, list[Any]] = field(default_factory=dict)  # episode -> [task, cost, calls, truncated, example]
    entry_use: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # entry -> helpful/harmful episodes
    memory_touch: dict[str, str] = field(default_factory=dict)  # memory path -> last ts used in a session
    proposed: dict[str, dict[str, Any]] = field(default_factory=dict)  # candidate key -> {entry_id, dream_id, support}
    sessions_seen: int = 0
    # sessions another playbook's scope holds, met by this playbook's whole dreams: their memory use is not
    # in memory_touch (the scan stops at their first line), so no note is judged unused while there are any
    other_scopes: int = 0
    known: set[str] = field(default_factory=set)  # leads scanned by another process (not stored)
    # trials met in this scan, and their sub-agents (not stored): a sub-agent of one is a trial too (signals._start)
    trials: set[str] = field(default_factory=set)
    # sessions this scan set aside as still running, and those the dream before did (the watermark's `deferred`,
    # stages.scan), not stored: nothing of them is in the aggregates. Their sub-agents follow them all the same,
    # as they follow a lead read, even one read before its deferred lead (signals._start)
    running: set[str] = field(default_factory=set)
    # in a parallel worker, the sessions of its chunk (not stored): a sub-agent whose lead is neither here nor
    # `known` goes back to the main process, which knows what the lead was (scan._scan_chunk)
    local: frozenset[str] | None = None
    # imported sessions by the transcript they hold (lineage's key: the newest session holding it), and the
    # imported sub-agents that name their lead by that transcript only, not yet linked to it, read in scope or out
    # of it on their own (all stored): the scan gathers them from the session.start lines it reads (signals._start),
    # links after it (link_imported) and reads those its lead brings into scope (dreamcli.dream.transcripts)
    transcripts: dict[Key, str] = field(default_factory=dict)
    unlinked: dict[str, Key] = field(default_factory=dict)
    outside: dict[str, Key] = field(default_factory=dict)
    redaction: tuple[str, ...] = ()  # config `redaction.patterns`, on top of the built-in rules (not stored)
    # stored as "redaction": the digest of the rules and patterns its texts were redacted with, set when the
    # state is loaded or saved (dreamcli.dream.watermark.redaction_stamp)
    redacted_with: str | None = None
    # loaded from a file whose texts are not trusted (dreamcli.dream.older_state): why the dream rebuilds the
    # state from the sessions (not stored), and the proposed records keyed by text it keeps only if made again
    # (a selection stores them as digests, `older_state.hold`)
    rebuild: str | None = None
    unverified: dict[str, dict[str, Any]] = field(default_factory=dict)

    def redact(self, text: str) -> str:
        """`text` with its secrets replaced (built-in rules and `redaction`). The scan redacts what it keeps of
        a session (messages, commands, the agent's and user's words, notes) before it masks or cuts it: a
        masked or cut secret no longer matches its rule, so redacting the proposal later would miss it."""
        if len(text) <= REDACTED_CACHED:  # messages and commands recur across sessions: remembered
            return _redacted(self.redaction, text)
        return _redactor(self.redaction).redact_text(text)

    def episode_of(self, session_id: str, parent: str | None) -> str:
        if parent:
            self.parents[session_id] = parent
        root, hops = session_id, 0
        while root in self.parents and hops < 20:
            root = self.parents[root]
            hops += 1
        return root

    def pattern(self, kind: str, key: str, label: str = "", template: str = "") -> Pattern:
        full = f"{kind}|{key}"
        p = self.patterns.get(full)
        if p is None:
            p = self.patterns[full] = Pattern(kind=kind, key=full, label=label, template=template)
        return p

    def add_cost(self, episode: str, task: str | None, is_root: bool, cost: float, calls: int, truncated: int,
                 example: str | None) -> None:
        rec = self.episodes.get(episode)
        if rec is None:
            rec = self.episodes[episode] = [task, 0.0, 0, 0, None, is_root]
        if is_root and task:
            rec[0] = task
            rec[5] = True
        rec[1] = round(rec[1] + cost, 6)
        rec[2] += calls
        rec[3] += truncated
        if example and not rec[4]:
            rec[4] = example

    def merge(self, other: Aggregates) -> None:
        """Fold in what a parallel worker scanned (grades, entry use and proposals stay with the
        main process), then resolve episodes whose lead session the worker did not see."""
        for key, p in other.patterns.items():
            mine = self.patterns.get(key)
            if mine is None:
                self.patterns[key] = p.intern()
            else:
                mine.merge(p)
        for child, parent in other.parents.items():
            self.parents[sys.intern(child)] = sys.intern(parent)
        for transcript, sid in other.transcripts.items():
            self.hold(transcript, sys.intern(sid))
        self.unlinked.update((sys.intern(child), key) for child, key in other.unlinked.items())
        self.outside.update((sys.intern(child), key) for child, key in other.outside.items())
        self.trials.update(sys.intern(t) for t in other.trials)
        self.running.update(sys.intern(r) for r in other.running)
        for ep, rec in other.episodes.items():
            self._merge_episode(sys.intern(ep), rec)
        for path, ts in other.memory_touch.items():
            if self.memory_touch.get(path, "") < ts:
                self.memory_touch[path] = ts
        self.sessions_seen += other.sessions_seen

    def _merge_episode(self, ep: str, rec: list[Any]) -> None:
        mine = self.episodes.get(ep)
        if mine is None:
            self.episodes[ep] = list(rec)
            return
        if rec[0] and (not mine[0] or (len(rec) > 5 and rec[5])):
            mine[0] = rec[0]
        mine[1] = round(mine[1] + rec[1], 6)
        mine[2] += rec[2]
        mine[3] += rec[3]
        mine[4] = mine[4] or rec[4]

    def hold(self, key: Key, session_id: str) -> None:
        """`session_id` holds transcript `key`: its lead, unless a newer session (later in file order) holds it."""
        if self.transcripts.get(key, "") < session_id:
            self.transcripts[key] = session_id

    def link_imported(self) -> list[str]:
        """Link each sub-agent of `unlinked` whose lead's transcript is held (read by this dream or an earlier one)
        to that lead, as `parent_session_id` links one; returns them. Read as a root of its own, its cost record
        is no root now: `resolve_episodes` moves it into the lead's, which keeps the lead's task."""
        linked = []
        for child, key in list(self.unlinked.items()):
            lead = self.transcripts.get(key)
            if lead is None or self.episode_of(lead, None) == child:  # not read yet; itself, or a cycle
                continue
            self.parents[child] = lead
            del self.unlinked[child]
            if (rec := self.episodes.get(child)) is not None and len(rec) > 5:
                rec[5] = False
            linked.append(child)
        return linked

    def resolve_episodes(self) -> dict[str, str]:
        """Map every episode id that is really a sub-agent to its lead's id, everywhere; returns the map."""
        roots = {child: self.episode_of(child, None) for child in self.parents}
        roots = {k: v for k, v in roots.items() if k != v}
        if not roots:
            return roots
        for p in self.patterns.values():
            p.remap(roots)
        for child in [e for e in self.episodes if e in roots]:
            self._merge_episode(roots[child], self.episodes.pop(child))
        return roots

    def use_entry(self, entry_id: str, episode: str, passed: bool) -> bool:
        """Record that a graded episode had `entry_id` in context; False if it was counted before."""
        use = self.entry_use.setdefault(entry_id, {"helpful": [], "harmful": [], "new_helpful": [], "new_harmful": []})
        if episode in use["helpful"] or episode in use["harmful"] or episode in use["new_helpful"] \
                or episode in use["new_harmful"]:
            return False
        use["new_helpful" if passed else "new_harmful"].append(episode)
        return True

    def commit_entry_use(self) -> None:
        """After a proposal carrying the counts is written: new counts become counted ones."""
        for use in self.entry_use.values():
            use["helpful"].extend(use.pop("new_helpful", []))
            use["harmful"].extend(use.pop("new_harmful", []))
            use["new_helpful"], use["new_harmful"] = [], []

    def prune(self) -> None:
        """Bound what is kept between dreams, so the state (and a dream's memory) stays flat over time."""
        if len(self.parents) > MAX_PARENTS:
            keep = sorted(self.parents)[-MAX_PARENTS:]
            self.parents = {k: self.parents[k] for k in keep}
        self.transcripts, self.unlinked, self.outside = bounded(self.transcripts, self.unlinked, self.outside,
                                                                MAX_PARENTS)
        by_task: dict[str, list[str]] = {}
        for ep, rec in self.episodes.items():
            by_task.setdefault(str(rec[0]), []).append(ep)
        for eps in by_task.values():
            if len(eps) > MAX_EPISODES_PER_TASK:
                for ep in sorted(eps)[:-MAX_EPISODES_PER_TASK]:
                    del self.episodes[ep]
        if len(self.patterns) <= MAX_PATTERNS:
            return
        ranked = sorted(self.patterns.values(), key=lambda p: (p.support, p.last_seen or ""))
        for p in ranked[: len(self.patterns) - MAX_PATTERNS]:
            del self.patterns[p.key]

    def write_json(self, f: Any) -> None:
        """Write `to_json()` to a text file one pattern at a time (no second copy of the store in memory)."""
        head = {k: v for k, v in self.to_json(patterns=False).items() if k != "patterns"}
        f.write(json.dumps(head, separators=(",", ":"), ensure_ascii=False)[:-1] + ',"patterns":[')
        for i, p in enumerate(self.patterns.values()):
            if i:
                f.write(",")
            f.write(json.dumps(p.to_json(), separators=(",", ":"), ensure_ascii=False))
        f.write("]}")

    def to_json(self, *, patterns: bool = True) -> dict[str, Any]:
        return {"v": 1, "sessions_seen": self.sessions_seen,
                "patterns": [p.to_json() for p in self.patterns.values()] if patterns else [],
                "parents": self.parents,
                "graded": {k: sorted(v) for k, v in self.graded.items()}, "episodes": self.episodes,
                "entry_use": self.entry_use, "memory_touch": self.memory_touch, "proposed": self.proposed,
                **({"other_scopes": self.other_scopes} if self.other_scopes else {}),
                **as_stored(self.transcripts, self.unlinked, self.outside),
                **({"redaction": self.redacted_with} if self.redacted_with else {})}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Aggregates:
        agg = cls()
        if d.get("v") != 1:
            return agg
        agg.sessions_seen = int(d.get("sessions_seen", 0))
        agg.patterns = {p["key"]: Pattern.from_json(p) for p in d.get("patterns", [])}
        agg.parents = dict(d.get("parents", {}))
        agg.graded = {k: set(v) for k, v in d.get("graded", {}).items()}
        agg.episodes = dict(d.get("episodes", {}))
        agg.entry_use = dict(d.get("entry_use", {}))
        agg.memory_touch = dict(d.get("memory_touch", {}))
        agg.proposed = dict(d.get("proposed", {}))
        agg.other_scopes = int(d.get("other_scopes", 0))
        agg.transcripts, agg.unlinked, agg.outside = loaded(d)
        return agg


@lru_cache(maxsize=16)
def _redactor(patterns: tuple[str, ...]) -> Redactor:
    return for_patterns(patterns)  # one shared Redactor per set of patterns (its clean-string cache included)


@lru_cache(maxsize=4096)  # at most REDACTED_CACHED characters each: a few MB
def _redacted(patterns: tuple[str, ...], text: str) -> str:
    return _redactor(patterns).redact_text(text)
