"""`dream --executor ray` with an address where nothing listens waited on ray.init for many minutes while
holding the dream lock, and Ray started before selection, so a dream with nothing new paid for it. Now the
executor starts on first use (after selection, only when there is something to scan) and an unreachable
address is one line and exit 4 within seconds. No Ray cluster is started here: a closed TCP port on
127.0.0.1, and a stand-in `ray` module that records what was asked of it."""

from __future__ import annotations

import json
import socket
import sys
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.dream import executors
from dreamcli.errors import EXIT_CREDENTIALS, CredentialsError
from dreamcli.workspace.home import Workspace
from tests.support.ray import FakeRay, recent_session

runner = CliRunner()


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port on 127.0.0.1 that refuses connections: bound (so nothing else takes it), never listening."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield int(s.getsockname()[1])


@pytest.fixture
def fake_ray(monkeypatch: pytest.MonkeyPatch) -> FakeRay:
    fake = FakeRay()
    monkeypatch.setitem(sys.modules, "ray", fake)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    return fake


@pytest.mark.parametrize("form", ["127.0.0.1:{}", "ray://127.0.0.1:{}", "env"])
def test_an_unreachable_address_fails_at_once_without_calling_ray(fake_ray: FakeRay, closed_port: int, form: str,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    address = None
    if form == "env":
        monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{closed_port}")
    else:
        address = form.format(closed_port)
    if form.startswith("ray://"):  # Ray Client installed (without it: a usage error first, test_ray_errors.py)
        monkeypatch.setitem(sys.modules, "grpc", types.ModuleType("grpc"))
    started = time.monotonic()
    with pytest.raises(CredentialsError) as err:
        executors.RayExecutor(address, ray_module=fake_ray)
    assert time.monotonic() - started < 5 and fake_ray.inits == []
    message = str(err.value)
    assert f"127.0.0.1:{closed_port}" in message and "\n" not in message
    assert ("RAY_ADDRESS" if form == "env" else "--ray-address") in message


def test_no_address_and_auto_are_left_to_ray(fake_ray: FakeRay) -> None:
    assert executors.RayExecutor(None, ray_module=fake_ray).workers == 1
    assert executors.RayExecutor("auto", ray_module=fake_ray).workers == 1
    assert [i["address"] for i in fake_ray.inits] == [None, "auto"]


def test_the_ray_executor_starts_on_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[tuple[Any, ...]] = []

    class Recorder:
        workers = 4

        def __init__(self, address: str | None, workers: int | None) -> None:
            made.append((address, workers))

        def map(self, fn: Any, tasks: Any) -> Iterator[Any]:
            return iter([fn(*args) for args in tasks])

    monkeypatch.setattr(executors, "RayExecutor", Recorder)
    monkeypatch.setattr(executors, "_ray_installed", lambda: True, raising=False)
    deferred = executors.make_executor("ray", 2, "10.0.0.1:6379")
    assert deferred is not None and made == []
    assert deferred.workers == 4 and list(deferred.map(abs, [(-1,), (-2,)])) == [1, 2]
    assert made == [("10.0.0.1:6379", 2)]  # once


def test_a_dream_with_nothing_new_never_starts_the_executor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            no_model: None) -> None:
    """A workspace whose sessions live in object storage (here a shared volume, file://) takes the full
    dream even when nothing is new: the executor was started before its selection."""
    pytest.importorskip("fsspec", reason="fsspec is not installed (pip install '.[s3]')")
    home = tmp_path / "home"
    r = runner.invoke(app, ["--home", str(home), "init", "--sessions-url", (tmp_path / "volume").as_uri()])
    assert r.exit_code == 0, r.output
    recent_session(Workspace(root=home, source="option"), 1)
    assert runner.invoke(app, ["--home", str(home), "dream", "--offline"]).exit_code == 0
    made: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        made.append(args)
        raise AssertionError("the executor was started")

    monkeypatch.setattr(executors, "RayExecutor", refuse)
    monkeypatch.setattr(executors, "_ray_installed", lambda: True, raising=False)
    r = runner.invoke(app, ["--home", str(home), "dream", "--offline", "--json", "--executor", "ray",
                            "--ray-address", "127.0.0.1:1"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["status"] == "nothing_new" and made == []


def test_an_unreachable_ray_address_exits_4_at_once_and_frees_the_lock(tmp_path: Path, fake_ray: FakeRay,
                                                                       closed_port: int, no_model: None) -> None:
    home = tmp_path / "home"
    assert runner.invoke(app, ["--home", str(home), "init"]).exit_code == 0
    for n in range(2):
        recent_session(Workspace(root=home, source="option"), n)
    started = time.monotonic()
    r = runner.invoke(app, ["--home", str(home), "dream", "--offline", "--executor", "ray",
                            "--ray-address", f"127.0.0.1:{closed_port}"])
    assert time.monotonic() - started < 10
    assert r.exit_code == EXIT_CREDENTIALS, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and f"127.0.0.1:{closed_port}" in lines[0] and fake_ray.inits == []
    again = runner.invoke(app, ["--home", str(home), "dream", "--offline", "--json"])  # the lock is free
    assert again.exit_code == 0 and json.loads(again.stdout)["inputs"]["sessions"] == 2  # nothing was consumed
