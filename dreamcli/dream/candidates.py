"""From aggregated patterns to ranked candidates: what recurs in enough distinct episodes to be worth
an entry, with its support, impact, facts (for templates and the model) and evidence."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from dreamcli.dream.aggregates import Aggregates, Pattern
from dreamcli.dream.chains import chain_of, with_fix
from dreamcli.dream.polarity import Polarity, opposed, polarity, same_topic
from dreamcli.dream.text import mask, opaque
from dreamcli.playbooks.lint import injection_findings
from dreamcli.words import stems

SECTIONS = {
    "error_recovery": "Tool workarounds",
    "tool_error": "Tool workarounds",
    "correction": "Corrections",
    "criterion": "Outcome criteria",
    "loop": "Efficiency",
    "cost_outlier": "Efficiency",
    "memory_note": "Notes",
    "flaky": "Flaky",  # reported in the dream's report, never an entry
}
CLUSTER_SIMILARITY = 0.5
COST_OUTLIER_RATIO = 3.0
COST_MIN_EPISODES = 6
CRITERION_MIN_RATE = 0.0  # a criterion failing in min_support episodes recurs; the rate only ranks it
TOOL_ERROR_MIN_SUPPORT = 3  # an error nobody recovered from needs a little more evidence


@dataclass
class Candidate:
    key: str
    kind: str
    support: int
    impact: float
    facts: dict[str, Any]
    evidence: list[dict[str, Any]]
    sources: list[str]
    first_seen: str | None
    last_seen: str | None
    fresh: bool
    pattern_keys: list[str] = field(default_factory=list)
    successes: int | None = None
    total: int | None = None
    taint: list[str] = field(default_factory=list)  # untrusted sources, when they are all the evidence has

    @property
    def section(self) -> str:
        return SECTIONS[self.kind]

    @property
    def score(self) -> float:
        return self.support * (0.5 + self.impact)


def build_candidates(agg: Aggregates, *, min_support: int, new_episodes: set[str]) -> list[Candidate]:
    """Every pattern with at least `min_support` distinct episodes, ranked by support and impact."""
    by_kind: dict[str, list[Pattern]] = {}
    for p in agg.patterns.values():
        by_kind.setdefault(p.kind, []).append(p)
    out: list[Candidate] = []
    for p in by_kind.get("error", []):
        if p.support >= min_support:
            c = _error(p, min_support, agg)
            if c is not None:
                out.append(c)
    out.extend(_corrections(cluster(by_kind.get("correction", [])), min_support))
    for group in cluster(by_kind.get("memory", [])):
        c = _merged("memory_note", group, min_support)
        if c is not None:
            out.append(c)
    for p in by_kind.get("criterion", []):
        c = _criterion(p, agg, min_support)
        if c is not None:
            out.append(c)
    for p in by_kind.get("loop", []):
        if p.support >= min_support:
            example = _top(p.examples) or p.template
            if opaque(example):
                continue  # only a placeholder, hash or id: nothing a reader can act on
            c = _from(p, "loop", 0.5, {"tool": p.label, "example": example})
            c.evidence = [e for e in c.evidence if example in str(e.get("excerpt", ""))] or c.evidence
            out.append(c)
    out.extend(_cost_outliers(agg, min_support, new_episodes))
    out.sort(key=lambda c: (-c.score, c.key))
    return out


def _from(p: Pattern, kind: str, impact: float, facts: dict[str, Any], **kw: Any) -> Candidate:
    return Candidate(key=p.key, kind=kind, support=p.support, impact=impact, facts=facts, evidence=list(p.evidence),
                     sources=list(p.sessions), first_seen=p.first_seen, last_seen=p.last_seen, fresh=p.touched,
                     pattern_keys=[p.key], taint=p.tainted, **kw)


def _top(counts: dict[str, int]) -> str | None:
    return max(counts.items(), key=lambda kv: (kv[1], -len(kv[0])))[0] if counts else None


def _error(p: Pattern, min_support: int, agg: Aggregates) -> Candidate | None:
    facts: dict[str, Any] = {"tool": p.label, "error": p.template,
                             "error_example": p.evidence[0]["excerpt"] if p.evidence else p.template}
    ext = _extension(p.template)
    if ext:
        facts["file_type"] = ext
    commands = {t[4:]: n for t, n in p.examples.items() if t.startswith("cmd:")}
    top = _top(commands)
    if top is not None and commands[top] >= 2 and commands[top] * 2 >= sum(commands.values()) and not opaque(top):
        facts["command"] = top  # the same command failed each time: the entry can name it
    edited = p.recoveries.get("edited|")  # the same call passed after the agent changed files
    clean = [r for k, r in p.recoveries.items() if k != "edited|" and not injection_findings(r.example)]
    recs = sorted(clean, key=lambda r: (-len(r.episodes), r.example))
    reliable = bool(recs) and len(recs[0].episodes) >= max(2, min_support // 2 + 1)
    flaky = _flaky(p, agg, facts, reliable)
    if flaky is not None:
        return flaky
    if reliable:
        best = recs[0]
        facts.update(recovery=best.example, recovery_tool=best.label, why=best.why,
                     alternatives=[{"example": r.example, "sessions": len(r.episodes)} for r in recs[1:3]
                                   if len(r.episodes) >= 2])
        steps = chain_of(best, min_support)
        if steps:  # the fix made a file that the same next call read: the lesson is the chain, in order
            facts["then"] = [r.example for r in steps]
        successes = min(len(steps[-1].episodes if steps else best.episodes), p.support)
        c = _from(p, "error_recovery", successes / max(1, p.support), facts, successes=successes, total=p.support)
        c.evidence = with_fix(c.evidence, best.evidence, [r.evidence for r in steps])
        return c
    if p.support < max(min_support, TOOL_ERROR_MIN_SUPPORT) or opaque(facts.get("command") or p.template):
        return None
    if len(clean) < len(p.recoveries) - (edited is not None):
        return None  # what "fixed" it was an injected command: nothing to learn, nothing to quote
    if edited is not None and len(edited.episodes) * 2 >= p.support:
        return None  # a change to the files fixed it each time: a bug being fixed, not a tool lesson
    fixed = set().union(*(r.episodes for r in recs), edited.episodes if edited is not None else set())
    if fixed:  # something did fix it, too rarely to be the lesson: the entry must not say nothing did
        facts.update(fixed=len(fixed), fix_example=recs[0].example if recs else None)
    return _from(p, "tool_error", 0.3, facts, successes=0, total=p.support)


def _flaky(p: Pattern, agg: Aggregates, facts: dict[str, Any], reliable: bool) -> Candidate | None:
    """The same call failing then passing unchanged (in the session, or passing in other sessions
    and failing again after): a flake to report, never a rule."""
    same = agg.patterns.get("flaky|" + p.key)
    retried = same.support if same is not None else 0
    passes = agg.patterns.get(f"pass|{p.label}|{mask(facts['command'])}") if facts.get("command") else None
    elsewhere = len(passes.episodes - p.episodes) if passes is not None else 0
    again = passes is not None and bool(p.last_seen and passes.first_seen and p.last_seen > passes.first_seen)
    if not retried and not (elsewhere and again and not reliable):
        return None
    if reliable and retried * 2 < p.support:
        return None  # mostly fixed by something else: a workaround, with the odd lucky retry
    tests = dict(same.examples) if same is not None else {}
    facts.update(test=_top({t: n for t, n in tests.items() if t != facts.get("command")}), retried=retried,
                 passed_elsewhere=elsewhere, failed=p.support)
    evidence = (list(same.evidence) if same is not None else []) + list(p.evidence)
    c = _from(p, "flaky", 0.0, facts, successes=retried, total=p.support)
    c.evidence = evidence[:3]
    return c


def _extension(template: str) -> str | None:
    start = template.find("<file.")
    if start < 0:
        return None
    end = template.find(">", start)
    return template[start + 6 : end] if end > start else None


def cluster(patterns: Iterable[Pattern]) -> list[list[Pattern]]:
    """Greedy clustering of near-identical texts (stem sets, Jaccard >= 0.5), biggest support first,
    never joining a text to a group with a text that says the opposite ("don't cite the page number"
    vs "always cite the page number": `dreamcli.dream.polarity`).
    An inverted index keeps it fast with thousands of one-off texts: it counts, per group, the words a
    text shares with the group's representative, so Jaccard is that count over the union's size
    (|a| + |b| - shared), the same division of the same integers as on the sets."""
    ordered = sorted(patterns, key=lambda p: (-p.support, p.key))
    sizes: list[int] = []  # words in each group's representative
    groups: list[list[Pattern]] = []
    index: dict[str, list[int]] = {}
    for p in ordered:
        words = frozenset(p.key.split("|", 1)[1].split())
        hits = Counter(chain.from_iterable(index.get(w, ()) for w in words))
        best = _most_similar(hits, len(words), sizes,
                             lambda gi: not any(opposed(polarity_of(p), polarity_of(q)) for q in groups[gi]))  # noqa: B023
        if best is None:
            groups.append([p])
            sizes.append(len(words))
            for w in words:
                index.setdefault(w, []).append(len(groups) - 1)
        else:
            groups[best].append(p)
    return groups


def _most_similar(hits: Counter[int], size: int, sizes: list[int], agrees: Callable[[int], bool]) -> int | None:
    """The group whose representative is most similar (at least CLUSTER_SIMILARITY, two shared words)
    and that `agrees`, the oldest on a tie; None when there is none."""
    best, best_sim = None, CLUSTER_SIMILARITY
    for gi in sorted(hits):
        shared = hits[gi]
        if shared < 2:
            continue
        sim = shared / (size + sizes[gi] - shared)
        if (sim > best_sim or (sim == best_sim and best is None)) and agrees(gi):
            best, best_sim = gi, sim
    return best


def polarity_of(p: Pattern) -> Polarity:
    """What a correction or note asks for and forbids (its own words: the first example, or the template)."""
    return polarity(next(iter(p.examples), None) or p.template)


def _maybe_opposed(signs: list[list[Polarity]]) -> list[tuple[int, int]]:
    """The pairs of groups (i < j, sorted) that can hold two opposite corrections on one topic: one side
    forbids something, and the two share two stems (`same_topic` needs that of two of their texts), found
    through the groups that hold each stem rather than by trying every pair."""
    topics = [frozenset().union(*(s.topic for s in g)) for g in signs]
    holders: dict[str, list[int]] = {}
    for i, topic in enumerate(topics):
        for stem in topic:
            holders.setdefault(stem, []).append(i)
    pairs: set[tuple[int, int]] = set()
    for i, group in enumerate(signs):
        if any(s.forbids for s in group):
            shared = Counter(j for stem in topics[i] for j in holders[stem] if j != i)
            pairs.update((min(i, j), max(i, j)) for j, n in shared.items() if n >= 2)
    return sorted(pairs)


def _support(group: list[Pattern]) -> int:
    return len(set().union(*(p.episodes for p in group))) + sum(p.overflow for p in group)


def _corrections(groups: list[list[Pattern]], min_support: int) -> list[Candidate]:
    """One candidate per recurring group of corrections; groups that recur and ask for opposite things
    ("always cite the page number" / "never cite the page number") become one conflict instead, never
    an entry: which one the users want is not for the dream to decide."""
    recurring = [g for g in groups if _support(g) >= min_support]
    signs = [[polarity_of(p) for p in g] for g in recurring]
    side = list(range(len(recurring)))  # union-find: groups in one conflict share a root

    def root(i: int) -> int:
        while side[i] != i:
            i = side[i]
        return i
    for i, j in _maybe_opposed(signs):  # in (i, j) order, as every pair would be: the same roots
        if any(same_topic(a, b) and opposed(a, b) for a in signs[i] for b in signs[j]):
            side[root(j)] = root(i)
    sets: dict[int, list[list[Pattern]]] = {}
    for i, g in enumerate(recurring):
        sets.setdefault(root(i), []).append(g)
    out = []
    for gs in sets.values():
        merged = [c for c in (_merged("correction", g, min_support) for g in gs) if c is not None]
        out.extend(merged if len(merged) == 1 else [_conflict(merged)])
    return out


def _conflict(sides: list[Candidate]) -> Candidate:
    """Corrections that ask for opposite things, as one candidate to report (`facts["conflict"]`)."""
    sides = sorted(sides, key=lambda c: (-c.support, c.key))
    lead = sides[0]
    facts = {**lead.facts, "conflict": [{"text": c.facts["text"], "variants": c.facts["variants"],
                                         "sessions": c.support} for c in sides]}
    return Candidate(key=lead.key, kind="correction", support=max(c.support for c in sides), impact=0.0,
                     facts=facts, evidence=[c.evidence[0] for c in sides if c.evidence][:3],
                     sources=sorted({s for c in sides for s in c.sources}, reverse=True)[:20],
                     first_seen=min((c.first_seen for c in sides if c.first_seen), default=None),
                     last_seen=max((c.last_seen for c in sides if c.last_seen), default=None),
                     fresh=any(c.fresh for c in sides), pattern_keys=[k for c in sides for k in c.pattern_keys],
                     taint=sorted({t for c in sides for t in c.taint}) if all(c.taint for c in sides) else [])


def _merged(kind: str, group: list[Pattern], min_support: int) -> Candidate | None:
    episodes: set[str] = set()
    overflow = 0
    for p in group:
        episodes |= p.episodes
        overflow += p.overflow
    support = len(episodes) + overflow
    if support < min_support:
        return None
    lead = group[0]
    examples: dict[str, int] = {}
    for p in group:
        for text, n in p.examples.items():
            examples[text] = examples.get(text, 0) + n
    # one piece of evidence per wording first, so the entry shows how differently it was said
    evidence = [p.evidence[i] for i in range(3) for p in group if i < len(p.evidence)][:3]
    sources = sorted({s for p in group for s in p.sessions}, reverse=True)[:20]
    first = min((p.first_seen for p in group if p.first_seen), default=None)
    last = max((p.last_seen for p in group if p.last_seen), default=None)
    if kind == "correction":
        facts: dict[str, Any] = {"text": _representative(examples) or lead.template,
                                 "corrections": sum(p.occurrences for p in group),
                                 "variants": sorted(examples, key=lambda t: -examples[t])[:6],
                                 "wordings": len(examples)}
        impact = 1.0
    else:
        facts = {"path": _top(examples) or lead.label, "text": lead.template,
                 "notes": sum(p.occurrences for p in group)}
        impact = 0.6
    clean = any(p.clean for p in group)
    taint = [] if clean else sorted({s for p in group for s in p.taint})
    return Candidate(key=lead.key, kind=kind, support=support, impact=impact, facts=facts, evidence=evidence,
                     sources=sources, first_seen=first, last_seen=last, fresh=any(p.touched for p in group),
                     pattern_keys=[p.key for p in group], taint=taint)


def _representative(examples: dict[str, int]) -> str | None:
    """The phrasing that says most: covers the most words of all variants, then the longest."""
    if not examples:
        return None
    union = frozenset().union(*(stems(t) for t in examples))
    return max(examples, key=lambda t: (len(stems(t) & union), examples[t] > 1, len(t)))


def _criterion(p: Pattern, agg: Aggregates, min_support: int) -> Candidate | None:
    graded = len(agg.graded.get(p.label, ())) or p.support
    rate = p.support / max(1, graded)
    if p.support < min_support or rate < CRITERION_MIN_RATE:
        return None
    reason = _top(p.examples)
    cid = p.key.split("|", 2)[2] if p.key.count("|") >= 2 else p.template
    facts = {"outcome": p.label, "criterion": cid, "failed": p.support, "graded": graded, "reason": reason,
             "description": p.template if p.template != cid else None}  # the spec's words, when a grade named it
    return _from(p, "criterion", min(1.0, rate * 1.5), facts, successes=None, total=graded)


def _cost_outliers(agg: Aggregates, min_support: int, new_episodes: set[str]) -> list[Candidate]:
    by_task: dict[str, list[tuple[str, list[Any]]]] = {}
    for ep, rec in agg.episodes.items():
        if rec[0]:
            by_task.setdefault(rec[0], []).append((ep, rec))
    out = []
    for task, items in sorted(by_task.items()):
        if len(items) < COST_MIN_EPISODES:
            continue
        median = statistics.median(r[1] for _, r in items)
        if median <= 0:
            continue
        outliers = sorted(((ep, r) for ep, r in items if r[1] > COST_OUTLIER_RATIO * median), key=lambda x: -x[1][1])
        if len(outliers) < min_support:
            continue
        mean = sum(r[1] for _, r in outliers) / len(outliers)
        truncated = sum(1 for _, r in outliers if r[3])
        examples: dict[str, int] = {}
        for _, r in outliers:
            if r[4]:
                examples[r[4]] = examples.get(r[4], 0) + 1
        normal_calls = statistics.median(r[2] for _, r in items)
        facts = {"task": task, "median_cost": round(median, 4), "outlier_cost": round(mean, 4),
                 "ratio": round(mean / median, 1), "outliers": len(outliers), "episodes": len(items),
                 "truncated": truncated, "example": _top(examples),
                 "outlier_calls": round(sum(r[2] for _, r in outliers) / len(outliers), 1),
                 "median_calls": normal_calls}
        evidence = [{"session_id": ep, "seq": None,
                     "excerpt": f"cost ${r[1]:.3f} ({r[1] / median:.0f}x the median), {r[2]} tool calls, "
                                f"{r[3]} truncated outputs"} for ep, r in outliers[:3]]
        eps = [ep for ep, _ in outliers]
        out.append(Candidate(key=f"cost|{task}", kind="cost_outlier", support=len(outliers),
                             impact=min(1.0, mean / median / 10), facts=facts, evidence=evidence,
                             sources=sorted(eps, reverse=True)[:20], first_seen=None, last_seen=None,
                             fresh=bool(new_episodes.intersection(eps)), pattern_keys=[f"cost|{task}"],
                             total=len(items)))
    return out
