"""`cloud sessions pull` and a session whose id is a plain, valid id that the redaction rules call a
secret (a built-in rule's, or the workspace's own `redaction.patterns`): the id would name the session
log, so that session is skipped with a one-line warning, its id redacted, and the others are imported;
the id is never written in clear, neither shown nor in any file of the workspace."""

from __future__ import annotations

import copy
import json

import pytest

from dreamcli.testing import FakeAnthropic
from dreamcli.workspace.home import Workspace
from tests.cloud.helpers import cli, cloud_requests, data, requires_managed_agents

pytestmark = [requires_managed_agents, pytest.mark.timeout(60)]

KEY = "sk-ant-api03-" + "DUMMYKEY" * 4 + "0000000000"  # a built-in rule's secret; a valid id all the same
CUSTOM = "sesn_ACME-" + "0123456789" * 3  # the workspace's own pattern
EVENTS = [{"type": "user.message", "content": [{"type": "text", "text": "Summarise the contract"}]},
          {"type": "agent.message", "content": [{"type": "text", "text": "Done."}]}]


def _seed(server: FakeAnthropic, ws: Workspace) -> str:
    ws.config_path.write_text("redaction:\n  patterns: ['ACME-[0-9]{30}']\n")
    d = data(server)
    good = d.add_session(events=EVENTS)
    for secret in (KEY, CUSTOM):
        session = copy.deepcopy(d.sessions.pop(d.add_session(events=EVENTS)))
        old = session["id"]
        session["id"] = secret
        d.sessions[secret], d.session_stores[secret] = session, []
        d.events[secret] = d.events.pop(old)
    return good


def _workspace_text(ws: Workspace) -> str:
    return "\n".join(p.name + "\n" + p.read_text(errors="replace") for p in ws.root.rglob("*")
                     if p.is_file() and p != ws.config_path)


def test_a_session_whose_id_is_a_secret_is_skipped_and_the_pull_goes_on(fake_anthropic: FakeAnthropic,
                                                                         ws: Workspace) -> None:
    good = _seed(fake_anthropic, ws)

    result = cli(ws, "cloud", "sessions", "pull", "--json")

    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["imported"] == 1 and out["skipped"] == 2 and out["listed"] == 3
    assert len(out["warnings"]) == 2
    for warning in out["warnings"]:
        assert "\n" not in warning and "[REDACTED:" in warning and "skipped" in warning, warning
        assert "redaction rules" in warning, warning
    requested = [r.path for r in cloud_requests(fake_anthropic, "GET", "/v1/sessions/")]
    assert requested == [f"/v1/sessions/{good}/events"]  # a secret is never put in a URL either
    everything = result.stdout + result.stderr + _workspace_text(ws)
    assert "DUMMYKEY" not in everything and "ACME" not in everything


def test_the_summary_line_counts_the_skipped_sessions(fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    _seed(fake_anthropic, ws)

    result = cli(ws, "cloud", "sessions", "pull")

    assert result.exit_code == 0, result.stderr
    assert "1 session imported" in result.stdout and "2 skipped" in result.stdout, result.stdout
    warnings = [ln for ln in result.stderr.splitlines() if ln.startswith("warning:")]
    assert len(warnings) == 2 and all("[REDACTED:" in w for w in warnings), result.stderr
    assert "DUMMYKEY" not in result.stdout + result.stderr and "ACME" not in result.stdout + result.stderr
