"""Shared pieces of the cloud tests: the skip when the installed SDK predates the Managed Agents
resources, the CLI runner with a temp home, and seeding helpers for the fake server."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.cloud.client import sdk_problem
from dreamcli.testing import FakeAnthropic
from dreamcli.testing.fake_anthropic.managed_data import ManagedData
from dreamcli.workspace.home import Workspace

SDK_PROBLEM = sdk_problem()
requires_managed_agents = pytest.mark.skipif(SDK_PROBLEM is not None, reason=SDK_PROBLEM or "")


def cli(ws: Workspace, *args: str) -> Any:
    from dreamcli.cli.app import app

    return CliRunner().invoke(app, ["--home", str(ws.root), *args],
                              env={"DREAMCLI_ACTOR": "tester", "NO_COLOR": "1"})


def cli_json(ws: Workspace, *args: str) -> dict[str, Any]:
    result = cli(ws, *args, "--json")
    assert result.exit_code == 0, result.stderr + result.stdout
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


def data(server: FakeAnthropic) -> ManagedData:
    return server.managed.data


def audit(ws: Workspace) -> list[dict[str, Any]]:
    if not ws.audit_path.exists():
        return []
    return [json.loads(line) for line in ws.audit_path.read_text().splitlines() if line.strip()]


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def cloud_requests(server: FakeAnthropic, method: str, prefix: str) -> list[Any]:
    return [r for r in server.all_requests if r.method == method and r.path.startswith(prefix)]


def bend_create(server: FakeAnthropic, bend: Callable[[dict[str, Any]], None],
                 cancel: tuple[int, dict[str, Any]] | None = None) -> None:
    """The fake creates the dream as usual, then answers the create with `bend` applied to its body (the
    dream's id kept); with `cancel`, a cancel request gets that answer instead of cancelling."""
    route = server.managed._route

    def bent(rec: Any, parts: list[str], q: dict[str, str]) -> Any:
        if rec.method == "POST" and parts[-1:] == ["cancel"] and cancel is not None:
            return cancel
        answer = route(rec, parts, q)
        if rec.method == "POST" and parts == ["dreams"] and isinstance(answer, tuple) and answer[0] == 200:
            body = dict(answer[1])
            bend(body)
            return 200, body
        return answer

    server.managed._route = bent  # type: ignore[method-assign]


def dream_store(server: FakeAnthropic, ws: Workspace) -> str:
    """A memory store with one memory and one terminated session on it, ready for `cloud dream --store`;
    the workspace's model retries off, so a scripted failure is final."""
    ws.config_path.write_text("limits:\n  model_retries: 0\n")
    d = data(server)
    store = d.add_store(memories={"/notes/a.md": "a\n"})
    d.add_session(store_ids=[store], status="terminated")
    return store
