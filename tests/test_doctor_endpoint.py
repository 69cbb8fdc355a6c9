"""`dreamcli doctor`'s endpoint line makes one cheap call (`models.list`, one model, no retries, 3 s at most)
through the model client every run uses, so it takes the client's own route (the proxy, NO_PROXY as the
client reads it) and its credentials: OK with the time, or with an answer that is not a page (`reachable
(HTTP 404)`); a WARN (never a FAIL: offline dreams and imports work without it) with the reason and a fix
when no answer comes; an answer refusing the key FAILs the credentials line. The key goes only to the
configured endpoint and is never shown; without credentials nothing is called and the SDK is not loaded."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli import doctor, modelreach
from dreamcli.cli.app import app
from dreamcli.testing import FakeAnthropic
from tests.support.blackhole import Blackhole

KEY = "sk-ant-DOCTORFAKE-endpoint42"
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
PAGE = {"data": [], "has_more": False, "first_id": None, "last_id": None}


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy or endpoint from the environment, a key set, no tool checks; the SDK loaded already (its import
    takes seconds on a cold cache: the times below are the call's)."""
    import anthropic  # noqa: F401

    for var in (*PROXY_VARS, *(v.lower() for v in PROXY_VARS), "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL",
                "DREAMCLI_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setattr(doctor, "check_tools", lambda names=(): [])


class Answering:
    """An HTTP server on 127.0.0.1 that answers every GET with `status` and `body`; `got` holds the request line
    of each request (an endpoint's, or a proxy's: then it names the whole URL)."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        got: list[str] = []
        self.got = got

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                got.append(self.requestline)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def answering() -> Iterator[Any]:
    made: list[Answering] = []

    def make(status: int, body: dict[str, Any] | None = None) -> Answering:
        made.append(Answering(status, PAGE if body is None else body))
        return made[-1]

    yield make
    for server in made:
        server.close()


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def blackhole() -> Iterator[Blackhole]:
    hole = Blackhole()
    yield hole
    hole.close()


def _doctor(tmp_path: Path) -> tuple[dict[str, dict[str, str]], int, str]:
    """doctor --json: its checks by name, the exit code and everything it printed."""
    r = CliRunner().invoke(app, ["--home", str(tmp_path / "ws"), "doctor", "--json"], catch_exceptions=False)
    return {c["name"]: c for c in json.loads(r.stdout)["checks"]}, r.exit_code, r.output


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}}


def test_an_endpoint_that_answers_is_ok_with_the_time_and_only_it_gets_the_key(
        fake_anthropic: FakeAnthropic, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    checks, code, out = _doctor(tmp_path)
    host = fake_anthropic.url.removeprefix("http://")
    assert code == 0, out
    endpoint = checks["endpoint"]
    assert endpoint["status"] == "ok", endpoint
    assert endpoint["detail"].startswith(f"{host} (ANTHROPIC_BASE_URL), answered in ")
    assert endpoint["detail"].endswith(" ms")
    assert checks["credentials"]["status"] == "ok"
    [call] = fake_anthropic.all_requests
    assert (call.method, call.path, call.query, call.api_key) == ("GET", "/v1/models", "limit=1", KEY)
    assert KEY not in out


def test_a_closed_port_is_a_warning_with_the_reason_and_a_fix(closed_port: int, monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Path) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", f"http://127.0.0.1:{closed_port}")
    t0 = time.monotonic()
    checks, code, out = _doctor(tmp_path)
    assert time.monotonic() - t0 < 2
    assert code == 0, out  # a warning, not a failure
    endpoint = checks["endpoint"]
    assert set(endpoint) == {"name", "status", "detail", "fix"}
    assert (endpoint["status"], endpoint["fix"]) == ("warn", "start the server, or fix ANTHROPIC_BASE_URL")
    assert endpoint["detail"] == (f"127.0.0.1:{closed_port} (ANTHROPIC_BASE_URL): cannot reach it (connection "
                                  "refused); offline dreams and imports still work")
    assert KEY not in out


@pytest.mark.parametrize("status", [401, 403])
@pytest.mark.parametrize("variable", ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"])
def test_an_endpoint_that_refuses_the_key_fails_the_credentials_line(
        answering: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, status: int, variable: str) -> None:
    server = answering(status, _error("authentication_error", "invalid x-api-key"))
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    monkeypatch.setenv(variable, KEY)
    checks, code, out = _doctor(tmp_path)
    assert code == 1, out
    credentials, endpoint = checks["credentials"], checks["endpoint"]
    assert credentials["status"] == "fail", credentials
    assert credentials["detail"].endswith(f" set; the endpoint refused it (HTTP {status})"), credentials
    assert credentials["fix"] == f"check {variable}"
    assert endpoint["status"] == "ok" and f"reachable (HTTP {status}: see credentials) in " in endpoint["detail"]
    assert len(server.got) == 1 and KEY not in out


def test_an_answer_that_is_not_a_page_is_reachable(answering: Any, monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    """A local server without GET /v1/models answers 404: it is there, and the credentials line stays OK."""
    server = answering(404, _error("not_found_error", "no such route"))
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
    checks, code, out = _doctor(tmp_path)
    assert code == 0, out
    assert checks["endpoint"]["status"] == "ok"
    assert " (ANTHROPIC_BASE_URL), reachable (HTTP 404) in " in checks["endpoint"]["detail"]
    assert checks["credentials"]["status"] == "ok"


def test_no_proxy_as_the_client_reads_it_decides_the_route(
        blackhole: Blackhole, closed_port: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The review's case: a live proxy, a dead endpoint and NO_PROXY naming 127.0.0.0/8. The client goes
    straight to the endpoint and is refused, so the doctor must warn (it said OK: it had tried the proxy)."""
    monkeypatch.setenv("ANTHROPIC_BASE_URL", f"http://127.0.0.1:{closed_port}")
    monkeypatch.setenv("HTTP_PROXY", blackhole.url)
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.0/8")
    checks, code, out = _doctor(tmp_path)
    endpoint = checks["endpoint"]
    assert (endpoint["status"], code) == ("warn", 0), out
    assert "cannot reach it (connection refused)" in endpoint["detail"]
    assert endpoint["fix"] == "start the server, or fix ANTHROPIC_BASE_URL; a proxy is set: check *_PROXY and NO_PROXY"
    assert blackhole.requests == []


def test_the_proxy_the_client_takes_is_the_route_checked_and_its_password_never_shown(
        answering: Any, closed_port: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    proxy = answering(200)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", f"http://127.0.0.1:{closed_port}")
    monkeypatch.setenv("HTTP_PROXY", proxy.url.replace("http://", "http://me:pw-DOCTORFAKE@"))
    checks, code, out = _doctor(tmp_path)
    assert code == 0, out
    assert checks["endpoint"]["status"] == "ok" and "answered in" in checks["endpoint"]["detail"]
    assert proxy.got == [f"GET http://127.0.0.1:{closed_port}/v1/models?limit=1 HTTP/1.1"]
    assert "DOCTORFAKE" not in out


def test_an_endpoint_that_never_answers_is_given_up_at_the_timeout(
        blackhole: Blackhole, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(doctor, "ENDPOINT_TIMEOUT_S", 0.3)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", blackhole.url)
    t0 = time.monotonic()
    checks, code, out = _doctor(tmp_path)
    assert time.monotonic() - t0 < 1.5
    assert (checks["endpoint"]["status"], code) == ("warn", 0), out
    assert "cannot reach it (no answer within 0.3 s)" in checks["endpoint"]["detail"]
    assert blackhole.requests == ["GET /v1/models"]  # sent once: no retries


def test_a_name_that_never_resolves_is_given_up_at_the_timeout(monkeypatch: pytest.MonkeyPatch,
                                                               tmp_path: Path) -> None:
    """A hung resolver: the doctor waits its timeout, not the system's."""
    monkeypatch.setattr(doctor, "ENDPOINT_TIMEOUT_S", 0.3)
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: time.sleep(5))
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://api.example.invalid")
    t0 = time.monotonic()
    checks, _, _ = _doctor(tmp_path)
    assert time.monotonic() - t0 < 1.5
    assert checks["endpoint"]["status"] == "warn" and "no answer within 0.3 s" in checks["endpoint"]["detail"]


def test_a_call_that_breaks_fails_the_endpoint_line_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Neither an answer nor a failed connection (an SDK without the call, a bug): the endpoint line FAILs with
    the error (its traceback under --debug), the credentials line is still read from the environment."""
    broke = modelreach.Reach(0.0, error=AttributeError("'Anthropic' object has no attribute 'models'"))
    monkeypatch.setattr(modelreach, "reach", lambda timeout: broke)
    checks, code, out = _doctor(tmp_path)
    assert code == 1, out
    assert checks["endpoint"]["status"] == "fail"
    assert checks["endpoint"]["detail"] == "AttributeError: 'Anthropic' object has no attribute 'models'"
    assert checks["credentials"]["status"] == "ok"


def test_no_credentials_means_no_call_and_no_sdk(tmp_path: Path) -> None:
    """Without a key or a base URL no command calls the model (exit 4 first): nothing to try, and doctor
    stays quick: the SDK is never imported."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    code = ("import sys, json\nfrom dreamcli import doctor, modelreach\ncalled = modelreach.reach(3.0)\n"
            "lines = doctor.check_endpoint(called) + doctor.check_credentials(called)\n"
            "print(json.dumps([[c.status, c.detail] for c in lines] + ['anthropic' in sys.modules]))")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60,
                       cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    endpoint, credentials, sdk = json.loads(r.stdout)
    assert endpoint == ["ok", "api.anthropic.com (default); not tried: no credentials to call it with"]
    assert credentials[0] == "warn" and sdk is False
