"""Cloud commands stopped from outside, through the installed CLI against the fake server: SIGTERM and
SIGHUP stop `cloud dream` as Ctrl-C does (the cloud dream is cancelled, exit 128 + the signal), and the
cache of a `cloud sessions pull` killed with -9 is swept by the next command (docs/reliability.md)."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from dreamcli.ids import new_ulid
from dreamcli.testing import FakeAnthropic
from dreamcli.workspace.home import Workspace
from tests.cloud.helpers import cli, cloud_requests, data, requires_managed_agents
from tests.support.run import DREAMCLI, cli_env, until

pytestmark = requires_managed_agents

EVENTS = [{"type": "user.message", "content": [{"type": "text", "text": "hello"}]},
          {"type": "agent.message", "content": [{"type": "text", "text": "hi"}]}]


def _spawn(server: FakeAnthropic, ws: Workspace, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([DREAMCLI, "--home", str(ws.root), *args], env=cli_env(server.url, ws.root),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_cancels_the_cloud_dream_and_exits_128_plus_it(
        fake_anthropic: FakeAnthropic, ws: Workspace, signum: int) -> None:
    d = data(fake_anthropic)
    store = d.add_store(memories={"/notes/a.md": "a\n"})
    d.add_session(store_ids=[store], status="terminated")
    d.script_dream(pending_polls=10**6)
    proc = _spawn(fake_anthropic, ws, "cloud", "dream", "--store", store)
    try:
        until(lambda: d.dreams, "the cloud dream to start")
        time.sleep(0.2)  # the CLI is waiting for its first poll
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 128 + signum, err
    [dream] = d.dreams.values()
    assert dream.canceled and dream.body["status"] == "canceled"
    assert len(cloud_requests(fake_anthropic, "POST", f"/v1/dreams/{dream.body['id']}/cancel")) == 1
    last = err.strip().splitlines()[-1]
    assert signal.Signals(signum).name in last and "cancelled cloud dream" in last and dream.body["id"] in last


def test_the_cache_of_a_pull_killed_with_9_is_swept_by_the_next_command(
        fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    for _ in range(3):
        data(fake_anthropic).add_session(events=list(EVENTS))
    route = fake_anthropic.managed._route
    release = threading.Event()
    fetched: list[str] = []

    def answer(rec: Any, parts: list[str], q: dict[str, str]) -> Any:
        if parts[2:] == ["events"]:
            fetched.append(parts[1])
            if len(fetched) > 1:  # the first session is in the cache: hold the pull here
                release.wait(30)
        return route(rec, parts, q)

    fake_anthropic.managed._route = answer  # type: ignore[method-assign]
    fake_anthropic.allow_leftovers = True
    root = ws.state_dir / "cloud" / "sessions"
    proc = _spawn(fake_anthropic, ws, "cloud", "sessions", "pull")
    try:
        cached = until(lambda: list(root.glob("*/sesn_*.jsonl")), "the pull to cache a session")
        proc.kill()
        proc.wait()
    finally:
        release.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert cached[0].parent.name.endswith(f"-{proc.pid}")  # carries its pid: dead means abandoned

    assert cli(ws, "sessions", "list").exit_code == 0  # any command that opens the workspace

    assert not cached[0].parent.exists() and list(root.iterdir()) == []


def test_a_pull_clears_the_pid_less_caches_an_older_version_left_once_an_hour_old(
        fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    root = ws.state_dir / "cloud" / "sessions"
    old, young = root / new_ulid(), root / new_ulid()
    for folder in (old, young):
        folder.mkdir(parents=True)
        (folder / "sesn_01abc.jsonl").write_text("{}\n")
    hours_ago = time.time() - 3 * 3600
    os.utime(old, (hours_ago, hours_ago))

    assert cli(ws, "cloud", "sessions", "pull").exit_code == 0

    assert not old.exists() and young.exists()  # a young one may be a running older dreamcli's


def test_a_finished_pull_leaves_no_cache(fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    data(fake_anthropic).add_session(events=list(EVENTS))
    assert cli(ws, "cloud", "sessions", "pull").exit_code == 0
    assert list((ws.state_dir / "cloud" / "sessions").iterdir()) == []
    assert not any(Path(ws.state_dir).rglob("*.tmp"))
