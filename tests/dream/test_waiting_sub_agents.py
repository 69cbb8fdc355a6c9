"""An imported sub-agent that waits in the dream's state (`outside` in `aggregates.json`: read to its first line
only, out of scope on its own, its lead not read yet) is read whole, once, by the dream that reads its lead in
scope, and that dream ends with the state `--all` makes, on any number of workers (docs/dream.md, "Scope").

Before: a waiting child imported again (its transcript grew) was read twice by the dream that read it with its
lead on one worker (its mistake counted 3 times, its cost twice), and left `other_scopes` counting it on two; a
grade of the child that an earlier dream read while the child was out of scope was lost; and the ids `outside`
held went to a session file's path unchecked (`../` included)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dreamcli.dream.watermark import load_aggregates, state_dir
from dreamcli.outcomes.store import append_grade
from dreamcli.sessions.arrivals import record_arrivals
from dreamcli.sessions.paths import session_path
from dreamcli.workspace.home import Workspace
from tests.dream.test_imported_subagent_scope import dream, read
from tests.support.imported_pairs import at, session
from tests.support.playbooks import write_playbook

LEAD, KID = at(0), at(1)


@pytest.fixture
def scoped(ws: Workspace) -> Workspace:
    """The default playbook scoped to the lead's task (`lead-task`) only."""
    write_playbook(ws, "default", [], scope={"tasks": ["lead-task"]})
    return ws


def state(ws: Workspace) -> dict[str, Any]:
    """The stored state, but what differs between dreams over the same sessions (counters, proposals)."""
    return {k: v for k, v in load_aggregates(ws, "default").to_json().items() if k not in ("sessions_seen", "proposed")}


def child_waits(ws: Workspace, workers: int) -> None:
    """The child alone is dreamed: out of scope (its lead's task is the playbook's), it waits."""
    session(ws, KID, "kid-task", transcript="L/k", names="L")
    assert read(dream(ws, workers=workers)) == (0, 0, 1)
    assert load_aggregates(ws, "default").outside == {KID: ("transcript", "codex", "L")}


@pytest.mark.parametrize("workers", [1, 2])
def test_a_waiting_child_imported_again_is_read_once(scoped: Workspace, workers: int) -> None:
    child_waits(scoped, workers)
    session(scoped, LEAD, "lead-task", transcript="L")
    record_arrivals(scoped, [KID], source="import")  # its transcript grew: imported again, with its lead
    assert read(dream(scoped, workers=workers)) == (2, 1, 0)
    after = state(scoped)
    assert [p["occurrences"] for p in after["patterns"]] == [2]  # the lead's and the child's: once each
    assert (after["episodes"][LEAD][1:3], after.get("other_scopes", 0), after.get("outside")) == ([0.02, 2], 0, None)
    assert read(dream(scoped, workers=workers, all=True)) == (2, 1, 0)
    assert state(scoped) == after


@pytest.mark.parametrize("workers", [1, 2])
def test_the_grade_an_earlier_dream_read_of_a_waiting_child_counts(scoped: Workspace, workers: int) -> None:
    """The child's grade was read (and passed over) by the dream that left the child out; the dream that reads the
    child with its lead joins it to the lead's episode, as `--all` does."""
    session(scoped, KID, "kid-task", transcript="L/k", names="L")
    append_grade(scoped, {"session_id": KID, "outcome": "check", "result": "needs_revision", "score": 0.0,
                          "criteria": [{"id": "clauses", "passed": False, "reason": "missed clause 4"}]})
    append_grade(scoped, {"session_id": at(9), "outcome": "check", "result": "needs_revision", "score": 0.0,
                          "criteria": [{"id": "other", "passed": False, "reason": "another session"}]})
    assert dream(scoped, workers=workers)["graded"] == 0
    session(scoped, LEAD, "lead-task", transcript="L")
    assert dream(scoped, workers=workers)["graded"] == 1
    after = state(scoped)
    assert after["graded"] == {"check": [LEAD]}
    assert sorted(p["key"] for p in after["patterns"]) == ["criterion|check|clauses",
                                                           "error|read|<file.docx> is a binary file"]
    assert dream(scoped, workers=workers, all=True)["graded"] == 1
    assert state(scoped) == after


@pytest.mark.parametrize("workers", [1, 2])
def test_only_session_ids_wait(scoped: Workspace, workers: int) -> None:
    """An id in the stored `outside` that is no session id (a hand-edited or copied state) is dropped when the
    state is loaded: never turned into a path, never read."""
    child_waits(scoped, workers)
    path = state_dir(scoped, "default") / "aggregates.json"
    data = json.loads(path.read_text())
    planted = "../../../../planted"
    data["outside"][planted] = ["codex", "L"]
    path.write_text(json.dumps(data))
    assert set(load_aggregates(scoped, "default").outside) == {KID}
    # what the planted id names (no session id: today's directory, then up): a session of the playbook's task
    (session_path(scoped, planted).parent).mkdir(parents=True, exist_ok=True)
    session_path(scoped, session(scoped, at(5), "lead-task")).rename(session_path(scoped, planted))
    session(scoped, LEAD, "lead-task", transcript="L")
    assert read(dream(scoped, workers=workers)) == (2, 1, 0)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_child_read_before_its_lead_counts_its_bytes_once(scoped: Workspace, workers: int) -> None:
    """The child's file comes first (its id is older than its lead's): read to its first line, out of scope on its
    own, it waits; the lead, read next in scope, brings it in and it is read whole. `inputs.bytes` is the size of
    the two files: what was read of the child before it waited is not counted again (nor its corrupt line in
    `skipped_lines`)."""
    kid = session(scoped, at(0), "kid-task", transcript="L/k", names="L")
    path = session_path(scoped, kid)
    path.write_bytes(b"{not json\n" + path.read_bytes())  # a corrupt line before its start: counted once
    lead = session(scoped, at(1), "lead-task", transcript="L")
    inputs = dream(scoped, workers=workers)
    assert read(inputs) == (2, 1, 0)
    assert inputs["bytes"] == sum(session_path(scoped, sid).stat().st_size for sid in (kid, lead))
    assert inputs["skipped_lines"] == 1
