"""What follows the answer to the request creating a cloud dream, in process against the fake server: an
answer that names a dream but is malformed cancels that dream (one request) before the command exits 3;
a signal anywhere between the answer and the first poll, a second one included, cancels the dream and
exits 128 + the signal; nested `held_signals` blocks lose no signal (docs/managed-agents.md, "Cloud
dreams")."""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any

import pytest

import dreamcli.cloud.dream_job as dream_job
from dreamcli import sdk_beta
from dreamcli.testing import FakeAnthropic
from dreamcli.workspace.home import Workspace
from tests.cloud.helpers import bend_create, cli, cloud_requests, data, requires_managed_agents

pytestmark = requires_managed_agents


def _store_with_a_session(server: FakeAnthropic) -> str:
    d = data(server)
    store = d.add_store(memories={"/notes/a.md": "a\n"})
    d.add_session(store_ids=[store], status="terminated")
    return store


def _cancels(server: FakeAnthropic) -> list[Any]:
    return [r for r in cloud_requests(server, "POST", "/v1/dreams/") if r.path.endswith("/cancel")]


def _raise(signum: int) -> None:
    """The signal, arriving here: its Python handler runs before `raise_signal` returns."""
    assert callable(signal.getsignal(signum)), "no Python handler: the signal would end the test run"
    signal.raise_signal(signum)


MALFORMED = [
    pytest.param(lambda b: b.update(status=5), "status", id="status-not-a-string"),
    pytest.param(lambda b: b.pop("model"), "model", id="model-missing"),
    pytest.param(lambda b: b.update(usage="lots"), "usage", id="usage-not-an-object"),
]


@pytest.mark.parametrize(("bend", "named"), MALFORMED)
def test_a_malformed_create_answer_cancels_the_dream_it_names_and_exits_3(
        fake_anthropic: FakeAnthropic, ws: Workspace, bend: Callable[[dict[str, Any]], None], named: str) -> None:
    store = _store_with_a_session(fake_anthropic)
    bend_create(fake_anthropic, bend)

    result = cli(ws, "cloud", "dream", "--store", store)

    assert result.exit_code == 3, result.stderr + repr(result.exception)
    [dream] = data(fake_anthropic).dreams.values()
    dream_id = dream.body["id"]
    assert dream.canceled and dream.body["status"] == "canceled"
    assert [r.path for r in _cancels(fake_anthropic)] == [f"/v1/dreams/{dream_id}/cancel"]
    assert not cloud_requests(fake_anthropic, "GET", f"/v1/dreams/{dream_id}")  # never polled
    assert result.stderr.count("\n") == 1, result.stderr
    line = result.stderr.strip()
    assert line.startswith(f"error: cloud dream {dream_id}: the API answered {named}"), line
    assert f"cancelled cloud dream {dream_id}" in line
    assert not [p for p in ws.dreams_dir.iterdir() if not p.name.startswith(".")]


def test_a_cancel_that_fails_after_a_malformed_answer_is_said_and_the_original_error_kept(
        fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    store = _store_with_a_session(fake_anthropic)
    bend_create(fake_anthropic, lambda b: b.update(status=5),
                 cancel=(500, {"type": "error", "error": {"type": "api_error", "message": "cancel broke"}}))

    result = cli(ws, "cloud", "dream", "--store", store)

    assert result.exit_code == 3, result.stderr + repr(result.exception)
    [dream] = data(fake_anthropic).dreams.values()
    dream_id = dream.body["id"]
    assert len(_cancels(fake_anthropic)) == 1  # best effort: one request, no retries
    assert result.stderr.count("\n") == 1, result.stderr
    line = result.stderr.strip()
    assert line.startswith(f"error: cloud dream {dream_id}: the API answered status 5"), line
    assert f"cancelling cloud dream {dream_id} failed (InternalServerError)" in line
    assert "console" in line


def test_an_answer_whose_id_is_no_dream_id_sends_no_cancel(fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    store = _store_with_a_session(fake_anthropic)
    bend_create(fake_anthropic, lambda b: b.update(id="../sessions/x"))

    result = cli(ws, "cloud", "dream", "--store", store)

    assert result.exit_code == 3 and "not a dream id" in result.stderr, result.stderr
    assert not _cancels(fake_anthropic)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_malformed_answer_after_a_held_signal_cancels_and_exits_as_the_signal_says(
        fake_anthropic: FakeAnthropic, ws: Workspace, monkeypatch: pytest.MonkeyPatch, signum: int) -> None:
    store = _store_with_a_session(fake_anthropic)
    bend_create(fake_anthropic, lambda b: b.update(status=5))
    create = sdk_beta.create_dream

    def create_then_signal(*args: Any, **kwargs: Any) -> dict[str, Any]:
        answer = create(*args, **kwargs)
        _raise(signum)  # still "during the create": held
        return answer

    monkeypatch.setattr(sdk_beta, "create_dream", create_then_signal)

    result = cli(ws, "cloud", "dream", "--store", store)

    assert result.exit_code == 128 + signum, result.stderr + repr(result.exception)
    [dream] = data(fake_anthropic).dreams.values()
    assert dream.canceled and len(_cancels(fake_anthropic)) == 1
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("error: interrupted") and f"cancelled cloud dream {dream.body['id']}" in line, line
    assert "the API answered status 5" in line


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("during_create", [True, False], ids=["second-signal", "first-signal"])
def test_a_signal_between_the_create_answer_and_the_first_poll_cancels_the_dream(
        fake_anthropic: FakeAnthropic, ws: Workspace, monkeypatch: pytest.MonkeyPatch, signum: int,
        during_create: bool) -> None:
    """The window: `start` has the answer (`checked_dream` reads it) and `wait` has not polled yet."""
    store = _store_with_a_session(fake_anthropic)
    data(fake_anthropic).script_dream(pending_polls=10**6)
    create, checked = sdk_beta.create_dream, dream_job.checked_dream
    window: list[bool] = []

    def create_then_signal(*args: Any, **kwargs: Any) -> dict[str, Any]:
        answer = create(*args, **kwargs)
        if during_create:
            _raise(signum)  # the first signal, held until the create answers
        return answer

    def signal_then_check(dream: dict[str, Any], *rules: Any) -> dict[str, Any]:
        if not window:
            window.append(True)
            _raise(signum)  # arrives right after the answer, before the poll loop's handler
        return checked(dream, *rules)

    monkeypatch.setattr(sdk_beta, "create_dream", create_then_signal)
    monkeypatch.setattr(dream_job, "checked_dream", signal_then_check)

    result = cli(ws, "cloud", "dream", "--store", store)

    assert window and result.exit_code == 128 + signum, result.stderr + repr(result.exception)
    [dream] = data(fake_anthropic).dreams.values()
    dream_id = dream.body["id"]
    assert dream.canceled and dream.body["status"] == "canceled"
    assert len(_cancels(fake_anthropic)) == 1
    assert not cloud_requests(fake_anthropic, "GET", f"/v1/dreams/{dream_id}")  # cancelled before any poll
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("error: interrupted") and f"cancelled cloud dream {dream_id}" in line, line


def test_a_signal_held_by_a_nested_block_reaches_the_outer_one() -> None:
    original = signal.getsignal(signal.SIGINT)
    reached: list[str] = []
    with pytest.raises(KeyboardInterrupt), dream_job.held_signals((signal.SIGINT,)):
        with dream_job.held_signals((signal.SIGINT,)):
            _raise(signal.SIGINT)
        reached.append("after the inner block")  # leaving it passed the signal on: still held
    assert reached == ["after the inner block"]
    assert signal.getsignal(signal.SIGINT) is original


def test_a_second_signal_in_a_nested_block_stops_at_once() -> None:
    original = signal.getsignal(signal.SIGINT)
    stopped_at: list[str] = []
    try:
        with dream_job.held_signals((signal.SIGINT,)):
            try:
                with dream_job.held_signals((signal.SIGINT,)):
                    _raise(signal.SIGINT)
                    _raise(signal.SIGINT)
                    stopped_at.append("inner block went on")
            except KeyboardInterrupt:
                stopped_at.append("inner")
            else:
                stopped_at.append("inner block ended quietly")
    except KeyboardInterrupt:
        stopped_at.append("outer")
    assert stopped_at == ["inner"]  # at once, and no signal left held for the outer block
    assert signal.getsignal(signal.SIGINT) is original


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("first_during", ["create", "cancel"])
def test_a_second_signal_cuts_the_cancel_of_a_malformed_answer_short(
        fake_anthropic: FakeAnthropic, ws: Workspace, monkeypatch: pytest.MonkeyPatch, signum: int,
        first_during: str) -> None:
    """The cancel a malformed answer sends may stall (the client waits up to 120 s): a second signal stops it,
    as in the poll loop, and the line says the dream may still run."""
    store = _store_with_a_session(fake_anthropic)
    bend_create(fake_anthropic, lambda b: b.update(status=5))
    create, cancel = sdk_beta.create_dream, sdk_beta.cancel_dream
    went_on: list[bool] = []

    def create_then_signal(*args: Any, **kwargs: Any) -> dict[str, Any]:
        answer = create(*args, **kwargs)
        if first_during == "create":
            _raise(signum)  # held until the create answers
        return answer

    def stalled_cancel(*args: Any, **kwargs: Any) -> dict[str, Any]:
        if first_during == "cancel":
            _raise(signum)  # the first, held: the cancel goes on
        _raise(signum)  # the second, while the cancel request is in flight: stops it
        went_on.append(True)
        return cancel(*args, **kwargs)

    monkeypatch.setattr(sdk_beta, "create_dream", create_then_signal)
    monkeypatch.setattr(sdk_beta, "cancel_dream", stalled_cancel)

    result = cli(ws, "cloud", "dream", "--store", store)

    assert not went_on
    assert result.exit_code == 128 + signum, result.stderr + repr(result.exception)
    [dream] = data(fake_anthropic).dreams.values()
    dream_id = dream.body["id"]
    assert not dream.canceled and not _cancels(fake_anthropic)
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("error: interrupted") and "the API answered status 5" in line, line
    assert line.endswith(f"cancelling cloud dream {dream_id} was interrupted: it may still be running; check it in "
                         f"the console; cloud dream {dream_id} is recorded as unfinished in `dreamcli --home "
                         f"{ws.root} cloud dream list`"), line
