"""Grader calls and `limits.concurrency` (docs/config.md, "Limits on parallel work"), counted as the fake
server sees them: the most requests in flight at one moment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.agent import RunOptions
from dreamcli.agent.spec import TaskSpec
from dreamcli.cli.app import app
from dreamcli.config import Config
from dreamcli.orchestration.batch import prepare_batch, run_batch
from dreamcli.testing import FakeAnthropic, RecordedRequest, Reply, tool_reply, tool_use
from dreamcli.workspace.home import Workspace
from tests.support.multiagent import answer, first_text, is_grader, max_overlap, responder
from tests.support.outcomes import GRADER_SPEC, make_session, verdict_reply, write_spec

JUDGED = "name: judged\ncriteria:\n  - id: ok\n    description: The answer is fine.\n"


def slow(reply: Reply, seconds: float) -> Reply:
    reply.latency = seconds
    return reply


@pytest.mark.slow
def test_grade_makes_at_most_its_parallel_grader_calls_at_once(fake_anthropic: FakeAnthropic, ws: Workspace,
                                                               tmp_path: Path) -> None:
    """`grade` grades `--parallel` sessions at once (default limits.concurrency), one grader call each at a
    time; an explicit larger `--parallel` raises the command's limit, as for `run` and `pilot`."""
    ws.config_path.write_text("limits:\n  concurrency: 2\n")
    spec = write_spec(tmp_path / "spec.yaml", GRADER_SPEC)
    for i in range(6):
        make_session(ws, workdir=tmp_path / f"w{i}", files={"summary.md": "x"}, outcome=spec)
    fake_anthropic.responder = lambda req: slow(verdict_reply(cites_sections=True, no_advice=True), 0.2)
    home = ["--home", str(ws.root), "grade", "--last", "6", "--no-cache", "--trials", "2"]
    r = CliRunner().invoke(app, home)
    assert r.exit_code == 0, r.output
    assert len(fake_anthropic.requests) == 12 and max_overlap(fake_anthropic.requests) == 2
    fake_anthropic.requests.clear()
    r = CliRunner().invoke(app, [*home, "--parallel", "3"])
    assert r.exit_code == 0, r.output
    assert max_overlap(fake_anthropic.requests) == 3


@pytest.mark.slow
def test_a_runs_outcome_grader_shares_the_commands_limit(fake_anthropic: FakeAnthropic, ws: Workspace,
                                                         tmp_path: Path) -> None:
    """`run --parallel 2` with concurrency 2: lead A's two sub-agents hold both slots while lead B, done at
    once, is graded. Before, B's grader had a client of its own: 3 calls in flight."""
    spec = write_spec(tmp_path / "judged.yaml", JUDGED)

    def lead(req: RecordedRequest, turn: int) -> Reply:
        if first_text(req).startswith("Task A") and turn == 0:
            return slow(tool_reply(tool_use("delegate", {"tasks": [{"brief": "part 1"}, {"brief": "part 2"}]})), 0.05)
        return slow(answer("done"), 0.05)

    fake_anthropic.responder = responder(lead, lambda brief, turn, req: slow(answer("part done"), 0.6),
                                         lambda req: slow(verdict_reply(ok=True), 0.6))
    (tmp_path / "wd").mkdir()
    tasks: list[Any] = [TaskSpec(prompt="Task A: split it.", name="a", workdir=tmp_path / "wd",
                                 tools=("read", "delegate"), outcome=spec),
                        TaskSpec(prompt="Task B: answer it.", name="b", workdir=tmp_path / "wd", tools=("read",),
                                 outcome=spec)]
    cfg = Config.model_validate({"limits": {"concurrency": 2}})
    runs = run_batch(ws, cfg, prepare_batch(ws, cfg, tasks), RunOptions(yes=True), parallel=2)
    assert [r.outcome["result"] if r.outcome else None for r in runs] == ["satisfied", "satisfied"]
    assert sum(is_grader(r) for r in fake_anthropic.requests) == 2
    assert max_overlap(fake_anthropic.requests) == 2
