"""An imported sub-agent that names its lead by transcript only (`import.parent_source_id`) follows its lead into
the playbook's scope, as a sub-agent dreamcli ran (`parent_session_id`) does (docs/dream.md, "Scope"): a lead in
scope brings in a delegated sub-agent whose own task the scope does not name, whichever of the two a dream reads
first, on any number of workers.

Before: the imported child was judged by its own task only, so a playbook scoped to the lead's task read the
lead and left the child out (`out_of_scope`): its lessons were lost, though the listing puts it under the lead
and the dream counts it in the lead's episode."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from dreamcli.config import Config
from dreamcli.dream import aggregates
from dreamcli.dream.aggregates import Aggregates
from dreamcli.dream.engine import DreamOptions, run_dream
from dreamcli.dream.executors import use_executor
from dreamcli.dream.watermark import load_aggregates
from dreamcli.outcomes.store import append_grade
from dreamcli.workspace.home import Workspace
from tests.dream.test_imported_subagent_episodes import InProcess
from tests.support.imported_pairs import at, pair, session
from tests.support.playbooks import write_playbook

NOW = datetime(2030, 1, 1, tzinfo=UTC)
KINDS = ("native", "imported")


@pytest.fixture
def scoped(ws: Workspace) -> Workspace:
    """The default playbook scoped to the lead's task (`lead-task`) only."""
    write_playbook(ws, "default", [], scope={"tasks": ["lead-task"]})
    return ws


def dream(ws: Workspace, *, workers: int = 1, **options: Any) -> dict[str, Any]:
    """The `inputs` of an offline dream, on one worker or two (the lead and its child in different chunks)."""
    with use_executor(InProcess() if workers == 2 else None):
        return dict(run_dream(ws, Config(), DreamOptions(offline=True, now=NOW, **options)).dream["inputs"])


def read(inputs: dict[str, Any]) -> tuple[int, int, int]:
    return inputs["sessions"], inputs["episodes"], inputs["out_of_scope"]


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("kind", KINDS)
def test_a_sub_agent_of_another_task_follows_its_lead_into_scope(scoped: Workspace, kind: str, workers: int) -> None:
    lead, kid = pair(scoped, kind)
    assert read(dream(scoped, workers=workers)) == (2, 1, 0)
    agg = load_aggregates(scoped, "default")
    assert agg.parents == {kid: lead} and set(agg.episodes) == {lead}
    assert {ep for p in agg.patterns.values() for ep in p.episodes} == {lead}


@pytest.mark.parametrize("kind", KINDS)
def test_a_lead_out_of_scope_leaves_its_sub_agent_out(scoped: Workspace, kind: str) -> None:
    pair(scoped, kind, lead_task="other-task")
    assert read(dream(scoped)) == (0, 0, 2)
    agg = load_aggregates(scoped, "default")
    assert (agg.unlinked, agg.outside) == ({}, {})  # nothing waits: its lead was read, out of scope


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("order", ["lead-dreamed-first", "child-dreamed-first"])
def test_whichever_a_dream_reads_first(scoped: Workspace, order: str, workers: int) -> None:
    """Lead first: the child, read alone by the next dream, joins the lead the state holds. Child first: it is
    out of scope on its own, so the dream reads its first line only; the dream that reads its lead in scope
    reads it then, whole, in the lead's episode. Either way, what `--all` makes of the two."""
    lead, kid = at(0), at(1)
    if order == "lead-dreamed-first":
        session(scoped, lead, "lead-task", transcript="L")
        assert read(dream(scoped, workers=workers)) == (1, 1, 0)
        session(scoped, kid, "kid-task", transcript="L/k", names="L")
        assert read(dream(scoped, workers=workers)) == (1, 1, 0)
    else:
        session(scoped, kid, "kid-task", transcript="L/k", names="L")
        assert read(dream(scoped, workers=workers)) == (0, 0, 1)
        session(scoped, lead, "lead-task", transcript="L")
        assert read(dream(scoped, workers=workers)) == (2, 1, 0)
    agg = load_aggregates(scoped, "default")
    assert agg.parents == {kid: lead} and set(agg.episodes) == {lead}
    assert {ep for p in agg.patterns.values() for ep in p.episodes} == {lead}
    kept = {k: v for k, v in agg.to_json().items() if k not in ("sessions_seen", "proposed")}
    assert read(dream(scoped, workers=workers, all=True)) == (2, 1, 0)
    assert {k: v for k, v in load_aggregates(scoped, "default").to_json().items()
            if k not in ("sessions_seen", "proposed")} == kept


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("order", ["one-dream", "lead-dreamed-last"])
def test_a_grandchild_follows_too(scoped: Workspace, order: str, workers: int) -> None:
    """An imported sub-agent of an imported sub-agent, both of another task than the lead: in scope with it."""
    lead, kid, grandkid = at(0), at(1), at(2)
    session(scoped, kid, "kid-task", transcript="L/k", names="L")
    session(scoped, grandkid, "kid-task", transcript="L/k/g", names="L/k")
    if order == "lead-dreamed-last":
        assert read(dream(scoped, workers=workers)) == (0, 0, 2)
    session(scoped, lead, "lead-task", transcript="L")
    assert read(dream(scoped, workers=workers)) == (3, 1, 0)
    agg = load_aggregates(scoped, "default")
    assert agg.parents == {kid: lead, grandkid: kid} and set(agg.episodes) == {lead}
    assert (agg.unlinked, agg.outside, agg.other_scopes) == ({}, {}, 0)


def test_a_child_whose_lead_never_comes_waits_out_of_scope(scoped: Workspace) -> None:
    """It is read by no dream (its lead is not in the workspace), and the state keeps it waiting, bounded."""
    session(scoped, at(1), "kid-task", transcript="L/k", names="L")
    session(scoped, at(2), "other-task", transcript="M")
    assert read(dream(scoped)) == (0, 0, 2)
    assert read(dream(scoped, all=True)) == (0, 0, 2)
    assert load_aggregates(scoped, "default").to_json()["outside"] == {at(1): ["codex", "L"]}


def test_a_late_grade_of_the_sub_agent_counts(scoped: Workspace) -> None:
    """A grade appended after the child was dreamed (read again from grades.jsonl by the next dream) counts for
    the lead's episode, as one of a sub-agent dreamcli ran would."""
    _lead, kid = pair(scoped, "imported")
    dream(scoped)
    append_grade(scoped, {"session_id": kid, "outcome": "late-check", "result": "needs_revision", "score": 0.0,
                          "criteria": [{"id": "late", "passed": False, "reason": "failed late"}]})
    assert dream(scoped)["graded"] == 1


def test_the_waiting_ones_round_trip_and_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """`outside` is stored and loaded back as it was; `prune` keeps the most recent MAX_PARENTS, as of `unlinked`."""
    agg = Aggregates()
    agg.outside = {at(10 + i): ("transcript", "codex", f"X{i}") for i in range(4)}
    back = Aggregates.from_json(json.loads(json.dumps(agg.to_json())))
    assert back.outside == agg.outside and back.unlinked == {}
    monkeypatch.setattr(aggregates, "MAX_PARENTS", 2)
    agg.prune()
    assert sorted(agg.outside) == [at(12), at(13)]
