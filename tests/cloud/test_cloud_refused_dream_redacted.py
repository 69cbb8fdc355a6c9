"""A completed cloud dream whose store the mirror cannot hold is recorded as a proposal with no entries; the
instructions the user typed are written to dream.json and report.md as the workspace's rules redact them, as
for any cloud dream, never as the API returns them."""

from __future__ import annotations

import pytest

import dreamcli.cloud.dream_job as dream_job
from dreamcli.cloud.dream_base import DreamBase
from dreamcli.cloud.dream_record import Recorder
from dreamcli.cloud.dream_result import _refused
from dreamcli.config import workspace_redactor
from dreamcli.testing import FakeAnthropic
from dreamcli.workspace.home import Workspace
from tests.cloud.helpers import cli, data, requires_managed_agents

TOKEN = "ghp_" + "Zq3vK9xW2mP7rT5yL8nB4cH6jD1fG0sA9eU2"


def _written(ws: Workspace) -> tuple[str, str]:
    [local] = [p for p in ws.dreams_dir.iterdir() if not p.name.startswith(".")]
    return (local / "dream.json").read_text(), (local / "report.md").read_text()


def test_the_refusal_redacts_the_dream_it_is_given(ws: Workspace) -> None:
    """`_refused` redacts the API's object itself: no caller can write its instructions raw."""
    done = {"id": "cdrm_1", "status": "completed", "instructions": f"use {TOKEN} to read the repo",
            "model": {"id": "m"}}
    recorder = Recorder(ws, store_id="memstore_1", sessions=1, model="m", redactor=workspace_redactor(ws.config_path))
    err = _refused(ws, DreamBase("memstore_1", ["s1"], "default", None, {}), done, "memstore_2", recorder,
                   "too many memories")
    assert "no proposal written" in str(err)
    info, report = _written(ws)
    assert TOKEN not in info and TOKEN not in report
    assert "use [REDACTED:github] to read the repo" in info and "> use [REDACTED:github] to read the repo" in report


@requires_managed_agents
@pytest.mark.timeout(60)
def test_cloud_dream_refused_keeps_its_instructions_redacted(fake_anthropic: FakeAnthropic, ws: Workspace,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dream_job, "FIRST_POLL_S", 0.001)
    d = data(fake_anthropic)
    store = d.add_store(memories={"/notes/style.md": "Cite clause numbers.\n"})
    d.add_session(store_ids=[store], status="terminated")
    d.script_dream(writes={"/../../escape.md": "out\n"})  # an output store the mirror cannot hold

    result = cli(ws, "cloud", "dream", "--store", store, "--instructions", f"use {TOKEN} to read the repo")

    assert result.exit_code == 2 and "no proposal written" in result.stderr, result.stderr
    assert TOKEN not in result.stderr
    info, report = _written(ws)
    assert TOKEN not in info and TOKEN not in report and "[REDACTED:github]" in report
