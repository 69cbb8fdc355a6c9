"""The quality test of issue 5: over a generated corpus with planted recurring patterns mixed with
one-off noise, the offline dream proposes every planted pattern seen in >= 3 sessions (episodes) and
nothing from one-off noise."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dreamcli.config import Config
from dreamcli.dream.engine import DreamOptions, run_dream
from dreamcli.dream.proposal import read_proposal
from dreamcli.testing.synthetic import GenConfig, Manifest, generate
from dreamcli.workspace.home import Workspace

Op = dict[str, Any]


def _has(kind: str, *words: str) -> Callable[[Op], bool]:
    return lambda op: op.get("kind") == kind and all(w.lower() in (op.get("text") or "").lower() for w in words)


# planted pattern key -> how its proposal is recognised
EXPECTED: dict[str, Callable[[Op], bool]] = {
    "docx-read-fails": _has("error_recovery", ".docx", "binary file"),
    "docx-unzip": _has("error_recovery", ".docx", "unzip -p FILE.docx"),
    "docx-pandoc": _has("error_recovery", ".docx", "pandoc -t plain FILE.docx"),
    "pdf-read-fails": _has("error_recovery", ".pdf", "binary file"),
    "pdf-pdftotext": _has("error_recovery", ".pdf", "pdftotext"),
    "citation-correction": _has("correction", "section number", "page"),
    "grep-gz-zgrep": _has("error_recovery", "grep", "zgrep"),
    "loop-grep-egfr": _has("loop", "egfr"),
    "memory-med-list": _has("memory_note", "medication list"),
    "cost-outlier": _has("cost_outlier", "build-log-triage"),
}


def _expected(key: str) -> Callable[[Op], bool]:
    if key.startswith("criterion-"):
        return _has("criterion", key.removeprefix("criterion-"))
    return EXPECTED[key]


@pytest.fixture(scope="module", params=[(120, 11), (90, 4)], ids=["120-sessions", "90-sessions"])
def dreamed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
            ) -> tuple[Manifest, list[Op], list[Op]]:
    sessions, seed = request.param
    ws = Workspace(root=tmp_path_factory.mktemp("quality") / "ws", source="option")
    manifest = generate(ws, GenConfig(sessions=sessions, seed=seed, size_kb=3))
    mp = pytest.MonkeyPatch()
    for var in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "ANTHROPIC_AUTH_TOKEN"):
        mp.delenv(var, raising=False)
    try:
        result = run_dream(ws, Config(), DreamOptions())
    finally:
        mp.undo()
    assert result.status == "pending" and result.dream_id
    proposal = read_proposal(ws, result.dream_id)
    ops = proposal["operations"]
    return manifest, [o for o in ops if o["target"] == "playbook"], [o for o in ops if o["target"] == "memory"]


def test_every_pattern_in_three_or_more_episodes_is_proposed(dreamed: tuple[Manifest, list[Op], list[Op]]) -> None:
    manifest, ops, _ = dreamed
    frequent = [k for k in manifest.patterns if manifest.support(k) >= 3]
    assert len(frequent) >= 8  # the corpus really exercises the planted patterns
    missing = [k for k in frequent if not any(_expected(k)(op) for op in ops)]
    assert not missing, f"planted patterns not proposed: {missing}\n" + "\n".join(o["text"] for o in ops)


def test_nothing_comes_from_one_off_noise(dreamed: tuple[Manifest, list[Op], list[Op]]) -> None:
    manifest, ops, _ = dreamed
    assert len(manifest.noise_terms) > 20  # plenty of noise was mixed in
    noise = re.compile(r"\b(" + "|".join(map(re.escape, manifest.noise_terms)) + r")\b", re.I)
    for op in ops:
        blob = " ".join([op.get("text") or "", *(e.get("excerpt", "") for e in op.get("evidence") or [])])
        assert not noise.search(blob), f"noise in a proposed entry: {blob}"
        # and every proposal is explained by a planted pattern (with >= min_support episodes)
        assert any(_expected(k)(op) for k in manifest.patterns if manifest.support(k) >= 2), op["text"]


def test_support_counts_episodes_and_evidence_links_sessions(dreamed: tuple[Manifest, list[Op], list[Op]]) -> None:
    manifest, ops, _ = dreamed
    zgrep = next(op for op in ops if _expected("grep-gz-zgrep")(op))
    assert zgrep["support"]["sessions"] == manifest.support("grep-gz-zgrep")  # sub-agents count once
    docx = next(op for op in ops if _expected("docx-read-fails")(op))
    assert docx["support"]["sessions"] == manifest.support("docx-read-fails")
    assert docx["support"]["successes"] == manifest.support("docx-unzip")
    for op in ops:
        assert op["entry_id"].startswith("pb-") and len(op["entry_id"]) == 11
        assert op["evidence"] and all(e["session_id"] for e in op["evidence"])
        assert op["metadata"]["sources"] and op["metadata"]["first_seen"] <= op["metadata"]["last_seen"]


def test_memory_store_is_tidied(dreamed: tuple[Manifest, list[Op], list[Op]], tmp_path: Path) -> None:
    _, _, mem = dreamed
    kinds = {op["kind"] for op in mem}
    assert "memory_duplicate" in kinds  # the two notes saying the stale list thing
    merge = next(op for op in mem if op["kind"] == "memory_duplicate")
    assert merge["op"] == "merge" and merge["merged_paths"] and merge["path"].startswith("/memories/")
    assert all(op["entry_id"].startswith("mem-") for op in mem)
