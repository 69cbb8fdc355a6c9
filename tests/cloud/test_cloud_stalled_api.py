"""A Managed Agents API that accepts the connection and never answers (docs/managed-agents.md, "A stalled
API"): every cloud command gives up within (limits.model_retries + 1) x limits.request_timeout_s plus the
SDK's backoff, the model client's own policy from config.yaml, with one line naming the host and the
timeout (exit 3); Ctrl-C or SIGTERM ends it at once, and a signal held while a cloud dream's create request
is stalled ends it within one attempt (a create is never sent again). The timeout is lowered to 1 s so the
tests take seconds."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from dreamcli.errors import EXIT_INFRA
from dreamcli.testing import FakeAnthropic
from dreamcli.workspace.home import Workspace
from tests.cloud.helpers import cli, cloud_requests, data, requires_managed_agents
from tests.support.blackhole import Blackhole
from tests.support.run import DREAMCLI, cli_env, until

pytestmark = [requires_managed_agents, pytest.mark.slow]

TIMEOUT_S = 1
SLACK_S = 2.0  # making the client, opening the workspace, a busy machine
COMMANDS = {"sessions pull": ["sessions", "pull"], "memory pull": ["memory", "pull", "memstore_01abc"],
            "memory push": ["memory", "push", "default", "--store", "memstore_01abc"],
            "dream": ["dream", "--store", "memstore_01abc"]}


def bound_s(retries: int) -> float:
    """Attempts x the timeout, plus the SDK's backoff between them (0.5 s doubling, at most 8 s)."""
    return (retries + 1) * TIMEOUT_S + sum(min(0.5 * 2 ** i, 8.0) for i in range(retries))


@pytest.fixture
def blackhole(monkeypatch: pytest.MonkeyPatch) -> Iterator[Blackhole]:
    server = Blackhole()
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-fake")
    try:
        yield server
    finally:
        server.close()


def _configure(ws: Workspace, *, timeout_s: float = TIMEOUT_S, retries: int = 1) -> None:
    ws.config_path.write_text(f"limits:\n  request_timeout_s: {timeout_s}\n  model_retries: {retries}\n")
    assert cli(ws, "playbooks", "new", "default").exit_code in (0, 2)  # what `memory push` pushes


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("command", "retries"), [(c, 1) for c in COMMANDS] + [("sessions pull", 0)])
def test_every_command_gives_up_within_the_configured_bound_with_one_line(
        ws: Workspace, blackhole: Blackhole, command: str, retries: int) -> None:
    _configure(ws, retries=retries)
    t0 = time.monotonic()
    result = cli(ws, "cloud", *COMMANDS[command])
    took = time.monotonic() - t0

    assert result.exit_code == EXIT_INFRA, result.stderr
    assert took < bound_s(retries) + SLACK_S, f"{took:.1f} s"
    assert len(blackhole.requests) == retries + 1, blackhole.requests  # limits.model_retries, not the SDK's own
    [line] = result.stderr.splitlines()
    attempts = "1 attempt" if retries == 0 else f"{retries + 1} attempts"
    assert line.startswith("error: ") and f"the API at {blackhole.host} did not answer within 1 s" in line, line
    assert attempts in line and "limits.request_timeout_s" in line, line


def _spawn(ws: Workspace, url: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([DREAMCLI, "--home", str(ws.root), "cloud", *args], env=cli_env(url, ws.root),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _ended(proc: subprocess.Popen[str], within: float) -> tuple[str, float]:
    t0 = time.monotonic()
    try:
        err = proc.communicate(timeout=within + 30)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return err, time.monotonic() - t0


@pytest.mark.timeout(90)
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_a_stalled_request_ends_the_command_at_once(ws: Workspace, blackhole: Blackhole,
                                                                    signum: int) -> None:
    _configure(ws, timeout_s=30)  # the signal, not the timeout, ends it
    proc = _spawn(ws, blackhole.url, *COMMANDS["sessions pull"])
    until(lambda: blackhole.requests, "the pull's first request")
    time.sleep(0.3)
    proc.send_signal(signum)
    err, took = _ended(proc, 3)

    assert proc.returncode == 128 + signum, err
    assert took < 3, f"{took:.1f} s"
    [line] = err.splitlines()
    assert line.startswith("error: interrupted") and len(blackhole.requests) == 1, (line, blackhole.requests)


def _stall_the_create(server: FakeAnthropic) -> tuple[threading.Event, threading.Event]:
    """Every create request (POST /v1/dreams) hangs until `release`; `arrived` is set at the first."""
    route = server.managed._route
    arrived, release = threading.Event(), threading.Event()

    def stalled(rec: Any, parts: list[str], q: dict[str, str]) -> Any:
        if rec.method == "POST" and parts == ["dreams"]:
            arrived.set()
            release.wait(60)
            return 500, {"type": "error", "error": {"type": "api_error", "message": "too late"}}
        return route(rec, parts, q)

    server.managed._route = stalled  # type: ignore[method-assign]
    return arrived, release


@pytest.mark.timeout(90)
def test_a_signal_held_during_a_stalled_dream_create_ends_the_command_within_the_bound(
        fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    _configure(ws)
    fake_anthropic.allow_leftovers = True
    d = data(fake_anthropic)
    store = d.add_store(memories={"/notes/a.md": "a\n"})
    d.add_session(store_ids=[store], status="terminated")
    arrived, release = _stall_the_create(fake_anthropic)
    proc = _spawn(ws, fake_anthropic.url, "dream", "--store", store)
    try:
        assert arrived.wait(60), "the create request never came"
        proc.send_signal(signal.SIGTERM)  # held until the request returns: its timeout, not minutes
        err, took = _ended(proc, bound_s(0))
    finally:
        release.set()

    assert proc.returncode == 143, err
    assert took < bound_s(0) + SLACK_S, f"{took:.1f} s"
    assert len(cloud_requests(fake_anthropic, "POST", "/v1/dreams")) == 1  # never sent again: it may have started one
    [line] = err.splitlines()
    assert line.startswith("error: interrupted by SIGTERM: start a cloud dream"), line
    assert "did not answer within 1 s" in line and fake_anthropic.url.split("//")[1] in line, line
    assert "a cloud dream may have started all the same" in line, line


@requires_managed_agents
@pytest.mark.parametrize(("timeout_s", "retries", "want"), [(600.0, 4, (120.0, 2)), (1.0, 1, (1.0, 1)),
                                                           (300.0, 0, (120.0, 0))])
def test_cloud_requests_take_the_model_policy_capped(monkeypatch: pytest.MonkeyPatch, timeout_s: float,
                                                     retries: int, want: tuple[float, int]) -> None:
    """A model call may stream for minutes; a cloud listing or write answers in seconds: the defaults that
    suit the first (600 s, 4 retries: 50 minutes against a stalled API) are capped for the second."""
    from dreamcli.cloud.client import cloud_client
    from dreamcli.config import LimitsConfig

    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    client = cloud_client(LimitsConfig(request_timeout_s=timeout_s, model_retries=retries))
    assert (client.timeout, client.max_retries) == want


@pytest.mark.timeout(60)
@pytest.mark.parametrize("header", ["41", None], ids=["header-says-41", "no-header"])
def test_the_attempts_named_are_counted_by_dreamcli_not_read_from_the_sdk(
        ws: Workspace, blackhole: Blackhole, monkeypatch: pytest.MonkeyPatch, header: str | None) -> None:
    """The SDK's `x-stainless-retry-count` header is its own detail: whatever it sends (another count, or
    none), the line names the attempts limits.model_retries allows."""
    import anthropic

    import dreamcli.cloud.client as client_module

    made = client_module.make_client
    sent = anthropic.Omit() if header is None else header
    monkeypatch.setattr(client_module, "make_client", lambda **kw: made(**kw).with_options(
        default_headers={"x-stainless-retry-count": sent}))
    _configure(ws, retries=1)

    result = cli(ws, "cloud", *COMMANDS["sessions pull"])

    assert result.exit_code == EXIT_INFRA, result.stderr
    assert len(blackhole.requests) == 2, blackhole.requests
    [line] = result.stderr.splitlines()
    assert "did not answer within 1 s (2 attempts;" in line, line
