"""Review #9: limits.concurrency bounds the model calls of a whole command, across nesting: the leads of
`run --parallel` and all their sub-agents share one limiter (it travels with the model client)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from dreamcli.agent import RunOptions
from dreamcli.agent.spec import TaskSpec
from dreamcli.config import Config
from dreamcli.orchestration.batch import prepare_batch, run_batch
from dreamcli.orchestration.limiter import LimitedClient, ModelLimiter, for_session, shared
from dreamcli.testing import FakeAnthropic, Reply, tool_reply, tool_use
from dreamcli.workspace.home import Workspace
from tests.support.multiagent import answer, is_child, max_overlap, responder


def slow(reply: Reply, seconds: float = 0.3) -> Reply:
    reply.latency = seconds
    return reply


def fan_out(fake: FakeAnthropic, children: int) -> None:
    """Every lead delegates `children` one-turn parts, then answers; every reply takes 0.3 s."""
    def lead(req: Any, turn: int) -> Reply:
        if turn == 0:
            return slow(tool_reply(tool_use("delegate", {"tasks": [{"brief": f"part {i}"}
                                                                    for i in range(children)]})))
        return slow(answer("merged"))

    fake.responder = responder(lead, lambda brief, turn, req: slow(answer(f"done {brief}")))


def batch(ws: Workspace, tmp_path: Path, n: int) -> list[Any]:
    (tmp_path / "wd").mkdir(exist_ok=True)
    specs = [TaskSpec(prompt=f"Split task {i}.", name=f"t{i}", workdir=tmp_path / "wd", tools=("read", "delegate"))
             for i in range(n)]
    return prepare_batch(ws, Config(), specs)


@pytest.mark.slow
def test_parallel_leads_and_their_subagents_share_one_limit(fake_anthropic: FakeAnthropic, ws: Workspace,
                                                           tmp_path: Path) -> None:
    """The reviewer's case: concurrency 2, `--parallel 2`, each lead delegating 4 parts. Before, each
    lead's delegate call had a limit of its own: 2 x 2 = 4 sub-agent calls in flight."""
    fan_out(fake_anthropic, 4)
    cfg = Config.model_validate({"limits": {"concurrency": 2}})
    runs = run_batch(ws, cfg, batch(ws, tmp_path, 2), RunOptions(yes=True), parallel=2)
    assert [r.status for r in runs] == ["completed", "completed"]
    kids = [r for r in fake_anthropic.requests if is_child(r)]
    assert len(kids) == 8
    assert max_overlap(fake_anthropic.requests) <= 2
    assert max_overlap(kids) == 2  # still parallel, up to the limit
    assert all(r.subagents.count == 4 for r in runs)  # and each run knows what its sub-agents spent
    assert all(r.to_json()["subagents"]["turns"] == 4 for r in runs)


@pytest.mark.slow
def test_an_explicit_parallel_above_the_limit_raises_it_for_the_command(fake_anthropic: FakeAnthropic,
                                                                        ws: Workspace, tmp_path: Path) -> None:
    """concurrency 2 with `--parallel 3`: 3 leads at once may call the model at once, but their sub-agents
    add nothing to that (before: 3 leads x 2 sub-agents each = 6 calls in flight)."""
    fan_out(fake_anthropic, 3)
    cfg = Config.model_validate({"limits": {"concurrency": 2}})
    runs = run_batch(ws, cfg, batch(ws, tmp_path, 3), RunOptions(yes=True), parallel=3)
    assert all(r.status == "completed" for r in runs)
    assert max_overlap(fake_anthropic.requests) == 3


class _Client:
    """A stand-in model client: records whether a call ran."""

    def __init__(self) -> None:
        self.calls = 0
        self.messages = self

    def create(self, **request: Any) -> str:
        self.calls += 1
        return "reply"


def test_a_limited_client_keeps_its_limiter_when_nested() -> None:
    inner = _Client()
    client = shared(inner, 2)
    assert isinstance(client, LimitedClient) and client.inner is inner
    assert shared(client, 8) is client  # a sub-agent's delegate call shares the command's limiter
    cancel = threading.Event()
    session = for_session(client, cancel)
    assert session.limiter is client.limiter and session.cancel is cancel
    assert for_session(inner, cancel) is inner  # an unlimited client stays as it is
    assert session.messages.create(model="m") == "reply" and inner.calls == 1


def test_a_session_stopped_while_waiting_for_a_slot_makes_no_call() -> None:
    inner = _Client()
    limiter = ModelLimiter(1)
    cancel = threading.Event()
    client = LimitedClient(inner, limiter, cancel)
    with limiter.slot():  # the only slot is taken by another session's call
        cancel.set()
        with pytest.raises(KeyboardInterrupt):
            client.messages.create(model="m")
    assert inner.calls == 0
    assert client.messages.create(model="m") == "reply"  # the slot was given back


@pytest.mark.slow
def test_pilot_trials_and_their_subagents_share_one_limit(fake_anthropic: FakeAnthropic, ws: Workspace,
                                                          tmp_path: Path) -> None:
    """`pilot --parallel 2` with concurrency 2 and leads that delegate 3 parts each: before, each trial's
    delegate call had a limit of its own, so 2 x 2 sub-agent calls were in flight."""
    from tests.pilot.helpers import run_pilot_api, seed_workspace, write_task

    seed_workspace(ws)
    ws.config_path.write_text("limits:\n  concurrency: 2\n")
    task = write_task(tmp_path, tools="[read, delegate]")
    fan_out(fake_anthropic, 3)
    run_pilot_api(ws, task, trials=1, parallel=2)
    kids = [r for r in fake_anthropic.requests if is_child(r)]
    assert len(kids) == 6  # two trials (one per arm), three parts each
    assert max_overlap(fake_anthropic.requests) <= 2
    assert max_overlap(kids) == 2
