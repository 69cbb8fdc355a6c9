"""Ctrl-C while the model client is being built (`modelclient.make_client`, its slow step is loading the CA
certificates): the half-built client's finaliser stays silent, so the command's one `error: interrupted` line
is all stderr gets. The anthropic SDK's own HTTP client closes itself in `__del__` by reading state that its
constructor had not set yet, and the interpreter printed "Exception ignored in ... AttributeError"."""

from __future__ import annotations

import gc
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx2
import pytest

from dreamcli.modelclient import make_client
from dreamcli.testing import FakeAnthropic
from tests.pilot.helpers import DREAM, scripted_agent, seed_workspace, write_task
from tests.support.run import cli_env


def _unraisables(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What finalisers fail with from now on (the interpreter's "Exception ignored in" messages)."""
    seen: list[str] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: seen.append(f"{type(u.exc_value).__name__}: {u.exc_value}"))
    return seen


def test_a_client_interrupted_in_its_constructor_finalises_silently(fake_anthropic: FakeAnthropic,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _unraisables(monkeypatch)

    def interrupted(self: Any, *args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt  # as Ctrl-C lands: the client object exists, its constructor has not finished

    monkeypatch.setattr(httpx2.HTTPTransport, "__init__", interrupted)
    with pytest.raises(KeyboardInterrupt):
        make_client()
    gc.collect()  # the half-built client (kept alive by the traceback until now) is finalised
    assert seen == []


def test_a_client_dropped_unclosed_is_still_closed(fake_anthropic: FakeAnthropic,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _unraisables(monkeypatch)
    closed: list[object] = []
    close = httpx2.Client.close
    monkeypatch.setattr(httpx2.Client, "close", lambda self: (closed.append(self), close(self))[1])
    client = make_client()
    del client
    gc.collect()
    assert len(closed) == 1  # its connections go when it does, as the SDK's own client does it
    assert seen == []


LAUNCHER = '''\
import os, signal, ssl, sys
import dreamcli.modelclient as modelclient
load, make = ssl.SSLContext.load_verify_locations, modelclient.make_client
armed = []
def loading(self, *args, **kwargs):
    result = load(self, *args, **kwargs)
    if armed and armed.pop():  # the model client's certificates: Ctrl-C as the slow C call returns
        os.kill(os.getpid(), signal.SIGINT)
    return result
def making(**kwargs):
    armed.append(True)
    return make(**kwargs)
ssl.SSLContext.load_verify_locations = loading
modelclient.make_client = making
from dreamcli.cli.app import main
sys.argv[0] = "dreamcli"
sys.exit(main())
'''


@pytest.mark.slow
def test_ctrl_c_while_pilot_builds_its_client_prints_one_line(fake_anthropic: FakeAnthropic, ws: Any,
                                                              tmp_path: Path) -> None:
    seed_workspace(ws)
    task = write_task(tmp_path)
    fake_anthropic.responder = scripted_agent(0.9, 0.2)
    fake_anthropic.allow_leftovers = True
    launcher = tmp_path / "launcher.py"
    launcher.write_text(LAUNCHER)
    args = ["pilot", str(task), "--proposal", DREAM, "--trials", "1", "--parallel", "1", "--yes", "--json"]
    done = subprocess.run([sys.executable, str(launcher), *args], env=cli_env(fake_anthropic.url, ws.root),
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
                          preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert done.returncode == 130, done.stderr
    assert fake_anthropic.requests == []  # stopped while building the client, before any call
    assert done.stderr.rstrip().splitlines()[-1] == "error: interrupted", done.stderr
    assert "Exception ignored" not in done.stderr and "Traceback" not in done.stderr, done.stderr
