"""Sessions written under a supervisor reach a bucket workspace too (S3 served by moto on 127.0.0.1): the
runs of `run --parallel`, their sub-agents and pilot trials. They wrote through a SupervisedWriter with no
sink, so they stayed local and a fleet's bucket dream never saw them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from dreamcli.agent import RunOptions
from dreamcli.agent.spec import TaskSpec
from dreamcli.config import Config
from dreamcli.orchestration.batch import prepare_batch, run_batch
from dreamcli.store.url import open_store
from dreamcli.testing import FakeAnthropic, Reply, tool_reply, tool_use
from dreamcli.workspace.home import Workspace
from tests.pilot.helpers import run_pilot_api, seed_workspace, write_task
from tests.support.multiagent import answer, responder


def _delegating(fake: FakeAnthropic) -> None:
    def lead(req: Any, turn: int) -> Reply:
        if turn == 0:
            return tool_reply(tool_use("delegate", {"tasks": [{"brief": "Read contract.txt: the notice period?"}]}))
        return answer("SOLVED: section 9.2, 30 days.")

    fake.responder = responder(lead, lambda brief, turn, req: answer("30 days (9.2)."))


def _bucket_config(ws: Workspace, url: str) -> Config:
    settings = {"sessions": {"url": url, "part_lines": 2}}
    ws.config_path.write_text(yaml.safe_dump(settings))
    return Config.model_validate(settings)


def _local(ws: Workspace) -> dict[str, bytes]:
    return {p.stem: p.read_bytes() for p in ws.sessions_dir.rglob("*.jsonl")}


def _in_bucket(ws: Workspace, url: str) -> dict[str, bytes]:
    store = open_store(ws, url)
    out = {}
    for s in store.list():
        assert s.sealed, s.session_id
        with store.open(s.session_id) as f:
            out[s.session_id] = f.read()
    return out


@pytest.mark.slow
def test_parallel_runs_and_their_subagents_are_uploaded(fake_anthropic: FakeAnthropic, ws: Workspace,
                                                        s3_env: str, tmp_path: Path) -> None:
    _delegating(fake_anthropic)
    config = _bucket_config(ws, s3_env)
    (tmp_path / "wd").mkdir()
    specs = [TaskSpec(prompt=f"Task {i}.", name=f"t{i}", workdir=tmp_path / "wd", tools=("read", "delegate"))
             for i in range(2)]
    runs = run_batch(ws, config, prepare_batch(ws, config, specs), RunOptions(yes=True), parallel=2)
    assert [r.status for r in runs] == ["completed", "completed"]
    local = _local(ws)
    assert len(local) == 4  # two leads, a sub-agent each
    assert _in_bucket(ws, s3_env) == local


@pytest.mark.slow
def test_pilot_trials_and_their_subagents_are_uploaded(fake_anthropic: FakeAnthropic, ws: Workspace,
                                                       s3_env: str, tmp_path: Path) -> None:
    seed_workspace(ws)
    _delegating(fake_anthropic)
    _bucket_config(ws, s3_env)
    run_pilot_api(ws, write_task(tmp_path, tools="[read, delegate]"), trials=1, parallel=1)
    local = _local(ws)
    assert len(local) == 4  # a trial of each arm, a sub-agent each
    assert _in_bucket(ws, s3_env) == local
