"""The `delegate` tool in-process against the fake server: sub-agents with their own context and log,
parallel under the limit, failures reported to the lead, budgets, one level deep, cancellation."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from dreamcli.agent import RunOptions, prompt_spec, run_agent
from dreamcli.config import Config
from dreamcli.errors import Interrupted, UsageError
from dreamcli.testing import FakeAnthropic, Reply, error_reply, tool_reply, tool_use
from dreamcli.workspace.home import Workspace
from tests.support.multiagent import answer, is_child, logs_by_role, max_overlap, responder
from tests.support.run import of_type, validate_log


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    wd = tmp_path / "work"
    wd.mkdir()
    for name in ("a", "b", "c"):
        (wd / f"{name}.log").write_text(f"log {name}: ERROR E{name.upper()}1 failed\n")
    return wd


def config(concurrency: int = 4, **limits: Any) -> Config:
    return Config.model_validate({"limits": {"concurrency": concurrency, **limits}})


def delegate(*tasks: dict[str, Any], **extra: Any) -> Reply:
    return tool_reply(tool_use("delegate", {"tasks": list(tasks), **extra}, id="toolu_delegate"))


def lead_options(workdir: Path, tools: tuple[str, ...] = ("read", "grep", "delegate")) -> RunOptions:
    return RunOptions(workdir=workdir, tools=tools, yes=True)


def run_lead(ws: Workspace, cfg: Config, workdir: Path, **kw: Any) -> Any:
    return run_agent(ws, cfg, prompt_spec("Triage the logs with sub-agents.", name="triage"),
                     kw.pop("options", None) or lead_options(workdir), **kw)


def test_delegation_end_to_end(fake_anthropic: FakeAnthropic, ws: Workspace, workdir: Path) -> None:
    def lead(req: Any, turn: int) -> Reply:
        if turn == 0:
            return delegate(*({"brief": f"Read {n}.log and report its error code.", "tools": ["read"]}
                              for n in "abc"))
        return answer("Three logs, three codes: EA1, EB1, EC1.")

    def child(brief: str, turn: int, req: Any) -> Reply:
        name = brief.split()[1]
        if turn == 0:
            return tool_reply(tool_use("read", {"file_path": name}))
        return answer(f"{name}: {req.last_user_text.split()[3]}")

    fake_anthropic.responder = responder(lead, child)
    result = run_lead(ws, config(), workdir)
    assert result.status == "completed" and result.final_text == "Three logs, three codes: EA1, EB1, EC1."

    children_reqs = [r for r in fake_anthropic.requests if is_child(r)]
    assert len(children_reqs) == 6
    for r in children_reqs:  # independent context: only its brief, only the tools it was given
        assert r.tool_names() == ["read"]
        assert "Triage the logs" not in str(r.messages)
    # the answers came back to the lead as one tool result, in brief order
    final_req = [r for r in fake_anthropic.requests if not is_child(r)][-1]
    block = final_req.messages[2]["content"][0]
    assert block["tool_use_id"] == "toolu_delegate" and block["is_error"] is False
    text = block["content"]
    assert text.startswith("3 sub-agents finished: 3 completed, 0 failed.")
    assert text.index("a.log: EA1") < text.index("b.log: EB1") < text.index("c.log: EC1")

    lead_events, children = logs_by_role(ws.root)
    assert len(children) == 3
    lead_id = lead_events[0]["session_id"]
    for sid, events in children.items():
        validate_log(Path(next((ws.root / "sessions").rglob(f"{sid}.jsonl"))))
        start = events[0]
        assert start["parent_session_id"] == lead_id and start["agent"] == "subagent"
        assert start["tools"] == ["read"] and start["brief"].startswith("Read ")
        assert start["task"]["name"] == "triage"
        assert events[-1]["type"] == "session.end" and events[-1]["status"] == "completed"
        assert events[-1]["totals"]["turns"] == 2 and events[-1]["totals"]["tool_calls"] == 1
    subs = of_type(lead_events, "subagent")
    assert sorted(e["event"] for e in subs) == ["finished"] * 3 + ["started"] * 3
    assert {e["child_session_id"] for e in subs} == set(children)
    finished = [e for e in subs if e["event"] == "finished"]
    assert all(e["status"] == "completed" and e["turns"] == 2 and e["brief"].startswith("Read ") for e in finished)
    [tool] = of_type(lead_events, "tool")
    assert tool["name"] == "delegate" and tool["error_kind"] is None


def test_subagents_overlap_under_the_concurrency_limit(fake_anthropic: FakeAnthropic, ws: Workspace,
                                                        workdir: Path) -> None:
    def lead(req: Any, turn: int) -> Reply:
        return delegate(*({"brief": f"part {i}"} for i in range(6))) if turn == 0 else answer("merged")

    def child(brief: str, turn: int, req: Any) -> Reply:
        reply = answer(f"done {brief}")
        reply.latency = 0.4
        return reply

    fake_anthropic.responder = responder(lead, child)
    t0 = time.monotonic()
    result = run_lead(ws, config(concurrency=3), workdir)
    assert result.status == "completed"
    kids = [r for r in fake_anthropic.requests if is_child(r)]
    assert len(kids) == 6
    assert max_overlap(kids) == 3  # parallel, but never more than the limit
    span = max(r.t_end for r in kids) - min(r.t_start for r in kids)
    assert span < 6 * 0.4 * 0.6, span  # two waves of 0.4 s, not six in a row
    assert time.monotonic() - t0 < 5


def test_a_failing_subagent_is_an_error_result_not_a_crash(fake_anthropic: FakeAnthropic, ws: Workspace,
                                                            workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import dreamcli.orchestration.subagents as subagents

    real = subagents.run_agent

    def exploding(ws_: Any, cfg: Any, spec: Any, options: Any, **kw: Any) -> Any:
        if "explode" in spec.prompt:
            raise RuntimeError("boom in the sub-agent")
        return real(ws_, cfg, spec, options, **kw)

    monkeypatch.setattr(subagents, "run_agent", exploding)

    def lead(req: Any, turn: int) -> Reply:
        if turn == 0:
            return delegate({"brief": "ok: summarise a.log"}, {"brief": "model error please"},
                            {"brief": "loop forever", "max_turns": 2}, {"brief": "explode"})
        return answer("Partial triage; two sub-agents failed.")

    def child(brief: str, turn: int, req: Any) -> Reply:
        if brief.startswith("model error"):
            return error_reply(400, message="prompt is invalid")
        if brief.startswith("loop"):
            return tool_reply(tool_use("read", {"file_path": "a.log"}))
        return answer("a.log: EA1")

    fake_anthropic.responder = responder(lead, child)
    result = run_lead(ws, config(), workdir)
    assert result.status == "completed" and result.final_text == "Partial triage; two sub-agents failed."
    final_req = [r for r in fake_anthropic.requests if not is_child(r)][-1]
    block = final_req.messages[2]["content"][0]
    assert block["is_error"] is True
    text = block["content"]
    assert text.startswith("4 sub-agents finished: 1 completed, 3 failed.")
    parts = text.split("## Sub-agent ")[1:]
    assert parts[0].startswith("1 of 4: completed") and "a.log: EA1" in parts[0]
    assert parts[1].startswith("2 of 4: error") and "FAILED (error)" in parts[1] and "prompt is invalid" in parts[1]
    assert parts[2].startswith("3 of 4: max_turns") and "turn limit reached (2 turns)" in parts[2]
    assert parts[3].startswith("4 of 4: error") and "RuntimeError: boom in the sub-agent" in parts[3]

    lead_events, children = logs_by_role(ws.root)
    assert len(children) == 3  # the exploding one never started a session
    ends = sorted(ev[-1]["status"] for ev in children.values())
    assert ends == ["completed", "error", "max_turns"]
    finished = sorted(e["status"] for e in of_type(lead_events, "subagent") if e["event"] == "finished")
    assert finished == ["completed", "error", "max_turns"]
    [tool] = of_type(lead_events, "tool")
    assert tool["error_kind"] == "exit_nonzero" and tool["exit_code"] == 3  # the first failure: a model error
    assert lead_events[-1]["status"] == "completed"


def test_token_budget_stops_a_subagent(fake_anthropic: FakeAnthropic, ws: Workspace, workdir: Path) -> None:
    def lead(req: Any, turn: int) -> Reply:
        return delegate({"brief": "read everything", "token_budget": 5000}) if turn == 0 else answer("ok")

    def child(brief: str, turn: int, req: Any) -> Reply:
        return tool_reply(tool_use("read", {"file_path": "a.log"}), usage={"input_tokens": 6000, "output_tokens": 50})

    fake_anthropic.responder = responder(lead, child)
    run_lead(ws, config(), workdir)
    assert sum(is_child(r) for r in fake_anthropic.requests) == 1  # no second call past the budget
    _, children = logs_by_role(ws.root)
    [events] = children.values()
    assert events[0]["token_budget"] == 5000
    assert events[-1]["status"] == "error" and events[-1]["error"] == "token budget reached (6050 of 5000 tokens)"
    assert events[-1]["totals"]["tool_calls"] == 1


def test_subagents_cannot_delegate(fake_anthropic: FakeAnthropic, ws: Workspace, workdir: Path) -> None:
    def lead(req: Any, turn: int) -> Reply:
        if turn == 0:  # asking for delegate in a brief is refused before anything starts
            return delegate({"brief": "fan out further", "tools": ["read", "delegate"]})
        if turn == 1:
            return delegate({"brief": "try to delegate anyway"})
        return answer("done")

    def child(brief: str, turn: int, req: Any) -> Reply:
        assert "delegate" not in req.tool_names()
        if turn == 0:  # the model calls it anyway: there is no such tool in a sub-agent
            return tool_reply(tool_use("delegate", {"brief": "grandchild"}))
        return answer("could not delegate: " + req.last_user_text)

    fake_anthropic.responder = responder(lead, child)
    run_lead(ws, config(), workdir)
    lead_reqs = [r for r in fake_anthropic.requests if not is_child(r)]
    refused = lead_reqs[1].messages[2]["content"][0]
    assert refused["is_error"] is True
    assert "sub-agents cannot delegate (one level deep)" in refused["content"]
    child_reqs = [r for r in fake_anthropic.requests if is_child(r)]
    assert len(child_reqs) == 2 and child_reqs[0].tool_names() == ["read", "grep"]
    assert "no tool named 'delegate'" in child_reqs[1].last_user_text
    _, children = logs_by_role(ws.root)
    assert len(children) == 1  # no grandchild session anywhere
    # and a session that has a parent refuses the tool outright
    with pytest.raises(UsageError, match="one level deep"):
        run_agent(ws, config(), prompt_spec("x"), lead_options(workdir), parent_session_id="01" + "0" * 24)


@pytest.mark.parametrize("bad, message", [
    ({"tasks": [], }, "`tasks` must be a non-empty list"),
    ({"tasks": [{"brief": "x"}], "brief": "y"}, "either `tasks`"),
    ({"tasks": [{"brief": "x", "colour": "red"}]}, "tasks[0]: unknown field(s) colour"),
    ({"tasks": [{"brief": "  "}]}, "tasks[0].brief: a non-empty string"),
    ({"tasks": [{"brief": "x", "tools": ["bash"]}]}, "bash not available to sub-agents (available: read, grep)"),
    ({"tasks": [{"brief": "x", "max_turns": 0}]}, "tasks[0].max_turns: an integer from 1 to 1000"),
    ({"brief": "x", "playbook": "../etc"}, "input.playbook: a playbook name"),
])
def test_invalid_input_is_a_tool_error(fake_anthropic: FakeAnthropic, ws: Workspace, workdir: Path,
                                       bad: dict[str, Any], message: str) -> None:
    def lead(req: Any, turn: int) -> Reply:
        return tool_reply(tool_use("delegate", bad)) if turn == 0 else answer("ok")

    fake_anthropic.responder = responder(lead, lambda *a: answer("never"))
    run_lead(ws, config(), workdir)
    result = fake_anthropic.requests[1].messages[2]["content"][0]
    assert result["is_error"] is True and message in result["content"], result["content"]
    assert len(fake_anthropic.requests) == 2  # nothing was started


@pytest.mark.slow
def test_cancelling_the_lead_stops_every_subagent(fake_anthropic: FakeAnthropic, ws: Workspace,
                                                  workdir: Path) -> None:
    """A lead run in a worker (run --parallel) is stopped by its cancel event while its sub-agents
    wait on a slow model: every log ends `interrupted`, the lead's too."""
    fake_anthropic.allow_leftovers = True

    def lead(req: Any, turn: int) -> Reply:
        return delegate(*({"brief": f"slow {i}"} for i in range(3)))

    def child(brief: str, turn: int, req: Any) -> Reply:
        reply = answer("too late")
        reply.latency = 20
        return reply

    fake_anthropic.responder = responder(lead, child)
    cancel = threading.Event()
    done: dict[str, Any] = {}

    def go() -> None:
        try:
            run_lead(ws, config(), workdir, cancel=cancel)
        except Interrupted as e:
            done["result"] = e.result  # type: ignore[attr-defined]

    th = threading.Thread(target=go)
    th.start()
    deadline = time.monotonic() + 10
    while sum(is_child(r) for r in fake_anthropic.requests) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    t0 = time.monotonic()
    cancel.set()
    th.join(timeout=10)
    assert not th.is_alive() and time.monotonic() - t0 < 5
    assert done["result"].status == "interrupted"
    lead_events, children = logs_by_role(ws.root)
    assert lead_events[-1]["type"] == "session.end" and lead_events[-1]["status"] == "interrupted"
    assert len(children) == 3
    for events in children.values():
        assert events[-1]["type"] == "session.end" and events[-1]["status"] == "interrupted"
        assert events[-1]["totals"]["duration_ms"] > 0
    finished = [e for e in of_type(lead_events, "subagent") if e["event"] == "finished"]
    assert sorted(e["status"] for e in finished) == ["interrupted"] * 3


def test_two_delegate_calls_in_one_turn_run_one_after_the_other(fake_anthropic: FakeAnthropic, ws: Workspace,
                                                                workdir: Path) -> None:
    """The loop runs one turn's tool calls in order: each call's batch is parallel, the calls are not."""
    def lead(req: Any, turn: int) -> Reply:
        if turn == 0:
            return tool_reply(tool_use("delegate", {"tasks": [{"brief": "first a"}, {"brief": "first b"}]}, id="t1"),
                              tool_use("delegate", {"brief": "second"}, id="t2"))
        return answer("merged")

    def child(brief: str, turn: int, req: Any) -> Reply:
        reply = answer(f"did {brief}")
        reply.latency = 0.3
        return reply

    fake_anthropic.responder = responder(lead, child)
    run_lead(ws, config(), workdir)
    kids = {r.messages[0]["content"][0]["text"].rsplit("\n", 1)[-1]: r for r in fake_anthropic.requests if is_child(r)}
    assert max_overlap([kids["first a"], kids["first b"]]) == 2
    assert kids["second"].t_start >= max(kids["first a"].t_end, kids["first b"].t_end)
    results = fake_anthropic.requests[-1].messages[2]["content"]
    assert [b["tool_use_id"] for b in results] == ["t1", "t2"]
    assert "did first a" in results[0]["content"] and "did first b" in results[0]["content"]
    assert results[1]["content"].startswith("1 sub-agent finished: 1 completed, 0 failed.")
    assert "did second" in results[1]["content"]
