"""Helpers for the `dreamcli run` tests (tests/agent, tests/cli) and the multi-agent ones (tests/orchestration)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dreamcli.agent.callbacks import RunCallbacks

DREAMCLI = str(Path(sys.executable).parent / "dreamcli")


def cli_env(server_url: str | None, home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "DREAMCLI_"))}
    if server_url:
        env["ANTHROPIC_BASE_URL"] = server_url
        env["ANTHROPIC_API_KEY"] = "sk-ant-test-fake"
    env["DREAMCLI_HOME"] = str(home)
    env["NO_COLOR"] = "1"
    env.update(extra)
    return env


def run_cli(args: list[str], *, env: dict[str, str], input: str | None = None, cwd: Path | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DREAMCLI, *args], env=env, input=input, capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, stdin=None if input is not None else subprocess.DEVNULL)


def session_files(home: Path) -> list[Path]:
    return sorted((home / "sessions").rglob("*.jsonl"))


_validator: Any = None


def validate_log(path: Path) -> list[dict[str, Any]]:
    """Every line of a session log parses and validates against the v1 JSON Schema; seq is 0..n-1."""
    global _validator
    if _validator is None:
        from jsonschema import Draft202012Validator

        from dreamcli.sessions.schema import schema_path

        _validator = Draft202012Validator(json.loads(Path(schema_path()).read_text()))
    events = [json.loads(line) for line in Path(path).read_text().splitlines()]
    for event in events:
        _validator.validate(event)
    assert [e["seq"] for e in events] == list(range(len(events)))
    assert len({e["session_id"] for e in events}) == 1
    return events


def of_type(events: list[dict[str, Any]], type_: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == type_]


class Recorder(RunCallbacks):
    """Records callback calls in order: ("text", s), ("tool", name, key, is_error, kind), ..."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def on_start(self, info: Any) -> None:
        self.calls.append(("start", info.session_id))

    def on_text(self, text: str) -> None:
        self.calls.append(("text", text))

    def on_tool_start(self, name: str, key_argument: str) -> None:
        self.calls.append(("tool_start", name, key_argument))

    def on_tool_end(self, name: str, key_argument: str, result: Any, duration_ms: float) -> None:
        self.calls.append(("tool", name, key_argument, result.is_error, result.error_kind))

    def on_retry(self, attempt: int, reason: str, delay_s: float) -> None:
        self.calls.append(("retry", attempt, reason))

    def on_notice(self, message: str) -> None:
        self.calls.append(("notice", message))

    def on_end(self, result: Any) -> None:
        self.calls.append(("end", result.status))

    def texts(self) -> list[str]:
        return [c[1] for c in self.calls if c[0] == "text"]

    def tools(self) -> list[tuple[Any, ...]]:
        return [c[1:] for c in self.calls if c[0] == "tool"]


def invoke_run(args: list[str], home: Path, *, input: str | None = None) -> Any:
    """`dreamcli --home HOME run ARGS` in-process (CliRunner: no TTY, separate stdout/stderr)."""
    from typer.testing import CliRunner

    from dreamcli.cli.app import app

    return CliRunner().invoke(app, ["--home", str(home), "run", *args], input=input, env={"NO_COLOR": "1"})


def until(check: Any, what: str, timeout: float = 30.0, poll: float = 0.01) -> Any:
    """`check()`'s first truthy result, polled until `timeout` seconds; AssertionError naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(poll)
    raise AssertionError(f"timed out waiting for {what}")


def stop_when(proc: subprocess.Popen[str], ready: Callable[[], bool], signum: int,
              timeout: float = 120.0) -> tuple[str, str]:
    """Send `signum` to a started CLI process once `ready()` (e.g. the fake server got its stalled call);
    (stdout, stderr) of the command. Fails the test, the process killed, when it ends or `timeout` passes
    first; never leaves it running."""
    try:
        deadline = time.monotonic() + timeout  # a loaded machine
        while not ready():
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                _, err = proc.communicate()
                pytest.fail(f"never got to the stalled call (exit {proc.returncode}): {err[-800:]}")
            time.sleep(0.02)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=30)
        return out, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
