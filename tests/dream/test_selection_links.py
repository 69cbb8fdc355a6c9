"""A selection dream (`--session`, `--since`, `--task`) links the sub-agents it reads to their lead as a whole
dream (`--all`) does, whether it reads the lead too or an earlier dream did (the links the dream's state keeps:
docs/dream.md, "Support counts distinct episodes"), for sub-agents dreamcli ran and imported ones that name their
lead by transcript only; and a sub-agent follows its lead into the playbook's scope (docs/dream.md, "Scope").

Before: a selection started from empty links. Two imported sub-agents of one lead selected without it were two
episodes (a mistake they share had support 2, proposed; `--all` made it support 1); a sub-agent of another task
than its lead, selected without it, was out of a scope that names its lead's task, and `--task LEAD-TASK` left
out an imported sub-agent of another task though its lead was read."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from dreamcli.config import Config
from dreamcli.dream import stages
from dreamcli.dream.engine import DreamOptions
from dreamcli.dream.executors import use_executor
from dreamcli.dream.leads import find_leads
from dreamcli.sessions import lineage
from dreamcli.sessions.paths import iter_session_files
from dreamcli.store.index import rebuild
from dreamcli.workspace.home import Workspace
from tests.dream.test_imported_subagent_episodes import InProcess
from tests.dream.test_imported_subagent_scope import KINDS, NOW, dream, read
from tests.support.imported_pairs import at, pair, session, started
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


def three_generations(ws: Workspace, kind: str) -> tuple[str, str, str]:
    """A lead of `other-task`, its sub-agent and the sub-agent's own, both of `kid-task`: run by dreamcli (each
    names its lead by id) or imported (each names its lead's transcript only)."""
    imported = kind == "imported"
    lead = session(ws, at(0), "other-task", transcript="L" if imported else None)
    kid = session(ws, at(1), "kid-task", transcript="L/k" if imported else None, names="L" if imported else None,
                  parent=None if imported else lead)
    grandkid = session(ws, at(2), "kid-task", transcript="L/k/g" if imported else None,
                       names="L/k" if imported else None, parent=None if imported else kid)
    return lead, kid, grandkid


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("kind", KINDS)
def test_a_task_selection_leaves_out_the_grandchildren_of_other_tasks_leads(ws: Workspace, kind: str,
                                                                            workers: int) -> None:
    """The links earlier dreams kept join what a `--task` selection reads to its episode; they bring nothing into
    its scope. Before: the sub-agent's own sub-agent was in scope, as a sub-agent of a "lead" the stored links
    named, though that lead was of another task's episode: (1, 1, 2) where no stored state gave (0, 0, 3)."""
    three_generations(ws, kind)
    assert read(dream(ws, workers=workers, dry_run=True, task="lead-task")) == (0, 0, 3)
    assert read(dream(ws)) == (3, 1, 0)
    assert read(dream(ws, workers=workers, dry_run=True, task="lead-task")) == (0, 0, 3)
    assert read(dream(ws, workers=workers, dry_run=True, task="kid-task")) == (2, 1, 1)


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("kind", KINDS)
def test_a_task_selection_still_joins_what_it_reads_to_the_stored_episode(ws: Workspace, kind: str,
                                                                          workers: int) -> None:
    """The grandchild alone, in `--task kid-task`: in the episode of the lead (of another task) it has in a whole
    dream, through the stored link between its lead and that lead's."""
    lead, _kid, grandkid = three_generations(ws, kind)
    dream(ws)
    opts = DreamOptions(offline=True, dry_run=True, now=NOW, task="kid-task", session_ids=[grandkid])
    with use_executor(InProcess() if workers == 2 else None):
        sel = stages.select(ws, Config(), opts)
        found = stages.scan(ws, sel, opts)
    assert (found.read.ids, found.read.episodes) == ({grandkid}, {lead})


@pytest.fixture(params=["no-index", "index"])
def indexed(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Callable[[Workspace], None]:
    """How the dream finds a lead no dream has read: the first lines of the session files, newest first, or the
    session index's rows when it has the day directories fresh (then no file is opened for it)."""
    def prepare(ws: Workspace) -> None:
        if request.param == "no-index":
            return
        for day in {p.parent for p in iter_session_files(ws)}:  # settled: the index holds these days fresh
            os.utime(day, ns=(day.stat().st_atime_ns, day.stat().st_mtime_ns - 10 ** 10))
        rebuild(ws)

        def no_file(path: Any) -> None:
            raise AssertionError(f"{path} read for its lead; the index holds it")

        monkeypatch.setattr(lineage, "_read_kin", no_file)
    return prepare


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("how", ["session", "since"])
@pytest.mark.parametrize("kind", KINDS)
def test_sub_agents_selected_before_any_dream_are_their_leads_episode(ws: Workspace, kind: str, how: str,
                                                                      workers: int,
                                                                      indexed: Callable[[Workspace], None]) -> None:
    """No dream has read the lead: its imported sub-agents, selected without it, are still one episode (the lead
    found as `sessions show` finds it: dreamcli.sessions.lineage), as sub-agents dreamcli ran are, and as in
    `--all`. Before: two episodes, so a mistake both made had support 2 (`--all`: 1)."""
    _lead, *kids = pair(ws, kind, kids=2)
    indexed(ws)
    assert read(dream(ws, workers=workers, dry_run=True, min_support=2, **selection(how, tuple(kids)))) == (2, 1, 0)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_lead_that_is_nowhere_leaves_its_sub_agents_apart(ws: Workspace, workers: int) -> None:
    """Imported sub-agents whose lead's transcript no session holds are episodes of their own, as before."""
    kids = [session(ws, at(i), "kid-task", transcript=f"L/{i}", names="L") for i in (1, 2)]
    assert read(dream(ws, workers=workers, dry_run=True, session_ids=kids)) == (2, 2, 0)


def test_a_lead_written_after_the_index_listed_its_day_is_found_in_the_files(ws: Workspace) -> None:
    """The index's rows stand only for the day directories unchanged since it listed them: a lead written since
    is found by its file, and the newest session holding the transcript is the lead, as lineage has it."""
    kid = session(ws, at(5), "kid-task", transcript="L/k", names="L")
    older = session(ws, at(0), "lead-task", transcript="L")
    for day in {p.parent for p in iter_session_files(ws)}:
        os.utime(day, ns=(day.stat().st_atime_ns, day.stat().st_mtime_ns - 10 ** 10))
    rebuild(ws)
    key = ("transcript", "codex", "L")
    assert find_leads(ws, {key: kid}) == {key: older}
    newer = session(ws, at(1), "lead-task", transcript="L")  # its day directory changed since
    assert find_leads(ws, {key: kid}) == {key: newer}
