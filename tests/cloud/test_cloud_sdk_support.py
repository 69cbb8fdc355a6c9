"""The cloud commands on an SDK without the Managed Agents resources: one clear line, never a crash at
import (these tests run on every SDK in the declared range; the others skip with the same reason)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import dreamcli.cloud.client as cloud_client
from dreamcli.sdk_beta import MANAGED_AGENTS_MIN_SDK, managed_agents_missing
from dreamcli.workspace.home import Workspace
from tests.cloud.helpers import cli


def _client(**beta: object) -> SimpleNamespace:
    return SimpleNamespace(beta=SimpleNamespace(**beta))


def test_the_adapter_names_the_first_missing_resource() -> None:
    full = _client(sessions=SimpleNamespace(events=1), memory_stores=SimpleNamespace(memories=1), dreams=1)
    assert managed_agents_missing(full) is None
    assert managed_agents_missing(_client(sessions=SimpleNamespace(events=1),
                                          memory_stores=SimpleNamespace(memories=1))) == "beta.dreams"
    assert managed_agents_missing(_client()) == "beta.sessions"
    assert managed_agents_missing(SimpleNamespace()) == "beta.sessions"


@pytest.mark.parametrize("args", [["sessions", "pull"], ["memory", "pull", "memstore_01abc"],
                                  ["memory", "push", "default", "--store", "memstore_01abc"],
                                  ["dream", "--store", "memstore_01abc"]])
def test_every_cloud_command_fails_with_one_line_on_an_old_sdk(args: list[str], ws: Workspace,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-fake")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setattr(cloud_client, "managed_agents_missing", lambda client: "beta.dreams")
    result = cli(ws, "cloud", *args)
    assert result.exit_code == 3
    assert result.stderr.count("\n") == 1
    assert f"needs anthropic >= {MANAGED_AGENTS_MIN_SDK}" in result.stderr
    assert "pip install -U anthropic" in result.stderr
