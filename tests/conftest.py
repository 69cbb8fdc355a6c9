"""Fixtures shared by the whole suite: the fake Anthropic server, the workspace in its three states, and an
environment with no model configured.

Workspaces live at tmp_path/"home", one per test (so tests run in parallel under pytest-xdist):

    home      the path only; nothing on disk (for commands given --home, which create it)
    new_ws    a Workspace there that does not exist yet (the code under test creates it)
    bare_ws   its root exists (0700), no sub-directories: writers create them on demand
    ws        its full layout (sessions, memory, playbooks, dreams, grades, state), as after `dreamcli init`
    demo      `dreamcli init DIR --with-samples`: a project's .dreamcli with the bundled sample sessions

A module that needs more in its workspace (playbooks, dreams, ...) seeds `ws` with a fixture of its own
name that tests request next to `ws`.
"""

from __future__ import annotations

import os
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from dreamcli.testing import FakeAnthropic
from dreamcli.workspace.home import Workspace

# Property tests draw the same examples on every run (a failure on CI is one a developer gets too) and do not
# time how long an example takes to make or run: on a loaded machine (`-n auto` beside other jobs) Hypothesis's
# "too slow" health check failed a test that had found nothing wrong. A test's own @settings still apply.
settings.register_profile("dreamcli", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("dreamcli")

IGNORED_SIGNALS = "PYTEST_DREAMCLI_IGNORED_SIGNALS"  # the signals the suite's first process started ignoring


def pytest_configure(config: pytest.Config) -> None:
    # Output width must not depend on where the suite runs: pytest-xdist sets COLUMNS=80 (and LINES)
    # in its workers, which would make the CLI wrap tables and ids that the tests read at full width.
    for var in ("COLUMNS", "LINES"):
        os.environ.pop(var, None)
    # a developer's own ~/.config/dreamcli/config.yaml must not change what the suite sees
    os.environ["DREAMCLI_CONFIG"] = os.devnull
    # nor their trusted workspaces, and the suite writes none of its own there (dreamcli.agent.config_trust)
    os.environ["DREAMCLI_TRUST_FILE"] = os.path.join(tempfile.mkdtemp(prefix="dreamcli-trust-"), "trusted.json")
    # started with Ctrl-C ignored (`pytest &` in a non-interactive shell), every process the tests start would ignore it
    # too (an ignored signal stays ignored across exec), and the tests that stop one with SIGINT would fail: the
    # suite takes Python's own handler back, which its processes and their children start with
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    # so for SIGHUP (`nohup pytest`) and SIGTERM: dreamcli leaves a signal it started with ignored ignored, and the
    # tests that stop a command with one would find it going on. A handler that does nothing keeps the suite itself
    # ignoring it, and a handled signal is back to its default in every program the tests start (exec resets it)
    # (pytest-xdist's workers are programs it starts: the suite's first process tells them, IGNORED_SIGNALS)
    told = os.environ.get(IGNORED_SIGNALS, "").split(",")
    ignored = [s for s in (signal.SIGHUP, signal.SIGTERM)
               if signal.getsignal(s) is signal.SIG_IGN or str(int(s)) in told]
    for signum in ignored:
        signal.signal(signum, _ignored)
    if ignored:
        os.environ[IGNORED_SIGNALS] = ",".join(str(int(s)) for s in ignored)


def _ignored(signum: int, frame: object) -> None:
    """A signal the suite was started ignoring: still ignored here, though not by what the tests start."""

# ---- fake Anthropic server ---------------------------------------------------------------------


@pytest.fixture
def fake_anthropic(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAnthropic]:
    """A started fake Anthropic API; ANTHROPIC_BASE_URL / ANTHROPIC_API_KEY point at it.

    Teardown fails the test if a request was unexpected or (unless server.allow_leftovers) a
    scripted reply was never used.
    """
    server = FakeAnthropic().start()
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-fake")
    for var in ("ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_PROFILE", "ANTHROPIC_CUSTOM_HEADERS"):
        monkeypatch.delenv(var, raising=False)
    try:
        yield server
    finally:
        server.stop()
    problems = server.problems()
    if problems:
        pytest.fail("fake Anthropic server:\n  " + "\n  ".join(problems), pytrace=False)


@pytest.fixture
def no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """No model from the environment (no Anthropic key, URL or token) and no DREAMCLI_HOME."""
    for var in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "ANTHROPIC_AUTH_TOKEN", "DREAMCLI_HOME"):
        monkeypatch.delenv(var, raising=False)


# ---- workspaces --------------------------------------------------------------------------------


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """tmp_path/"home": where this test's workspace lives (not created)."""
    return tmp_path / "home"


@pytest.fixture
def new_ws(home: Path) -> Workspace:
    """A workspace at `home` that does not exist yet."""
    return Workspace(home, "option")


@pytest.fixture
def bare_ws(new_ws: Workspace) -> Workspace:
    """A workspace whose root exists but none of its sub-directories."""
    return new_ws.ensure()


@pytest.fixture
def ws(bare_ws: Workspace) -> Workspace:
    """A workspace with its full layout."""
    return bare_ws.ensure_layout()


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    """The .dreamcli of `dreamcli init DIR --with-samples` (the bundled sample sessions, for offline dreams)."""
    from typer.testing import CliRunner

    from dreamcli.cli.app import app

    r = CliRunner().invoke(app, ["init", str(tmp_path / "demo"), "--with-samples"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return tmp_path / "demo" / ".dreamcli"


@pytest.fixture(autouse=True)
def _no_waiting_counter_outlives_its_test(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Close every 'waiting for the model' counter a test made: a view a test left armed (a run that
    stopped before its end) otherwise prints from its daemon thread 15 s later, into whatever test then
    runs in the same worker (CI saw "waiting for the model (15s so far)" in two other tests' stderr)."""
    from dreamcli.ui.waiting import Waiting

    made: list[Waiting] = []
    init = Waiting.__init__

    def tracked(self: Waiting, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(Waiting, "__init__", tracked)
    yield
    for counter in made:
        counter.close()


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The usual umask (group and others may read) for the test, whatever the runner's is."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)
