"""An error answer (HTTP 4xx/5xx) is one clean line naming the status and the API's own message, wherever
the body keeps it (`error.message`, `message`, `error` as text, a plain-text body), or `(no message)`:
never the SDK's rendering of the body (`HTTP 500 500 {}`) nor its request id and path."""

from __future__ import annotations

import pytest

from dreamcli.errors import EXIT_CREDENTIALS, EXIT_INFRA
from dreamcli.testing import FakeAnthropic
from dreamcli.workspace.home import Workspace
from tests.cloud.helpers import cli, requires_managed_agents

pytestmark = requires_managed_agents

STORE = "memstore_01abc"
WHAT = f"pull memory store {STORE}"
JSON = "application/json"


def _answer(server: FakeAnthropic, status: int, body: bytes, content_type: str = JSON) -> None:
    """Every Managed Agents request answers `status` with exactly `body`."""
    server.managed.handle = lambda handler, rec: handler.send_bytes(  # type: ignore[method-assign]
        status, body, content_type)
    server.allow_leftovers = True


@pytest.mark.parametrize(("status", "body", "content_type", "said"), [
    pytest.param(500, b"", JSON, "HTTP 500 (no message)", id="empty"),
    pytest.param(500, b"{}", JSON, "HTTP 500 (no message)", id="empty-object"),
    pytest.param(500, b"null", JSON, "HTTP 500 (no message)", id="null"),
    pytest.param(503, b'{"type": "error", "error": {"type": "api_error"}}', JSON, "HTTP 503 (no message)",
                 id="error-without-message"),
    pytest.param(502, b"<!DOCTYPE html>\n<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html",
                 "HTTP 502 (no message: an HTML page)", id="html"),
    pytest.param(503, b"upstream connect error\nor disconnect/reset before headers", "text/plain",
                 "HTTP 503: upstream connect error or disconnect/reset before headers", id="plain-text"),
    pytest.param(500, b'{"type": "error", "error": {"type": "api_error", "message": "Internal server error"}}',
                 JSON, "HTTP 500: Internal server error", id="nested-error-message"),
    pytest.param(500, b'{"message": "overloaded, try later"}', JSON, "HTTP 500: overloaded, try later",
                 id="top-level-message"),
    pytest.param(500, b'{"error": "database unavailable"}', JSON, "HTTP 500: database unavailable",
                 id="error-as-text"),
    pytest.param(422, b'{"type": "error", "error": {"type": "invalid_request_error", "message": "path: too long"}}',
                 JSON, "HTTP 422: path: too long", id="client-error"),
])
def test_an_error_answer_is_one_clean_line(fake_anthropic: FakeAnthropic, ws: Workspace, status: int, body: bytes,
                                           content_type: str, said: str) -> None:
    ws.config_path.write_text("limits:\n  model_retries: 0\n")
    _answer(fake_anthropic, status, body, content_type)

    result = cli(ws, "cloud", "memory", "pull", STORE)

    assert result.exit_code == EXIT_INFRA, result.stderr
    assert result.stderr.splitlines() == [f"error: {WHAT}: cloud API error: {said}"]


def test_a_long_message_is_cut_and_a_secret_in_it_still_redacted(fake_anthropic: FakeAnthropic,
                                                                 ws: Workspace) -> None:
    ws.config_path.write_text("limits:\n  model_retries: 0\n")
    key = "sk-ant-api03-" + "K" * 40
    _answer(fake_anthropic, 500, ("x" * 200 + f" {key} " + "y" * 500).encode(), "text/plain")
    start = f"error: {WHAT}: cloud API error: HTTP 500: "

    result = cli(ws, "cloud", "memory", "pull", STORE)

    [line] = result.stderr.splitlines()
    assert key not in line and "KKKK" not in line and "[REDACTED:anthropic]" in line, line
    assert line.startswith(start) and len(line) == len(start) + 301 and line.endswith("y…"), line


def test_a_message_is_never_cut_inside_a_redaction_marker(fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    ws.config_path.write_text("limits:\n  model_retries: 0\n")
    _answer(fake_anthropic, 500, ("x" * 285 + " sk-ant-api03-" + "K" * 40).encode(), "text/plain")

    result = cli(ws, "cloud", "memory", "pull", STORE)

    [line] = result.stderr.splitlines()
    assert line.endswith("x…") and "KKKK" not in line and "[REDACTED" not in line, line


def test_refused_credentials_keep_their_own_line(fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    _answer(fake_anthropic, 401, b"{}")

    result = cli(ws, "cloud", "memory", "pull", STORE)

    assert result.exit_code == EXIT_CREDENTIALS, result.stderr
    [line] = result.stderr.splitlines()
    assert "refused the credentials (HTTP 401)" in line and "{}" not in line, line
