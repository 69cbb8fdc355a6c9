"""A cloud dream is created at most once: the create carries no idempotency key and no metadata to find
the dream it made by, so a create that may have reached the API (a timeout, a dropped connection, a 5xx)
is never sent again, by the SDK or by dreamcli; the command ends with one line saying a dream may have
started and to check before running it again. Only an answer that says nothing was started (429) is
sent again (docs/managed-agents.md, "Cloud dreams")."""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

import pytest

import dreamcli.cloud.dream_create as dream_create
import dreamcli.cloud.dream_job as dream_job
from dreamcli import sdk_beta
from dreamcli.errors import EXIT_INFRA
from dreamcli.testing import FakeAnthropic
from dreamcli.workspace.home import Workspace
from tests.cloud.helpers import cli, cli_json, cloud_requests, data, requires_managed_agents

pytestmark = [requires_managed_agents, pytest.mark.timeout(60)]

TIMEOUT_S = 1


@pytest.fixture(autouse=True)
def fast_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dream_job, "FIRST_POLL_S", 0.001)


def _setup(server: FakeAnthropic, ws: Workspace, retries: int = 2) -> str:
    ws.config_path.write_text(f"limits:\n  request_timeout_s: {TIMEOUT_S}\n  model_retries: {retries}\n")
    d = data(server)
    store = d.add_store(memories={"/notes/a.md": "a\n"})
    d.add_session(store_ids=[store], status="terminated")
    return store


def _answer_creates(server: FakeAnthropic, answer: Any, *, times: int = 1) -> None:
    """The first `times` creates (POST /v1/dreams) go through `answer(route, rec, parts, q)`."""
    route = server.managed._route
    left = [times]

    def wrapped(rec: Any, parts: list[str], q: dict[str, str]) -> Any:
        if rec.method != "POST" or parts != ["dreams"] or left[0] == 0:
            return route(rec, parts, q)
        left[0] -= 1
        return answer(route, rec, parts, q)

    server.managed._route = wrapped  # type: ignore[method-assign]
    server.allow_leftovers = True


def _started_then_stalled(route: Any, rec: Any, parts: list[str], q: dict[str, str]) -> Any:
    answer = route(rec, parts, q)  # the dream is started: billed
    time.sleep(TIMEOUT_S + 0.5)  # and its answer comes after the client gave up
    return answer


def _started_then_503(route: Any, rec: Any, parts: list[str], q: dict[str, str]) -> Any:
    route(rec, parts, q)
    return 503, {"type": "error", "error": {"type": "api_error", "message": "upstream reset"}}


def _rate_limited(route: Any, rec: Any, parts: list[str], q: dict[str, str]) -> Any:
    return 429, {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}


@pytest.mark.parametrize(("answer", "said"), [(_started_then_stalled, "did not answer within 1 s"),
                                              (_started_then_503, "cloud API error: HTTP 503: upstream reset")],
                         ids=["timeout", "503"])
def test_a_create_that_may_have_started_a_dream_is_never_sent_again(
        fake_anthropic: FakeAnthropic, ws: Workspace, answer: Any, said: str) -> None:
    store = _setup(fake_anthropic, ws, retries=2)
    _answer_creates(fake_anthropic, answer, times=3)

    result = cli(ws, "cloud", "dream", "--store", store)

    assert result.exit_code == EXIT_INFRA, result.stdout + result.stderr
    assert len(cloud_requests(fake_anthropic, "POST", "/v1/dreams")) == 1
    assert len(data(fake_anthropic).dreams) == 1  # billed once
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: start a cloud dream over memory store {store}: "), line
    assert said in line, line
    assert "a cloud dream may have started all the same" in line, line
    assert f"before running `dreamcli --home {ws.root} cloud dream` again" in line, line
    assert not list(ws.dreams_dir.glob("*/proposal.json"))


def test_a_create_the_api_refused_with_429_is_sent_again(fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    store = _setup(fake_anthropic, ws, retries=1)
    _answer_creates(fake_anthropic, _rate_limited)

    out = cli_json(ws, "cloud", "dream", "--store", store)

    assert len(cloud_requests(fake_anthropic, "POST", "/v1/dreams")) == 2
    assert list(data(fake_anthropic).dreams) == [out["dreams"][0]["cloud_dream_id"]]


def test_a_create_refused_more_often_than_the_retries_allow_names_the_attempts(
        fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    store = _setup(fake_anthropic, ws, retries=1)
    _answer_creates(fake_anthropic, _rate_limited, times=2)

    result = cli(ws, "cloud", "dream", "--store", store)

    assert result.exit_code == EXIT_INFRA, result.stdout + result.stderr
    assert len(cloud_requests(fake_anthropic, "POST", "/v1/dreams")) == 2
    assert not data(fake_anthropic).dreams
    [line] = result.stderr.splitlines()
    assert "HTTP 429: slow down" in line and "may have started" not in line, line


def test_a_create_that_timed_out_names_only_the_setting_that_applies(
        fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    """limits.model_retries sends nothing again after a timeout (the create may have started a dream):
    the line names the timeout's setting and says the create is not sent again, never model_retries."""
    store = _setup(fake_anthropic, ws, retries=2)
    _answer_creates(fake_anthropic, _started_then_stalled)

    result = cli(ws, "cloud", "dream", "--store", store)

    assert result.exit_code == EXIT_INFRA, result.stdout + result.stderr
    [line] = result.stderr.splitlines()
    assert "did not answer within 1 s (1 attempt; not sent again after a timeout; config " \
           "limits.request_timeout_s)" in line, line
    assert "model_retries" not in line, line


def _signal_at_create(monkeypatch: pytest.MonkeyPatch, signum: int, *, after_s: float | None = None) -> None:
    """The first create meets `signum`: raised before its request goes out (held until it answers), or with
    `after_s`, sent to the process that long after the create failed (in the backoff before the next one)."""
    create = sdk_beta.create_dream
    sent: list[bool] = []

    def create_then_signal(*args: Any, **kwargs: Any) -> dict[str, Any]:
        first = not sent
        sent.append(True)
        if first and after_s is None:
            signal.raise_signal(signum)
        try:
            return create(*args, **kwargs)
        finally:
            if first and after_s is not None:
                threading.Timer(after_s, os.kill, (os.getpid(), signum)).start()

    monkeypatch.setattr(sdk_beta, "create_dream", create_then_signal)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("when", ["during the create", "in the backoff"])
def test_a_signal_stops_the_creates_no_further_one_is_sent(
        fake_anthropic: FakeAnthropic, ws: Workspace, monkeypatch: pytest.MonkeyPatch, signum: int,
        when: str) -> None:
    """Ctrl-C or SIGTERM while a create that the API then refuses (429) is in flight, or in the pause before the
    next one: no create goes out after it (it would start a dream, only to cancel it); the command ends at
    once with the signal's exit and says no dream was started."""
    store = _setup(fake_anthropic, ws, retries=3)
    _answer_creates(fake_anthropic, _rate_limited, times=4)
    monkeypatch.setattr(dream_create, "BACKOFF_S", 3.0)
    _signal_at_create(monkeypatch, signum, after_s=0.2 if when == "in the backoff" else None)

    t0 = time.monotonic()
    result = cli(ws, "cloud", "dream", "--store", store)
    took = time.monotonic() - t0

    creates = [r for r in cloud_requests(fake_anthropic, "POST", "/v1/dreams") if r.path == "/v1/dreams"]
    assert (result.exit_code, len(creates)) == (128 + signum, 1), result.stderr + repr(result.exception)
    assert not data(fake_anthropic).dreams
    assert took < 2, f"{took:.1f} s: the backoff ran on"
    [line] = result.stderr.splitlines()
    assert line.startswith("error: interrupted") and "; no cloud dream to cancel: " in line, line
    assert "HTTP 429: slow down" in line, line
