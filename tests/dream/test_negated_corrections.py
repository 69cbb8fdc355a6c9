"""Opposite user corrections ("always cite the page number" / "don't cite the page number") are never
one entry: a negation splits them, the opposite wording is never support or evidence, and when both
recur neither is proposed; the report lists the conflict under "Not proposed" (review-dream defect 2)."""

from __future__ import annotations

from pathlib import Path

from dreamcli.config import Config
from dreamcli.dream.aggregates import Aggregates
from dreamcli.dream.candidates import build_candidates, cluster
from dreamcli.dream.engine import DreamOptions, run_dream
from dreamcli.dream.polarity import opposed, polarity
from dreamcli.words import stems
from dreamcli.workspace.home import Workspace
from tests.dream.correction_sessions import correction_session

ALWAYS = ["No, always cite the page number for each clause.", "Always cite the page number, please.",
          "Again, cite the page number for every clause."]
NEVER = ["Don't cite the page number for each clause; cite the section number.",
         "Never cite the page number, cite the section.",
         "No page numbers please, cite the section number for every clause."]


def _dream(ws: Workspace) -> tuple[list[str], str]:
    result = run_dream(ws, Config(), DreamOptions(offline=True))
    return [op.text or "" for op in result.operations if op.op == "add"], result.report


def test_opposite_corrections_that_both_recur_are_reported_not_proposed(tmp_path: Path) -> None:
    ws = Workspace(root=tmp_path / "ws", source="option").ensure_layout()
    for text in ALWAYS + NEVER:
        correction_session(ws, text)
    texts, report = _dream(ws)
    assert not [t for t in texts if "page number" in t]  # neither side becomes an entry
    not_proposed = report.split("## Not proposed", 1)[1]
    assert "Conflicting corrections, neither proposed" in not_proposed
    assert "3 sessions \"Always cite the page number for each clause.\"" in not_proposed
    assert "Don't cite the page number" in not_proposed or "Never cite the page number" in not_proposed


def test_an_opposite_wording_is_never_support_or_evidence(tmp_path: Path) -> None:
    ws = Workspace(root=tmp_path / "ws", source="option").ensure_layout()
    for text in [*ALWAYS, NEVER[0]]:  # the opposite said once: not a conflict, but not support either
        correction_session(ws, text)
    result = run_dream(ws, Config(), DreamOptions(offline=True))
    (op,) = [op for op in result.operations if op.op == "add" and op.kind == "correction"]
    assert op.support.sessions == 3 and "3 sessions" in (op.text or "")
    assert not any("Don't" in e.excerpt for e in op.evidence)


def _correction(agg: Aggregates, text: str, episode: str) -> None:
    pat = agg.pattern("correction", " ".join(sorted(stems(text))), "user", text)
    pat.observe(episode, episode, "2026-10-01T00:00:00Z", {"session_id": episode, "seq": 3, "excerpt": text})
    pat.example(text)


def test_cluster_splits_on_negation_and_keeps_agreeing_wordings_together() -> None:
    agg = Aggregates()
    for i, text in enumerate(ALWAYS + NEVER):
        _correction(agg, text, f"s{i}")
    groups = cluster(p for p in agg.patterns.values())
    for g in groups:
        said = [next(iter(p.examples)) for p in g]
        assert not (set(said) & set(ALWAYS) and set(said) & set(NEVER)), said
    (c,) = [c for c in build_candidates(agg, min_support=2, new_episodes=set()) if c.kind == "correction"]
    assert c.facts.get("conflict") and sorted(x["sessions"] for x in c.facts["conflict"]) == [3, 3]


def test_polarity_tells_a_prohibition_from_a_contrast_a_complaint_and_a_double_negative() -> None:
    always = polarity("Always cite the page number for each clause.")
    assert opposed(always, polarity("Don't cite the page number; cite the section number."))
    assert opposed(always, polarity("Cite section numbers, not page numbers."))
    assert opposed(polarity("Use pathlib for paths instead of os.path."), polarity("Use os.path, not pathlib."))
    # the same request in other words
    assert not opposed(polarity("Cite section numbers, not page numbers."),
                       polarity("Don't cite page numbers; cite the section number."))
    assert not opposed(polarity("Use pathlib instead of os.path."), polarity("Prefer pathlib over os.path."))
    assert not opposed(polarity("Cite clauses by section number, not by page: page numbers change."),
                       polarity("Cite each clause by its section number, not by the page it is on."))
    # a complaint, "not just" and a double negative ask for the thing
    assert not opposed(always, polarity("You did not cite the page number."))
    assert not opposed(always, polarity("Please cite the page number too, not just the clause title."))
    assert not opposed(always, polarity("Don't forget to cite the page number."))


def test_the_pairs_tried_for_opposition_hold_every_opposed_pair() -> None:
    """`_maybe_opposed` finds candidate pairs through shared stems, not every pair: it must miss none."""
    from itertools import combinations

    from dreamcli.dream.candidates import _maybe_opposed
    from dreamcli.dream.polarity import opposed, polarity, same_topic

    texts = ["Always cite the page number.", "Never cite the page number, cite the section.",
             "Don't use tabs for indentation.", "Use tabs for indentation.", "Stop running the full suite.",
             "Run the full suite before you push.", "Prefer pathlib over os.path.", "Use os.path here.",
             "Write the summary in French.", "Avoid passive voice in the summary.", "Keep the summary short."]
    groups = [[polarity(t)] for t in texts] + [[polarity(texts[0]), polarity(texts[3])]]
    brute = {(i, j) for i, j in combinations(range(len(groups)), 2)
             if any(same_topic(a, b) and opposed(a, b) for a in groups[i] for b in groups[j])}
    tried = _maybe_opposed(groups)
    assert brute and brute <= set(tried) and tried == sorted(tried)
