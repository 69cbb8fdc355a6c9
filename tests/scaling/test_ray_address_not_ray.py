"""`dream --executor ray --ray-address HOST:PORT` at a port that accepts connections but is no Ray cluster (a
wrong port: a silent listener, a web server) passed the TCP check, then ray.init retried it for many minutes
holding the dream lock. Now the address must answer as a gRPC server does (Ray's GCS and its client server are
gRPC) within a few seconds, or the dream stops with one line and exit 4. Every listener is on 127.0.0.1."""

from __future__ import annotations

import http.server
import socket
import threading
import time
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


@pytest.fixture
def silent_port() -> Iterator[int]:
    """Accepts every connection and never says a word (a wrong port of some other service)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield int(server.getsockname()[1])
    finally:
        server.close()
        for conn in held:
            conn.close()


class QuietHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # not on the stderr the test reads
        pass


@pytest.fixture
def http_port() -> Iterator[int]:
    """A web server (the Ray dashboard's port, say), which answers, but in HTTP/1."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("kind", ["silent", "http"])
def test_a_port_that_is_not_ray_fails_in_seconds_without_calling_ray(kind: str, request: pytest.FixtureRequest,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    port = int(request.getfixturevalue(f"{kind}_port"))
    monkeypatch.delenv("RAY_USE_TLS", raising=False)
    monkeypatch.setattr(executors, "RAY_ANSWER_TIMEOUT_S", 0.5)
    fake = FakeRay()
    started = time.monotonic()
    with pytest.raises(CredentialsError) as err:
        executors.RayExecutor(f"127.0.0.1:{port}", ray_module=fake)
    assert time.monotonic() - started < 3 and fake.inits == []
    message = str(err.value)
    assert f"127.0.0.1:{port} (--ray-address)" in message and "not a Ray cluster" in message
    assert "\n" not in message


def test_with_tls_the_answer_is_left_to_ray(silent_port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ray's TLS (RAY_USE_TLS=1) wants a TLS handshake first: only the TCP check applies."""
    monkeypatch.setenv("RAY_USE_TLS", "1")
    fake = FakeRay()
    executors.RayExecutor(f"127.0.0.1:{silent_port}", ray_module=fake)
    assert [i["address"] for i in fake.inits] == [f"127.0.0.1:{silent_port}"]


@pytest.mark.slow
@pytest.mark.timeout(60)  # before the check, ray.init retried this address for many minutes
@pytest.mark.parametrize("kind", ["silent", "http"])
def test_the_dream_at_a_port_that_is_not_ray_exits_4_in_seconds(kind: str, request: pytest.FixtureRequest,
                                                                 tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 no_model: None) -> None:
    pytest.importorskip("ray", reason="Ray is not installed (pip install '.[ray]')")
    port = int(request.getfixturevalue(f"{kind}_port"))
    for var in ("RAY_ADDRESS", "RAY_USE_TLS"):
        monkeypatch.delenv(var, raising=False)
    home = tmp_path / "home"
    runner = CliRunner()
    assert runner.invoke(app, ["--home", str(home), "init"]).exit_code == 0
    for n in range(2):
        recent_session(Workspace(root=home, source="option"), n)
    started = time.monotonic()
    r = runner.invoke(app, ["--home", str(home), "dream", "--offline", "--executor", "ray",
                            "--ray-address", f"127.0.0.1:{port}"])
    assert time.monotonic() - started < executors.RAY_ANSWER_TIMEOUT_S + 3
    assert r.exit_code == EXIT_CREDENTIALS, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and f"127.0.0.1:{port}" in lines[0] and "not a Ray cluster" in lines[0]


@pytest.mark.slow
def test_a_real_ray_cluster_passes_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check must never refuse Ray itself: a local Ray's GCS, by the address ray.init would be given."""
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install '.[ray]')")
    monkeypatch.delenv("RAY_USE_TLS", raising=False)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    try:
        ray.init(num_cpus=1, log_to_driver=False, include_dashboard=False)
        address = ray.get_runtime_context().gcs_address
        executors.check_reachable(address)  # raises when the GCS does not answer as gRPC
        assert executors.RayExecutor(address, ray_module=ray).workers == 1
    finally:
        ray.shutdown()
