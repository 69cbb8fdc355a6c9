"""A `Monitor` (the sessions of `--parallel`, batch runs, sub-agents and pilot trials) hands every callback
of `RunCallbacks` on to the view inside it: the grader's wait and the session store's too, not only those
it counts."""

from __future__ import annotations

import inspect
from typing import Any

from dreamcli.agent.callbacks import RunCallbacks
from dreamcli.agent.tools.base import ToolResult
from dreamcli.agent.usage import Totals
from dreamcli.orchestration.supervisor import Monitor

ARGS: dict[str, tuple[Any, ...]] = {
    "on_start": (type("Info", (), {"session_id": "S"})(),),
    "on_text": ("hi",),
    "on_thinking": ("hm",),
    "on_message": (1, "end_turn", {}, 0.0),
    "on_tool_start": ("bash", "ls"),
    "on_tool_end": ("bash", "ls", ToolResult("ok"), 1.0),
    "on_retry": (1, "overloaded_error", 0.1),
    "on_notice": ("note",),
    "on_store_wait": (True,),
    "on_turn_review": (True,),
    "on_end": (object(),),
}


class Recorder(RunCallbacks):
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def __getattribute__(self, name: str) -> Any:
        if name.startswith("on_"):
            return lambda *args: self.calls.append((name, args))
        return super().__getattribute__(name)


def test_every_callback_reaches_the_inner_view() -> None:
    names = [n for n, _ in inspect.getmembers(RunCallbacks, inspect.isfunction) if n.startswith("on_")]
    assert set(names) == set(ARGS), "a new callback: add its arguments here"
    inner = Recorder()
    monitor = Monitor(inner)
    for name in names:
        getattr(monitor, name)(*ARGS[name])
    assert inner.calls == [(name, ARGS[name]) for name in names]


def test_the_grader_s_and_the_store_s_wait_reach_it_and_the_counts_still_add_up() -> None:
    inner = Recorder()
    monitor = Monitor(inner)
    monitor.on_turn_review(True)
    monitor.on_turn_review(False)
    monitor.on_store_wait(True)
    monitor.on_store_wait(False)
    monitor.on_message(1, "end_turn", {"input_tokens": 5, "output_tokens": 2}, 0.01)
    assert inner.calls[:4] == [("on_turn_review", (True,)), ("on_turn_review", (False,)),
                               ("on_store_wait", (True,)), ("on_store_wait", (False,))]
    assert monitor.totals.turns == 1 and isinstance(monitor.totals, Totals)
