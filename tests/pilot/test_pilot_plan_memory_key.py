"""A pilot's plan counts the memory store among its conditions only when the store holds a file: a task
that uses memory (as every task without a `tools:` list does) with no store, or an empty one, keeps the
plan key it had before the store counted, so a pilot interrupted before then still resumes."""

from __future__ import annotations

from pathlib import Path

import pytest

from dreamcli.config import load_config
from dreamcli.pilot import plan as plan_module
from dreamcli.pilot.plan import PilotPlan, build_plan
from dreamcli.workspace.home import Workspace
from tests.pilot.helpers import DREAM, seed_workspace, write_task

MEMORY = "memory store default"


def _task(tmp_path: Path, tools: str | None) -> Path:
    """A task with the memory tool: named in its list, or by default (no `tools:` line)."""
    task = write_task(tmp_path, tools=tools or "[read]")
    if tools is None:
        task.write_text("".join(line for line in task.read_text().splitlines(keepends=True)
                                if not line.startswith("tools:")))
    return task


def _plan(ws: Workspace, task: Path) -> PilotPlan:
    return build_plan(ws, load_config(ws.config_path), [task], DREAM, trials=1)


def _plan_before_memory_counted(ws: Workspace, task: Path, monkeypatch: pytest.MonkeyPatch) -> PilotPlan:
    with monkeypatch.context() as m:  # as the plan was built before the memory store was a condition
        m.setattr(plan_module, "uses_memory", lambda spec: False)
        return _plan(ws, task)


@pytest.mark.parametrize("tools", ["[read, write, memory]", None], ids=["memory-listed", "no-tools-list"])
def test_no_store_or_an_empty_one_keeps_the_plan_key(ws: Workspace, tmp_path: Path, tools: str | None,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: the key gained "memory store default" whatever the store held, and every pilot interrupted
    before the upgrade started over with "conditions changed: memory store default"."""
    seed_workspace(ws)
    task = _task(tmp_path, tools)
    assert not ws.memory_store("default").exists()
    old = _plan_before_memory_counted(ws, task, monkeypatch).plan_key
    plan = _plan(ws, task)
    assert MEMORY not in plan.conditions and plan.plan_key == old
    ws.memories_root("default").mkdir(parents=True)  # a store with no file in it: the same as none
    plan = _plan(ws, task)
    assert MEMORY not in plan.conditions and plan.plan_key == old


def test_a_store_with_a_file_is_a_condition(ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seed_workspace(ws)
    task = _task(tmp_path, "[read, write, memory]")
    old = _plan_before_memory_counted(ws, task, monkeypatch).plan_key
    notes = ws.memories_root("default")
    (notes / "deep").mkdir(parents=True)
    (notes / "deep" / "notes.md").write_text("The contract is in contract.txt.\n")
    first = _plan(ws, task)
    assert MEMORY in first.conditions and first.plan_key != old
    (notes / "deep" / "notes.md").write_text("The contract is in contract.docx.\n")
    assert _plan(ws, task).plan_key not in (old, first.plan_key)
