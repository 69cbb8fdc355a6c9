"""`cloud dream` files its proposal under `--playbook`, else config `playbooks.default`, as a local
dream does; a name that is not a playbook name is refused before any cloud call."""

from __future__ import annotations

import json

import pytest

import dreamcli.cloud.dream_job as dream_job
from dreamcli.testing import FakeAnthropic
from dreamcli.workspace.home import Workspace
from tests.cloud.helpers import cli, cli_json, cloud_requests, data, requires_managed_agents

pytestmark = requires_managed_agents


@pytest.fixture(autouse=True)
def fast_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dream_job, "FIRST_POLL_S", 0.001)


def _scripted(server: FakeAnthropic) -> str:
    d = data(server)
    store = d.add_store(memories={"/notes/a.md": "old a\n"})
    d.add_session(store_ids=[store], status="terminated")
    d.script_dream(writes={"/notes/a.md": "new a\n"})
    return store


def _filed_under(ws: Workspace, out: dict) -> str:
    [made] = out["dreams"]
    return json.loads((ws.dreams_dir / made["dream_id"] / "proposal.json").read_text())["playbook"]


def test_the_proposal_goes_to_the_configured_default_playbook(fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    ws.config_path.write_text("playbooks:\n  default: legal\n")
    out = cli_json(ws, "cloud", "dream", "--store", _scripted(fake_anthropic))
    assert out["playbook"] == "legal" and _filed_under(ws, out) == "legal"


def test_playbook_option_wins_over_the_config(fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    ws.config_path.write_text("playbooks:\n  default: legal\n")
    out = cli_json(ws, "cloud", "dream", "--store", _scripted(fake_anthropic), "--playbook", "ops")
    assert _filed_under(ws, out) == "ops"


def test_a_playbook_name_with_a_path_is_refused_before_any_dream(fake_anthropic: FakeAnthropic,
                                                                 ws: Workspace) -> None:
    r = cli(ws, "cloud", "dream", "--store", _scripted(fake_anthropic), "--playbook", "../escape")
    assert r.exit_code == 2 and "invalid playbook name" in r.stderr
    assert not cloud_requests(fake_anthropic, "POST", "/v1/dreams")
