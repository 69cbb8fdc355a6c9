"""The dream's serial stages made cheaper must give what the plain versions gave: the token budget's
bisection drops the adds the one-by-one loop dropped, clustering by shared-word counts groups as Jaccard
on the sets did, and grade lines read with the fast codec are the lines json read."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from dreamcli.dream import curation
from dreamcli.dream.aggregates import Pattern
from dreamcli.dream.candidates import CLUSTER_SIMILARITY, cluster
from dreamcli.dream.curation import Curated, _enforce_budget, tokens_after
from dreamcli.dream.grades import _records
from dreamcli.outcomes.store import grades_path
from dreamcli.playbooks import Entry, new_playbook
from dreamcli.playbooks.format import token_estimate
from dreamcli.playbooks.proposal_model import Operation, Support
from dreamcli.words import jaccard
from dreamcli.workspace.home import Workspace


def _add(i: int, sessions: int, impact: float, text: str | None = None) -> Operation:
    return Operation(entry_id=f"pb-add{i:04d}", op="add", section="Corrections", kind="correction",
                     text=text or f"Rule {i}: always check the {i}th widget before the release " + "x" * (i % 7 * 9),
                     signature=f"correction|{i}", support=Support(sessions=sessions), impact=impact)


def _loop_budget(playbook: Any, ops: list[Operation], budget: int) -> Curated:
    """The budget as it was enforced: drop the `min` add, render, again."""
    out = Curated(operations=list(ops))
    out.tokens_before = token_estimate(playbook)
    while True:
        out.tokens_after = tokens_after(playbook, out.operations, "default")
        adds = [op for op in out.operations if op.op == "add" and op.target == "playbook"]
        if out.tokens_after <= budget or not adds:
            return out
        worst = min(adds, key=lambda op: op.support.sessions * (0.5 + (op.impact or 0)))
        out.operations.remove(worst)
        out.dropped.append({"key": worst.signature, "why": f"over the token budget ({budget} tokens)",
                            "text": worst.text, "reason": "over_budget"})


def _playbook() -> Any:
    pb = new_playbook("default")
    for i in range(3):
        pb.add_entry(Entry(id=f"pb-oldent{i}", text=f"An entry already there, number {i}."), "Corrections")
    return pb


def _ops(rng: random.Random, n: int) -> list[Operation]:
    # few distinct scores, so ties (dropped in list order) are common
    ops = [_add(i, rng.choice([2, 3, 5]), rng.choice([0.0, 0.5, 1.0])) for i in range(n)]
    ops.insert(n // 2, Operation(entry_id="pb-oldent1", op="retire", old_text="An entry already there, number 1.",
                                 kind="stale", support=Support(sessions=1), impact=0.0))
    return ops


def _same(a: Curated, b: Curated) -> None:
    assert a.dropped == b.dropped
    assert (a.tokens_before, a.tokens_after) == (b.tokens_before, b.tokens_after)
    assert [op.entry_id for op in a.operations] == [op.entry_id for op in b.operations]


def test_budget_bisection_drops_what_the_loop_dropped(monkeypatch: Any) -> None:
    rng = random.Random(7)
    pb = _playbook()
    calls: list[int] = []

    def counted(*a: Any) -> int:
        calls.append(1)
        return tokens_after(*a)

    monkeypatch.setattr(curation, "tokens_after", counted)
    for n in (1, 5, 17, 40):
        ops = _ops(rng, n)
        full = tokens_after(pb, ops, "default")
        for budget in (0, token_estimate(pb), full // 2, full - 1, full, full + 50):
            want = _loop_budget(pb, ops, budget)
            got = Curated(operations=list(ops))
            calls.clear()
            _enforce_budget(pb, got, budget, "default")
            _same(got, want)
            assert len(calls) <= 2 + n.bit_length()  # the point: log n renders, not one per add dropped


def test_budget_with_adds_saying_the_same_falls_back_to_the_loop() -> None:
    pb = _playbook()
    ops = [_add(1, 2, 0.0, "Check the widget first."), _add(2, 9, 1.0, "Check the widget FIRST."),
           *(_add(i, 3, 0.5) for i in range(3, 12))]
    full = tokens_after(pb, ops, "default")
    for budget in range(token_estimate(pb), full + 1, 7):
        want = _loop_budget(pb, ops, budget)
        got = Curated(operations=list(ops))
        _enforce_budget(pb, got, budget, "default")
        _same(got, want)


def _jaccard_cluster(patterns: list[Pattern]) -> list[list[Pattern]]:
    """The clustering as it was: Jaccard on the stem sets."""
    ordered = sorted(patterns, key=lambda p: (-p.support, p.key))
    reps: list[frozenset[str]] = []
    groups: list[list[Pattern]] = []
    for p in ordered:
        words = frozenset(p.key.split("|", 1)[1].split())
        best, best_sim = None, CLUSTER_SIMILARITY
        for gi, rep in enumerate(reps):
            if len(words & rep) < 2:
                continue
            sim = jaccard(words, rep)
            if sim > best_sim or (sim == best_sim and best is None):
                best, best_sim = gi, sim
        if best is None:
            groups.append([p])
            reps.append(words)
        else:
            groups[best].append(p)
    return groups


def test_cluster_groups_as_jaccard_on_the_sets_did() -> None:
    rng = random.Random(3)
    vocab = [f"w{i}" for i in range(14)]
    patterns = []
    for _ in range(400):
        p = Pattern(kind="correction", key=f"correction|{' '.join(sorted(set(rng.sample(vocab, rng.randint(1, 6)))))}")
        p.episodes = {f"e{j}" for j in range(rng.randint(1, 4))}
        patterns.append(p)
    patterns = list({p.key: p for p in patterns}.values())
    assert [[p.key for p in g] for g in cluster(patterns)] == [[p.key for p in g] for g in _jaccard_cluster(patterns)]


def test_grade_lines_read_as_json_read_them(ws: Workspace) -> None:
    lines = [
        {"session_id": "S1", "outcome": "o", "result": "needs_revision", "ts": "2026-01-01",
         "criteria": [{"id": "c", "passed": False, "reason": "r\u00e9"}]},
        'NaN-score',
        "not json",
        "[" * 100_000 + "]" * 100_000,
        {"session_id": "S2", "outcome": "o", "result": "satisfied", "ts": "2026-01-02", "criteria": []},
    ]
    raw = []
    for line in lines:
        if line == "NaN-score":  # json.loads reads NaN; the codec does not: read it all the same
            raw.append('{"session_id":"S3","outcome":"o","result":"satisfied","score":NaN,"ts":"2026-01-03"}')
        else:
            raw.append(line if isinstance(line, str) else json.dumps(line, ensure_ascii=False))
    path = Path(grades_path(ws))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(raw) + "\n", encoding="utf-8")
    latest, end = _records(ws, 0)
    assert end == path.stat().st_size
    assert sorted(latest) == [("S1", "o"), ("S2", "o"), ("S3", "o")]
    assert latest[("S1", "o")]["criteria"] == [{"id": "c", "passed": False, "reason": "r\u00e9"}]
