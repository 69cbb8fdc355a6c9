"""Dreams count a lead and its sub-agents as one episode: the same mistake made by three sub-agents of
one delegated run is support 1, not 3 (checked on logs written by a real delegated run)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dreamcli.agent import RunOptions, prompt_spec, run_agent
from dreamcli.config import Config
from dreamcli.dream.aggregates import Aggregates
from dreamcli.dream.engine import DreamOptions, run_dream
from dreamcli.dream.signals import scan_session
from dreamcli.playbooks.proposal_model import Operation
from dreamcli.sessions.reader import ReadStats
from dreamcli.testing import FakeAnthropic, Reply, tool_reply, tool_use
from dreamcli.workspace.home import Workspace
from tests.support.multiagent import answer, responder

MISSING = "q3-report.xlsx"


def reads_missing_file(req: Any, turn: int) -> Reply:
    return tool_reply(tool_use("read", {"file_path": MISSING})) if turn == 0 else answer("no report found")


def xlsx_errors(agg: Aggregates) -> list[Any]:
    return [p for p in agg.patterns.values() if p.kind == "error" and ".xlsx" in (p.template or p.label or "")]


def ops_about_xlsx(result: Any) -> list[Operation]:
    return [o for o in result.operations if ".xlsx" in str(o.text) or ".xlsx" in str(o.evidence)]


def test_a_lead_and_its_subagents_are_one_episode(fake_anthropic: FakeAnthropic, tmp_path: Path) -> None:
    ws = Workspace(root=tmp_path / "home", source="option").ensure_layout()
    wd = tmp_path / "work"
    wd.mkdir()
    opts = RunOptions(workdir=wd, tools=("read", "delegate"), yes=True)

    def lead(req: Any, turn: int) -> Reply:
        if turn == 0:
            return tool_reply(tool_use("delegate", {"tasks": [{"brief": f"Summarise {MISSING}, part {i}"}
                                                              for i in range(3)]}))
        return answer("The report is missing.")

    fake_anthropic.responder = responder(lead, lambda brief, turn, req: reads_missing_file(req, turn))
    delegated = run_agent(ws, Config(), prompt_spec("Summarise the Q3 report", name="q3"), opts)
    files = sorted(ws.sessions_dir.rglob("*.jsonl"))
    assert len(files) == 4

    agg = Aggregates()
    for path in files:
        scan_session(path, agg, playbook="default", stats=ReadStats())
    [pattern] = xlsx_errors(agg)
    assert pattern.occurrences == 3 and pattern.support == 1  # three sub-agents, one episode
    assert pattern.episodes == {delegated.session_id} and len(pattern.sessions) == 3

    # three sessions, one episode: below what an unrecovered tool error needs (3 episodes)
    dry = run_dream(ws, Config(), DreamOptions(offline=True, min_support=1, dry_run=True))
    assert ops_about_xlsx(dry) == []

    # two more runs (no sub-agents) make the same mistake: now 3 episodes, not 5 sessions
    fake_anthropic.responder = responder(reads_missing_file, lambda *a: answer("unused"))
    for n in range(2):
        run_agent(ws, Config(), prompt_spec(f"Summarise the Q3 report ({n})", name="q3"), opts)
    result = run_dream(ws, Config(), DreamOptions(offline=True, min_support=3))
    [op] = ops_about_xlsx(result)
    assert op.support.sessions == 3, op.support
