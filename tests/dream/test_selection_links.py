"""A selection dream (`--session`, `--since`, `--task`) links the sub-agents it reads to their lead as a whole
dream (`--all`) does, whether it reads the lead too or an earlier dream did (the links the dream's state keeps:
docs/dream.md, "Support counts distinct episodes"), for sub-agents dreamcli ran and imported ones that name their
lead by transcript only; and a sub-agent follows its lead into the playbook's scope (docs/dream.md, "Scope").

Before: a selection started from empty links. Two imported sub-agents of one lead selected without it were two
episodes (a mistake they share had support 2, proposed; `--all` made it support 1); a sub-agent of another task
than its lead, selected without it, was out of a scope that names its lead's task, and `--task LEAD-TASK` left
out an imported sub-agent of another task though its lead was read."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from dreamcli.workspace.home import Workspace
from tests.dream.test_imported_subagent_scope import KINDS, dream, read
from tests.support.imported_pairs import pair, started
from tests.support.playbooks import write_playbook


def selection(how: str, kids: tuple[str, ...]) -> dict[str, Any]:
    """The dream options that select `kids` (started from 08:01 on) and not their lead (08:00)."""
    if how == "session":
        return {"session_ids": list(kids)}
    return {"since": started(1) - timedelta(seconds=1)}


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("how", ["session", "since"])
@pytest.mark.parametrize("kind", KINDS)
def test_sub_agents_selected_without_their_lead_are_its_episode(ws: Workspace, kind: str, how: str,
                                                                 workers: int) -> None:
    _lead, *kids = pair(ws, kind, kids=2)
    assert read(dream(ws)) == (3, 1, 0)
    selected = dream(ws, workers=workers, dry_run=True, min_support=2, **selection(how, tuple(kids)))
    assert read(selected) == (2, 1, 0)
    assert read(dream(ws, workers=workers, dry_run=True, min_support=2, all=True)) == (3, 1, 0)


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("how", ["session", "since"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_sub_agent_selected_without_its_lead_stays_in_its_scope(ws: Workspace, kind: str, how: str,
                                                                  workers: int) -> None:
    write_playbook(ws, "default", [], scope={"tasks": ["lead-task"]})
    _lead, kid = pair(ws, kind)
    dream(ws)
    assert read(dream(ws, workers=workers, dry_run=True, **selection(how, (kid,)))) == (1, 1, 0)


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("kind", KINDS)
def test_a_task_selection_reads_the_sub_agents_of_its_leads(ws: Workspace, kind: str, workers: int) -> None:
    pair(ws, kind)
    assert read(dream(ws, workers=workers, dry_run=True, task="lead-task")) == (2, 1, 0)


@pytest.mark.parametrize("kind", KINDS)
def test_a_task_selection_leaves_out_the_sub_agents_of_other_tasks_leads(ws: Workspace, kind: str) -> None:
    """The leads earlier dreams read bring their sub-agents into a `--task` selection only when of that task: a
    sub-agent of another task's lead is out of it, as in a dream that reads the lead too."""
    pair(ws, kind, lead_task="other-task")
    dream(ws)
    assert read(dream(ws, dry_run=True, task="lead-task")) == (0, 0, 2)
    assert read(dream(ws, dry_run=True, task="lead-task", since=started(1) - timedelta(seconds=1))) == (0, 0, 1)
