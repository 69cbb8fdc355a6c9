"""`dreamcli doctor`'s endpoint line tries a TCP connection (3 s at most, nothing sent, never the key): OK
with the time it took, a WARN (never a FAIL: offline dreams and imports work without it) with the reason
and a fix when nothing answers; through the proxy the environment names, it connects to the proxy only."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli import doctor, netprobe
from dreamcli.cli.app import app

KEY = "sk-ant-DOCTORFAKE-endpoint42"
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in (*PROXY_VARS, *(v.lower() for v in PROXY_VARS), "ANTHROPIC_AUTH_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)


@pytest.fixture
def listening() -> Iterator[socket.socket]:
    """A socket on 127.0.0.1 that accepts connections (the kernel completes them; nobody answers)."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(2)
        yield server


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port(server: socket.socket) -> int:
    return int(server.getsockname()[1])


def _endpoint() -> doctor.Check:
    [check] = doctor.check_endpoint()
    return check


def test_a_listening_endpoint_is_ok_with_the_connect_time_and_gets_nothing(
        listening: socket.socket, monkeypatch: pytest.MonkeyPatch) -> None:
    port = _port(listening)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", f"http://127.0.0.1:{port}/v1")
    check = _endpoint()
    assert check.status == "ok", check
    assert check.detail.startswith(f"127.0.0.1:{port} (ANTHROPIC_BASE_URL), TCP connect in ")
    assert check.detail.endswith(" ms (nothing sent)")
    conn, _ = listening.accept()  # the doctor's connection: closed without a byte
    with conn:
        conn.settimeout(2)
        assert conn.recv(1024) == b""


def test_a_closed_port_is_a_warning_with_the_reason_and_a_fix(closed_port: int, monkeypatch: pytest.MonkeyPatch,
                                                              ) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", f"http://127.0.0.1:{closed_port}")
    t0 = time.monotonic()
    check = _endpoint()
    assert time.monotonic() - t0 < 1
    assert (check.status, check.fix) == ("warn", "start the server, or fix ANTHROPIC_BASE_URL")
    assert check.detail == (f"127.0.0.1:{closed_port} (ANTHROPIC_BASE_URL): cannot reach it (connection refused); "
                            "offline dreams and imports still work")


def test_doctor_json_keeps_its_shape_and_exit_0_when_the_endpoint_is_down(
        closed_port: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setattr(doctor, "check_tools", lambda names=(): [])
    monkeypatch.setenv("ANTHROPIC_BASE_URL", f"http://127.0.0.1:{closed_port}")
    r = CliRunner().invoke(app, ["--home", str(tmp_path / "ws"), "doctor", "--json"], catch_exceptions=False)
    assert r.exit_code == 0, r.output  # a warning, not a failure
    doc = json.loads(r.stdout)
    [check] = [c for c in doc["checks"] if c["name"] == "endpoint"]
    assert set(check) == {"name", "status", "detail", "fix"} and check["status"] == "warn"
    assert "connection refused" in check["detail"] and doc["ok"] is True
    assert KEY not in r.output


def test_no_credentials_means_no_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a key or a base URL no command calls the model (exit 4 first): nothing to try."""
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    monkeypatch.setattr(netprobe, "connect", lambda *a: pytest.fail("connected"))
    check = _endpoint()
    assert (check.status, check.detail) == ("ok", "api.anthropic.com (default); not tried: no credentials to call "
                                                  "it with")


def test_through_a_proxy_only_the_proxy_is_tried_and_never_shown_with_its_password(
        listening: socket.socket, closed_port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    port = _port(listening)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "https://api.example.invalid")
    monkeypatch.setenv("HTTPS_PROXY", f"http://me:pw-DOCTORFAKE@127.0.0.1:{port}")
    check = _endpoint()
    assert check.status == "ok", check
    assert check.detail.startswith("api.example.invalid (ANTHROPIC_BASE_URL), TCP connect in ")
    assert check.detail.endswith(f" ms to the proxy 127.0.0.1:{port} (*_PROXY); the endpoint behind it is not "
                                 "checked (nothing sent)")
    assert "DOCTORFAKE" not in check.detail
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{closed_port}")
    down = _endpoint()
    assert down.status == "warn" and f"cannot reach the proxy 127.0.0.1:{closed_port}" in down.detail
    assert down.fix == "check the proxy, or name the endpoint in NO_PROXY"
    monkeypatch.setenv("ANTHROPIC_BASE_URL", f"http://127.0.0.1:{closed_port}")  # NO_PROXY: straight to it
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert "cannot reach it (connection refused)" in _endpoint().detail


def test_a_connect_that_hangs_gives_up_at_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """A resolver or a SYN that never answers: the doctor waits `timeout`, not for the system's own."""
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: time.sleep(5))
    t0 = time.monotonic()
    with pytest.raises(netprobe.Unreachable, match=r"^no connection within 0\.2 s$"):
        netprobe.connect("203.0.113.1", 443, timeout=0.2)
    assert time.monotonic() - t0 < 1
