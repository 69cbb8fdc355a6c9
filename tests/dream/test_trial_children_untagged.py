"""A sub-agent of a trial is a trial, with its lead's tags or without them (review s8a defect 3): the release
before the trial tags on sub-agents wrote them with only `parent_session_id`, so every workspace's earlier
pilots hold such children. The dream knows them by their lead (met first in the same scan), on one worker or
with the lead read by another worker than the child (docs/dream.md, "Never trials")."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.dream.aggregates import Aggregates
from dreamcli.dream.executors import use_executor
from dreamcli.dream.scan import Scanned, scan_files
from dreamcli.dream.selection import PlaybookScope
from dreamcli.sessions.paths import session_path
from dreamcli.sessions.reader import ReadStats
from dreamcli.sessions.writer import SessionWriter
from dreamcli.workspace.home import Workspace
from tests.support.playbooks import write_playbook

DREAM = "dream-01JD3Z0000000000000000000"
LIVE = [{"playbook": "default", "version": 2, "entry_ids": ["pb-live0001"]}]
PILOT = {"pilot": {"id": "01JD3Z00000000000000PILOT", "arm": "candidate", "trial": 0, "task": "t#1",
                   "dream_id": DREAM}}
WITH_PROPOSAL = {"with_proposal": DREAM, "trial": {"dream_id": DREAM, "playbook": "default", "base_version": 2,
                                                   "entry_ids": ["pb-pilot001"], "refused": []}}
NOW = datetime(2030, 1, 1, tzinfo=UTC)


def session(ws: Workspace, tags: dict[str, Any], *, parent: str | None = None,
            playbooks: list[dict[str, Any]] | None = None, error: str = "contract.docx is a binary file") -> str:
    """A finished session with a tool error (a sub-agent: `parent_session_id` and nothing else of its lead)."""
    w = SessionWriter(ws)
    extra = {"agent": "subagent", "brief": "Read the contract."} if parent else {}
    w.start(task={"name": "contract-review", "prompt": "List the clauses."}, model="claude-sonnet-5-5",
            workdir="/tmp/w", playbooks=LIVE if playbooks is None else playbooks, parent_session_id=parent,
            **extra, **tags)
    w.message("user", [{"type": "text", "text": "List the clauses."}])
    w.message("assistant", [{"type": "tool_use", "id": "toolu_1", "name": "read",
                             "input": {"file_path": "contract.docx"}}], stop_reason="tool_use")
    w.tool(tool_use_id="toolu_1", name="read", error_kind="exception")
    w.message("user", [{"type": "tool_result", "tool_use_id": "toolu_1", "is_error": True, "content": error}])
    w.end("completed", totals={"turns": 2, "cost_usd": 0.01})
    return w.session_id


def dream(ws: Workspace) -> dict[str, Any]:
    r = CliRunner().invoke(app, ["--home", str(ws.root), "dream", "--offline", "--dry-run", "--json",
                                 "--min-support", "2"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


@pytest.fixture
def live(ws: Workspace) -> Workspace:
    write_playbook(ws, "default", [("pb-live0001", "Tools", "Use pandoc for docx.")], version=2)
    return ws


@pytest.mark.parametrize("tags", [PILOT, WITH_PROPOSAL], ids=["pilot", "with_proposal"])
def test_untagged_subagents_of_trials_teach_nothing(live: Workspace, tags: dict[str, Any]) -> None:
    for _ in range(3):
        lead = session(live, tags)
        for _ in range(2):
            session(live, {}, parent=lead)  # as the older release wrote them: no trial tags
    result = dream(live)
    inputs = result["inputs"]
    assert (inputs["sessions"], inputs["episodes"], inputs["trials"]) == (0, 0, 9)
    assert inputs["out_of_scope"] == 0
    assert result["operations"] == []


def test_a_real_lead_keeps_its_untagged_subagents(live: Workspace) -> None:
    """Only a trial's children are left out: real work's sub-agents are read as before."""
    for _ in range(2):
        lead = session(live, {})
        session(live, {}, parent=lead)
    trial = session(live, PILOT)
    session(live, {}, parent=trial)
    inputs = dream(live)["inputs"]
    assert (inputs["sessions"], inputs["episodes"], inputs["trials"]) == (4, 2, 2)


class InProcess:
    """A map run here, one chunk after the other: what a pool of `workers` would return, in order."""

    workers = 2

    def map(self, fn: Callable[..., Any], tasks: Sequence[tuple[Any, ...]]) -> Iterator[Any]:
        for args in tasks:
            yield fn(*args)


def scan(files: list[Path], executor: Any) -> tuple[Scanned, Aggregates, ReadStats]:
    agg = Aggregates()
    with use_executor(executor):
        read, stats = scan_files(files, agg, playbook="default", scope=PlaybookScope("default"), now=NOW)
    return read, agg, stats


def test_the_lead_read_by_another_worker_still_makes_its_child_a_trial(ws: Workspace) -> None:
    """Chunks of about one file: each lead and its untagged child land in different chunks (workers). The
    worker hands such a child back to the main process, which reads it after its lead, as one worker does."""
    trial = session(ws, PILOT)
    child = session(ws, {}, parent=trial, error="pandoc: unknown reader docx")
    real = session(ws, {})
    # bound to another playbook: out of its own scope, it follows its in-scope lead, as on one worker
    helper = session(ws, {}, parent=real, playbooks=[{"playbook": "other", "version": 1, "entry_ids": []}],
                     error="grep: contract.txt: No such file or directory")
    files = [session_path(ws, sid) for sid in (trial, child, real, helper)]
    read, agg, stats = scan(files, InProcess())
    assert read.trials == 2 and child not in read.ids
    assert read.ids == {real, helper} and read.episodes == {real}
    assert not [k for k in agg.patterns if "pandoc" in k]  # nothing of the trial's child was learnt
    one, one_agg, one_stats = scan(files, type("One", (InProcess,), {"workers": 1})())
    assert (one.trials, one.ids, one.episodes, one.out_of_scope) == (2, read.ids, read.episodes, 0)
    assert (stats.lines, stats.bytes) == (one_stats.lines, one_stats.bytes)
    assert json.dumps(one_agg.to_json(), sort_keys=True, default=sorted) == \
        json.dumps(agg.to_json(), sort_keys=True, default=sorted)

