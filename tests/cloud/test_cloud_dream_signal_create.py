"""A signal that arrives while the request creating a cloud dream is in flight, through the installed CLI
against the fake server: the fake holds the create request until the test has sent the signal and the
process has taken it, then answers. The signal is held until the answer: the dream it names is
cancelled and the exit is 128 + the signal (130 for Ctrl-C); a create that fails exits as the signal
says; a second signal stops at once (docs/managed-agents.md, "Cloud dreams")."""

from __future__ import annotations

import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from dreamcli.testing import FakeAnthropic
from dreamcli.workspace.home import Workspace
from tests.cloud.helpers import cloud_requests, data, requires_managed_agents
from tests.support.run import DREAMCLI, cli_env, until

pytestmark = [requires_managed_agents,
              pytest.mark.skipif(not Path("/proc/self/status").exists(),
                                 reason="needs /proc to see that the process took the signal")]
SIGNALS = [pytest.param(s, marks=pytest.mark.skipif(signal.getsignal(s) is signal.SIG_IGN,
                                                    reason=f"{s.name} is ignored here"))
           for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)]


def _taken(pid: int, signum: int) -> bool:
    """Whether the kernel has handed `signum` to the process (no longer pending: its handler ran or is
    running, before the process reads anything more from the socket it waits on)."""
    bit = 1 << (signum - 1)
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return not any(int(fields[k].strip(), 16) & bit for k in ("SigPnd", "ShdPnd"))


def _hold_create(server: FakeAnthropic, answer: tuple[int, dict[str, Any]] | None = None
                 ) -> tuple[threading.Event, threading.Event]:
    """The create request (POST /v1/dreams) waits for `release`; then the fake answers it as usual, or
    with `answer`. `arrived` is set when it came in."""
    route = server.managed._route
    arrived, release = threading.Event(), threading.Event()

    def held(rec: Any, parts: list[str], q: dict[str, str]) -> Any:
        if rec.method == "POST" and parts == ["dreams"]:
            arrived.set()
            release.wait(60)
            if answer is not None:
                return answer
        return route(rec, parts, q)

    server.managed._route = held  # type: ignore[method-assign]
    return arrived, release


def _dream_over_a_store(server: FakeAnthropic, ws: Workspace) -> subprocess.Popen[str]:
    d = data(server)
    store = d.add_store(memories={"/notes/a.md": "a\n"})
    d.add_session(store_ids=[store], status="terminated")
    return subprocess.Popen([DREAMCLI, "--home", str(ws.root), "cloud", "dream", "--store", store],
                            env=cli_env(server.url, ws.root), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen[str], release: threading.Event) -> str:
    try:
        release.set()
        return proc.communicate(timeout=60)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _signalled(proc: subprocess.Popen[str], arrived: threading.Event, *signums: int) -> None:
    """Each signal sent while the create request is held, once the process took the one before."""
    assert arrived.wait(60), "the create request never came"
    for signum in signums:
        proc.send_signal(signum)
        until(lambda s=signum: proc.poll() is not None or _taken(proc.pid, s), f"the process to take {signum}")


@pytest.mark.parametrize("signum", SIGNALS)
def test_a_signal_during_the_create_request_cancels_the_dream_it_created(
        fake_anthropic: FakeAnthropic, ws: Workspace, signum: int) -> None:
    data(fake_anthropic).script_dream(pending_polls=10**6)
    arrived, release = _hold_create(fake_anthropic)
    proc = _dream_over_a_store(fake_anthropic, ws)
    try:
        _signalled(proc, arrived, signum)
        assert proc.poll() is None, "the signal stopped the command before the create request returned"
    finally:
        err = _finish(proc, release)

    assert proc.returncode == 128 + signum, err
    [dream] = data(fake_anthropic).dreams.values()
    dream_id = dream.body["id"]
    assert dream.canceled and dream.body["status"] == "canceled"
    assert len(cloud_requests(fake_anthropic, "POST", f"/v1/dreams/{dream_id}/cancel")) == 1
    assert not cloud_requests(fake_anthropic, "GET", f"/v1/dreams/{dream_id}")  # cancelled before any poll
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: interrupted") and f"cancelled cloud dream {dream_id}" in last, err
    if signum != signal.SIGINT:
        assert f"interrupted by {signal.Signals(signum).name}" in last


def test_a_create_that_fails_after_the_signal_exits_as_the_signal_says(
        fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    refused = (400, {"type": "error", "error": {"type": "invalid_request_error", "message": "model not allowed"}})
    arrived, release = _hold_create(fake_anthropic, refused)
    proc = _dream_over_a_store(fake_anthropic, ws)
    try:
        _signalled(proc, arrived, signal.SIGTERM)
    finally:
        err = _finish(proc, release)

    assert proc.returncode == 143, err
    assert not data(fake_anthropic).dreams
    assert not [r for r in cloud_requests(fake_anthropic, "POST", "/v1/dreams/") if r.path.endswith("/cancel")]
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: interrupted by SIGTERM") and "no cloud dream to cancel" in last, err
    assert "model not allowed" in last and "Traceback" not in err


@pytest.mark.parametrize(("first", "second"), [(signal.SIGINT, signal.SIGINT), (signal.SIGTERM, signal.SIGTERM)])
def test_a_second_signal_during_the_create_request_stops_at_once(
        fake_anthropic: FakeAnthropic, ws: Workspace, first: int, second: int) -> None:
    fake_anthropic.allow_leftovers = True
    arrived, release = _hold_create(fake_anthropic)
    proc = _dream_over_a_store(fake_anthropic, ws)
    try:
        _signalled(proc, arrived, first)
        assert proc.poll() is None, "the first signal stopped the command before the create request returned"
        proc.send_signal(second)
        err = proc.communicate(timeout=60)[1]  # the create request is still held: the command did not wait for it
    finally:
        release.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    assert proc.returncode == 128 + second, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: interrupted") and "again" in last and "may be running" in last, err
    assert "Traceback" not in err
