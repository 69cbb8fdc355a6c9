"""A model endpoint that does not answer at all (connection refused, no such host) is exit 4, as for object
stores and Ray clusters (docs/architecture.md, "Exit codes"), for run, grade, dream and pilot; a response
that broke off mid-way stays exit 3 (tests/reliability/test_connection_drop.py)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.sessions.samples import install_samples
from dreamcli.workspace.home import Workspace
from tests.pilot.helpers import DREAM, seed_workspace, write_task
from tests.support.outcomes import GRADER_SPEC, make_session, write_spec
from tests.support.run import cli_env, run_cli, session_files

NO_RETRIES = "limits:\n  model_retries: 0\n"


@pytest.fixture
def closed_port(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """A port on 127.0.0.1 that refuses connections; ANTHROPIC_BASE_URL points at it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    monkeypatch.setenv("ANTHROPIC_BASE_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-fake")
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    yield port


def _invoke(ws: Workspace, *args: str) -> Any:
    return CliRunner().invoke(app, ["--home", str(ws.root), *args], env={"NO_COLOR": "1", "COLUMNS": "100"})


def test_run_exits_4_naming_the_host(closed_port: int, home: Path, tmp_path: Path) -> None:
    home.mkdir()
    (home / "config.yaml").write_text(NO_RETRIES)
    proc = run_cli(["run", "-p", "hi", "-C", str(tmp_path)], env=cli_env(f"http://127.0.0.1:{closed_port}", home))
    assert proc.returncode == 4, proc.stderr
    error = proc.stderr.strip().splitlines()[-1]
    assert error.startswith(f"error: run error: model call (turn 1): cannot reach 127.0.0.1:{closed_port} "
                            "(connection refused)"), error
    assert len(session_files(home)) == 1  # the run started: its log says why it ended


def test_run_parallel_exits_4(closed_port: int, home: Path, tmp_path: Path) -> None:
    home.mkdir()
    (home / "config.yaml").write_text(NO_RETRIES)
    tasks = []
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        tasks.append(tmp_path / f"{name}.yaml")
        tasks[-1].write_text(f"name: {name}\nprompt: hi\nworkdir: {name}\ntools: [read]\n")
    proc = run_cli(["run", *map(str, tasks), "--parallel", "2"], env=cli_env(f"http://127.0.0.1:{closed_port}", home))
    assert proc.returncode == 4, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == ("error: 2 of 2 runs failed (2 could not reach the model "
                                                    "endpoint or had no credentials it accepts)")


def test_grade_exits_4(closed_port: int, ws: Workspace, tmp_path: Path) -> None:
    (ws.root / "config.yaml").write_text(NO_RETRIES)
    spec = write_spec(tmp_path / "spec.yaml", GRADER_SPEC)
    sid = make_session(ws, workdir=tmp_path / "a", files={"summary.md": "12.1"}, outcome=spec)
    r = _invoke(ws, "grade", sid, "--json")
    assert r.exit_code == 4, r.output
    assert f"grader: cannot reach 127.0.0.1:{closed_port} (connection refused)" in r.stderr
    assert json.loads(r.stdout)["totals"]["exit_code"] == 4


def test_dream_exits_4(closed_port: int, tmp_path: Path) -> None:
    ws = Workspace(root=tmp_path / "ws", source="option").ensure_layout()
    install_samples(ws)
    (ws.root / "config.yaml").write_text(NO_RETRIES)
    r = _invoke(ws, "dream")
    assert r.exit_code == 4, r.output
    assert f"dreamer: cannot reach 127.0.0.1:{closed_port} (connection refused)" in r.stderr
    assert not list((ws.root / "dreams").iterdir())


def test_pilot_exits_4(closed_port: int, ws: Workspace, tmp_path: Path) -> None:
    seed_workspace(ws)
    (ws.root / "config.yaml").write_text(NO_RETRIES)
    r = _invoke(ws, "pilot", str(write_task(tmp_path)), "--proposal", DREAM, "--trials", "1", "--yes")
    assert r.exit_code == 4, r.output
    assert f"cannot reach 127.0.0.1:{closed_port} (connection refused)" in r.stderr


def test_a_host_that_does_not_resolve_is_exit_4(monkeypatch: pytest.MonkeyPatch, home: Path, tmp_path: Path) -> None:
    home.mkdir()
    (home / "config.yaml").write_text(NO_RETRIES)
    proc = run_cli(["run", "-p", "hi", "-C", str(tmp_path)], env=cli_env("http://no-such-host.invalid:9", home))
    assert proc.returncode == 4, proc.stderr
    assert "cannot reach no-such-host.invalid:9" in proc.stderr


def test_an_endpoint_that_accepts_and_never_answers_stays_exit_3(home: Path, tmp_path: Path) -> None:
    """A connection was made: the endpoint is there and stalled (docs/reliability.md), not unreachable."""
    from tests.support.blackhole import Blackhole

    hole = Blackhole()
    try:
        home.mkdir()
        (home / "config.yaml").write_text("limits:\n  model_retries: 0\n  request_timeout_s: 0.5\n")
        proc = run_cli(["run", "-p", "hi", "-C", str(tmp_path)], env=cli_env(hole.url, home))
    finally:
        hole.close()
    assert proc.returncode == 3, proc.stderr
    assert f"no answer from {hole.host} within the timeout (config limits.request_timeout_s)" in proc.stderr
    assert "cannot reach" not in proc.stderr and hole.requests == ["POST /v1/messages"]


@pytest.mark.parametrize("command", [["cloud", "sessions", "pull"], ["cloud", "memory", "pull", "memstore_01abc"]])
def test_cloud_commands_exit_4_when_the_api_cannot_be_reached(closed_port: int, home: Path,
                                                              command: list[str]) -> None:
    home.mkdir()
    (home / "config.yaml").write_text(NO_RETRIES)
    proc = run_cli(command, env=cli_env(f"http://127.0.0.1:{closed_port}", home))
    assert proc.returncode == 4, proc.stderr
    assert f"cannot reach 127.0.0.1:{closed_port} (connection refused)" in proc.stderr.strip().splitlines()[-1]
