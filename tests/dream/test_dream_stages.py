"""The dream's stages one by one (select -> scan -> aggregate -> synthesize -> curate -> lint):
each runs alone on what the one before produced, and none of them writes anything."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dreamcli.config import Config
from dreamcli.dream import stages
from dreamcli.dream.options import DreamOptions
from dreamcli.playbooks.proposal_model import Operation, Proposal, parse_proposal
from dreamcli.testing.synthetic import GenConfig, generate
from dreamcli.workspace.home import Workspace

pytestmark = pytest.mark.usefixtures("no_model")  # dreams run offline

AWS_KEY = "AKIAIOSFODNN7EXAMPLE"


def _files(root: Path) -> set[str]:
    return {os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs}


def test_each_stage_alone_and_nothing_is_written(tmp_path: Path) -> None:
    ws = Workspace(root=tmp_path / "ws", source="option").ensure_layout()
    generate(ws, GenConfig(sessions=30, seed=7, size_kb=2, start=datetime(2026, 10, 1, tzinfo=UTC), days=10))
    before = _files(ws.root)
    config, opts = Config(), DreamOptions()

    sel = stages.select(ws, config, opts)
    assert (sel.name, sel.mode, sel.offline, len(sel.paths)) == ("default", "new", True, 30)
    assert not sel.nothing_new()

    found = stages.scan(ws, sel, opts)
    assert len(found.read.ids) == 30 and found.agg.patterns and found.bytes > 0

    ranked, fresh = stages.aggregate(found, config, opts)
    assert fresh and all(c.support >= config.dream.min_support for c in ranked)

    texts = stages.synthesize(ws, sel, found, ranked, fresh, config, opts)
    assert set(texts.texts) == {c.key for c in fresh} and texts.usage["model_calls"] == 0

    curated, operations = stages.curate_all(ws, sel, found, texts, config, opts)
    assert operations and all(isinstance(o, Operation) and o.evidence for o in operations if o.op == "add")

    operations.append(Operation(entry_id="pb-secret01", op="add", text=f"Use the key {AWS_KEY}."))
    linted, findings = stages.lint(operations, curated, config)
    secret = next(o for o in linted if o.entry_id == "pb-secret01")
    assert AWS_KEY not in (secret.text or "") and [f.rule for f in secret.blocking] == ["secret"]
    assert findings == []

    proposal = stages.build_proposal(sel, "01JD3Z0000000000000000STG1", "2026-11-24T03:00:00.000Z", linted,
                                     findings, curated, config, opts)
    assert isinstance(proposal, Proposal)
    again = parse_proposal(proposal.to_json(), "proposal.json")  # what the file stores reads back the same
    assert again.to_json() == proposal.to_json()
    assert _files(ws.root) == before  # no stage wrote anything


def test_select_reports_nothing_new_after_a_dream(tmp_path: Path) -> None:
    from dreamcli.dream.engine import run_dream

    ws = Workspace(root=tmp_path / "ws", source="option").ensure_layout()
    generate(ws, GenConfig(sessions=5, seed=3, size_kb=2, start=datetime(2026, 10, 1, tzinfo=UTC), days=2))
    run_dream(ws, Config(), DreamOptions())
    assert stages.select(ws, Config(), DreamOptions()).nothing_new()
    assert not stages.select(ws, Config(), DreamOptions(all=True)).nothing_new()
