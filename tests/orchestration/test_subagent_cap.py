"""Review #7: one lead may start at most limits.max_subagents sub-agents over all its delegate calls (a
call over what is left is a tool error the model sees, nothing of it runs), and `run` shows what the
sub-agents spent next to the lead's own totals (the summary line on stderr, `--json`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from dreamcli.agent import RunOptions, prompt_spec, run_agent
from dreamcli.cli.app import app
from dreamcli.config import Config
from dreamcli.testing import FakeAnthropic, Reply, tool_reply, tool_use
from dreamcli.workspace.home import Workspace
from tests.support.multiagent import answer, brief_of, is_child, logs_by_role, responder

runner = CliRunner()


def delegate(n: int, tag: str) -> Reply:
    return tool_reply(tool_use("delegate", {"tasks": [{"brief": f"part {tag}{i}"} for i in range(n)]}))


def tool_result_of(req: Any) -> dict[str, Any]:
    """The last tool_result block the lead was sent."""
    return next(b for b in reversed(req.messages[-1]["content"]) if b.get("type") == "tool_result")


def test_max_subagents_defaults_to_50_and_is_validated() -> None:
    assert Config().limits.max_subagents == 50
    assert Config.model_validate({"limits": {"max_subagents": 3}}).limits.max_subagents == 3
    with pytest.raises(ValidationError):
        Config.model_validate({"limits": {"max_subagents": 0}})


def test_the_cap_counts_every_delegate_call_of_the_run(fake_anthropic: FakeAnthropic, ws: Workspace,
                                                       tmp_path: Path) -> None:
    """3 sub-agents, then a call of 2 (only 1 left: refused, nothing started), then a call of 1 (runs),
    then a call of 1 (none left: refused). The lead's run goes on and completes."""
    script = [delegate(3, "a"), delegate(2, "b"), delegate(1, "c"), delegate(1, "d"), answer("merged")]

    def lead(req: Any, turn: int) -> Reply:
        return script[turn]

    fake_anthropic.responder = responder(lead, lambda brief, turn, req: answer(f"done {brief}"))
    (tmp_path / "wd").mkdir()
    cfg = Config.model_validate({"limits": {"max_subagents": 4}})
    result = run_agent(ws, cfg, prompt_spec("Split it.", name="cap"),
                       RunOptions(workdir=tmp_path / "wd", tools=("read", "delegate"), yes=True))
    assert result.status == "completed" and result.final_text == "merged"

    briefs = sorted(brief_of(r) for r in fake_anthropic.requests if is_child(r))
    assert briefs == ["part a0", "part a1", "part a2", "part c0"]  # nothing of the refused calls ran
    leads = [r for r in fake_anthropic.requests if not is_child(r)]
    over = tool_result_of(leads[2])
    assert over["is_error"] is True
    assert "at most 4 sub-agents in all" in over["content"] and "limits.max_subagents" in over["content"]
    assert "has started 3" in over["content"] and "asks for 2, only 1 is left" in over["content"]
    assert tool_result_of(leads[3])["is_error"] is False
    none_left = tool_result_of(leads[4])
    assert none_left["is_error"] is True and "none are left" in none_left["content"]
    assert "4 sub-agents in all" in leads[0].body["tools"][-1]["description"]  # the model is told the cap

    lead_events, children = logs_by_role(ws.root)
    assert len(children) == 4
    tools = [e for e in lead_events if e["type"] == "tool"]
    assert [e["error_kind"] for e in tools] == [None, "refused", None, "refused"]


def test_a_fanout_over_the_default_cap_starts_nothing(fake_anthropic: FakeAnthropic, ws: Workspace,
                                                      tmp_path: Path) -> None:
    """The reviewer's case: two calls of 500 briefs in one turn. Each is over the default cap of 50."""
    def lead(req: Any, turn: int) -> Reply:
        if turn == 0:
            calls = [tool_use("delegate", {"tasks": [{"brief": f"part {c}-{i}"} for i in range(500)]}, id=f"t{c}")
                     for c in range(2)]
            return tool_reply(*calls)
        return answer("did it myself")

    fake_anthropic.responder = responder(lead, lambda brief, turn, req: answer("never"))
    (tmp_path / "wd").mkdir()
    result = run_agent(ws, Config(), prompt_spec("Split it.", name="fanout"),
                       RunOptions(workdir=tmp_path / "wd", tools=("read", "delegate"), yes=True, max_turns=2))
    assert result.status == "completed"
    assert not [r for r in fake_anthropic.requests if is_child(r)]


@pytest.fixture
def lead_task(tmp_path: Path) -> Path:
    (tmp_path / "wd").mkdir()
    path = tmp_path / "lead.yaml"
    path.write_text("name: lead\nprompt: Split it.\nworkdir: wd\ntools: [read, delegate]\nmax_turns: 3\n")
    return path


def spending_lead(fake_anthropic: FakeAnthropic) -> None:
    def lead(req: Any, turn: int) -> Reply:
        return delegate(2, "x") if turn == 0 else answer("merged", input_tokens=10, output_tokens=5)

    # each child: 50,000 + 1,000 tokens, more than the lead spends
    fake_anthropic.responder = responder(lead, lambda brief, turn, req: answer("ok", input_tokens=50_000,
                                                                                output_tokens=1_000))


def test_run_json_shows_the_subagents_spend_next_to_the_leads(fake_anthropic: FakeAnthropic, ws: Workspace,
                                                               lead_task: Path) -> None:
    spending_lead(fake_anthropic)
    r = runner.invoke(app, ["--home", str(ws.root), "run", str(lead_task), "--yes", "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    subs = data["subagents"]
    assert subs["count"] == 2 and subs["turns"] == 2
    assert subs["input_tokens"] == 100_000 and subs["output_tokens"] == 2_000 and subs["tokens"] == 102_000
    own = data["totals"]  # the lead's own, as before
    own_tokens = own["input_tokens"] + own["output_tokens"] + own["cache_read_tokens"] + own["cache_write_tokens"]
    assert data["total_tokens"] == own_tokens + 102_000
    assert subs["cost_usd"] > own["cost_usd"] > 0
    assert data["total_cost_usd"] == pytest.approx(own["cost_usd"] + subs["cost_usd"], abs=1e-6)
    _, children = logs_by_role(ws.root)  # the same numbers as the children's own logs
    assert sum(e[-1]["totals"]["cost_usd"] for e in children.values()) == pytest.approx(subs["cost_usd"], abs=1e-6)


def test_the_summary_line_shows_the_subagents_spend(fake_anthropic: FakeAnthropic, ws: Workspace,
                                                    lead_task: Path) -> None:
    spending_lead(fake_anthropic)
    r = runner.invoke(app, ["--home", str(ws.root), "run", str(lead_task), "--yes"], env={"NO_COLOR": "1"})
    assert r.exit_code == 0, r.output
    _, children = logs_by_role(ws.root)
    kids_cost = sum(e[-1]["totals"]["cost_usd"] for e in children.values())
    summary = r.stderr.strip().splitlines()[-1]
    assert summary.startswith("completed · 2 turns · 1 tool call · ")
    assert f" · 2 sub-agents: 102.0k tokens, ${kids_cost:.4f} · in all " in summary
