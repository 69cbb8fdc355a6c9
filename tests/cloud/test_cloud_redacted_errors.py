"""The API's own error text is redacted before a cloud command prints it (stderr, cron logs) or puts it
in its result: built-in rules plus the workspace config's `redaction.patterns`, as `grade` does."""

from __future__ import annotations

import json
from typing import Any

import pytest

import dreamcli.cloud.dream_job as dream_job
from dreamcli.config import LimitsConfig
from dreamcli.testing import FakeAnthropic
from dreamcli.workspace.home import Workspace
from tests.cloud.helpers import cli, data, requires_managed_agents

pytestmark = requires_managed_agents

KEY = "sk-ant-api03-" + "DUMMYKEY" * 4 + "0000000000"
CUSTOM = "ACME-123456"


def _echo_secrets(server: FakeAnthropic, status: int = 400) -> None:
    """Every Managed Agents request answers `status` with an error message holding a key and a secret
    of the workspace's own pattern."""
    message = f"invalid header x-api-key: {KEY} (tenant {CUSTOM})"
    server.managed._route = lambda rec, parts, q: (  # type: ignore[method-assign]
        status, {"type": "error", "error": {"type": "invalid_request_error", "message": message}})
    server.allow_leftovers = True


@pytest.mark.parametrize("args", [
    ("cloud", "memory", "pull", "memstore_01abc"),
    ("cloud", "sessions", "pull"),
    ("cloud", "dream", "--store", "memstore_01abc"),
    ("cloud", "memory", "push", "default", "--store", "memstore_01abc"),
])
def test_an_api_error_echoing_a_secret_is_printed_redacted(
        fake_anthropic: FakeAnthropic, ws: Workspace, args: tuple[str, ...]) -> None:
    ws.config_path.write_text("redaction:\n  patterns: ['ACME-[0-9]{6}']\n")
    if args[2] == "push":
        cli(ws, "playbooks", "new", "default")
    _echo_secrets(fake_anthropic)

    result = cli(ws, *args)

    assert result.exit_code == 3, result.stderr
    assert "invalid header x-api-key" in result.stderr
    assert KEY not in result.stderr + result.stdout and "DUMMYKEY" not in result.stderr
    assert CUSTOM not in result.stderr + result.stdout
    assert "[REDACTED:anthropic]" in result.stderr


def test_built_in_rules_apply_without_a_workspace_redactor(fake_anthropic: FakeAnthropic) -> None:
    from dreamcli.cloud.client import cloud_client, cloud_error

    _echo_secrets(fake_anthropic, 500)
    client = cloud_client(LimitsConfig(model_retries=0))
    try:
        client.beta.memory_stores.retrieve("memstore_01abc")
    except Exception as e:  # the SDK's APIStatusError
        error = cloud_error(e, what="pull")
    assert error.exit_code == 3 and KEY not in str(error) and "[REDACTED:anthropic]" in str(error)


def test_a_failed_dream_s_error_message_is_redacted(fake_anthropic: FakeAnthropic, ws: Workspace,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dream_job, "FIRST_POLL_S", 0.001)
    d = data(fake_anthropic)
    store = d.add_store(memories={"/a.md": "a\n"})
    d.add_session(store_ids=[store], status="terminated")
    d.script_dream(pending_polls=0, running_polls=0, final="failed",
                   error={"type": "internal_error", "message": f"tool leaked {KEY}"})

    result = cli(ws, "cloud", "dream", "--store", store)

    assert result.exit_code == 3 and "internal_error" in result.stderr
    assert KEY not in result.stderr and "[REDACTED:anthropic]" in result.stderr


def test_a_skipped_session_s_warning_is_redacted(fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    ws.config_path.write_text("redaction:\n  patterns: ['ACME-[0-9]{6}']\n")
    d = data(fake_anthropic)
    gone = d.add_session(events=[{"type": "user.message", "content": [{"type": "text", "text": "hi"}]}])
    route = fake_anthropic.managed._route

    def answer(rec: Any, parts: list[str], q: dict[str, str]) -> Any:
        if parts[:2] == ["sessions", gone]:
            return 404, {"type": "error", "error": {"type": "not_found_error", "message": f"{CUSTOM} {KEY} gone"}}
        return route(rec, parts, q)

    fake_anthropic.managed._route = answer  # type: ignore[method-assign]

    result = cli(ws, "cloud", "sessions", "pull", "--json")

    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["skipped"] == 1 and gone in out["warnings"][0]
    assert KEY not in result.stdout + result.stderr and CUSTOM not in result.stdout + result.stderr
