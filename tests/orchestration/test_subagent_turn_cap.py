"""A sub-agent's turn limit is capped by its lead's own turn limit (--max-turns, else the task's
`max_turns`, else config limits.max_turns), not only by the config's: a lead run with `--max-turns 3`
gets no sub-agent that makes more than 3 model calls (docs/multi-agent.md, "Budgets")."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from dreamcli.agent import RunOptions, prompt_spec, run_agent
from dreamcli.config import Config
from dreamcli.testing import FakeAnthropic, Reply, tool_reply, tool_use
from dreamcli.workspace.home import Workspace
from tests.support.multiagent import answer, brief_of, is_child, logs_by_role, responder
from tests.support.run import cli_env, of_type, run_cli


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    wd = tmp_path / "work"
    wd.mkdir()
    (wd / "a.log").write_text("log a: ERROR EA1 failed\n")
    return wd


def lead_delegating(*tasks: dict[str, Any]) -> Any:
    def lead(req: Any, turn: int) -> Reply:
        if turn == 0:
            return tool_reply(tool_use("delegate", {"tasks": list(tasks)}, id="toolu_delegate"))
        return answer("Sub-agents ran out of turns.")
    return lead


def endless_child(brief: str, turn: int, req: Any) -> Reply:
    """A sub-agent that never finishes: a tool call every turn, until its turn limit stops it."""
    return tool_reply(tool_use("read", {"file_path": "a.log"}))


def child_calls(fake: FakeAnthropic) -> Counter[str]:
    """Model calls per sub-agent, by the brief's first word."""
    return Counter(brief_of(r).split(":")[0] for r in fake.requests if is_child(r))


def child_limits(home: Path) -> dict[str, tuple[int, str, int]]:
    """{brief's first word: (max_turns in session.start, end status, turns)} of every sub-agent."""
    _, children = logs_by_role(home)
    return {ev[0]["brief"].split(":")[0]: (ev[0]["max_turns"], ev[-1]["status"], ev[-1]["totals"]["turns"])
            for ev in children.values()}


def run_lead(ws: Workspace, cfg: Config, workdir: Path, *, max_turns: int | None = None,
             task_max_turns: int | None = None) -> Any:
    spec = prompt_spec("Triage the logs with sub-agents.", name="triage").with_overrides(max_turns=task_max_turns)
    options = RunOptions(workdir=workdir, tools=("read", "delegate"), yes=True, max_turns=max_turns)
    return run_agent(ws, cfg, spec, options)


def test_max_turns_flag_caps_every_subagent(fake_anthropic: FakeAnthropic, ws: Workspace, workdir: Path) -> None:
    fake_anthropic.responder = responder(
        lead_delegating({"brief": "default: read a.log"}, {"brief": "asks: read a.log", "max_turns": 10},
                        {"brief": "fewer: read a.log", "max_turns": 2}), endless_child)
    result = run_lead(ws, Config(), workdir, max_turns=3)  # config limits.max_turns is 50
    assert result.status == "completed" and result.totals.turns == 2
    assert child_calls(fake_anthropic) == {"default": 3, "asks": 3, "fewer": 2}
    assert child_limits(ws.root) == {"default": (3, "max_turns", 3), "asks": (3, "max_turns", 3),
                                     "fewer": (2, "max_turns", 2)}
    lead_events, _ = logs_by_role(ws.root)
    finished = [e for e in of_type(lead_events, "subagent") if e["event"] == "finished"]
    assert sorted(e["turns"] for e in finished) == [2, 3, 3]
    [tool] = of_type(lead_events, "tool")
    assert tool["error_kind"] == "exit_nonzero"


def test_task_files_max_turns_caps_subagents(fake_anthropic: FakeAnthropic, ws: Workspace, workdir: Path) -> None:
    fake_anthropic.responder = responder(lead_delegating({"brief": "one: read a.log", "max_turns": 8}), endless_child)
    result = run_lead(ws, Config(), workdir, task_max_turns=4)
    assert result.status == "completed"
    assert child_limits(ws.root) == {"one": (4, "max_turns", 4)}
    assert child_calls(fake_anthropic) == {"one": 4}


def test_the_leads_limit_not_the_configs_is_the_cap(fake_anthropic: FakeAnthropic, ws: Workspace,
                                                    workdir: Path) -> None:
    """--max-turns overrides limits.max_turns for the lead, and so for its sub-agents too."""
    fake_anthropic.responder = responder(lead_delegating({"brief": "one: read a.log"}), endless_child)
    cfg = Config.model_validate({"limits": {"max_turns": 2}})
    result = run_lead(ws, cfg, workdir, max_turns=5)
    assert result.status == "completed"
    assert child_limits(ws.root) == {"one": (5, "max_turns", 5)}


@pytest.mark.slow
def test_dreamcli_run_max_turns_caps_subagents(fake_anthropic: FakeAnthropic, home: Path, workdir: Path) -> None:
    task = workdir.parent / "triage.yaml"
    task.write_text(f"name: capped\nprompt: Split the logs among sub-agents.\nworkdir: {workdir}\n"
                    "tools: [read, delegate]\nmax_turns: 30\n")
    fake_anthropic.responder = responder(lead_delegating({"brief": "one: read a.log", "max_turns": 20}),
                                         endless_child)
    proc = run_cli(["run", str(task), "--max-turns", "3", "--yes"], env=cli_env(fake_anthropic.url, home))
    assert proc.returncode == 0, proc.stderr
    assert child_limits(home) == {"one": (3, "max_turns", 3)}
    assert child_calls(fake_anthropic) == {"one": 3}
