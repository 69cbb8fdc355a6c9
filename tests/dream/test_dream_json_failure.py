"""`dream --json` that started and then failed on the model (exit 3) still prints its document, as
`run --json` does, so a script reads `status`, `error` and `exit_code` from stdout; a refusal before any
work (no such session) prints nothing on stdout."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.sessions.samples import install_samples
from dreamcli.testing import FakeAnthropic, error_reply
from dreamcli.workspace.home import Workspace
from tests.support.run import DREAMCLI, cli_env, stop_when


def test_a_model_error_prints_the_error_document(tmp_path: Path, fake_anthropic: FakeAnthropic) -> None:
    ws = Workspace(root=tmp_path / "ws", source="option").ensure_layout()
    install_samples(ws)
    (ws.root / "config.yaml").write_text("limits:\n  model_retries: 0\n")
    fake_anthropic.expect(error_reply(500, message="boom"))
    r = CliRunner().invoke(app, ["--home", str(ws.root), "dream", "--json"])
    assert r.exit_code == 3, r.output
    data = json.loads(r.stdout)
    assert data["status"] == "error" and data["exit_code"] == 3 and data["dream_id"] is None
    assert "dreamer" in data["error"] and data["error"] in r.stderr
    assert data["playbook"] == "default" and data["operations"] == []


def test_a_refusal_prints_nothing_on_stdout(tmp_path: Path) -> None:
    ws = Workspace(root=tmp_path / "ws", source="option").ensure_layout()
    r = CliRunner().invoke(app, ["--home", str(ws.root), "dream", "--offline", "--session", "01ZZZZZZZZ", "--json"])
    assert r.exit_code == 2 and r.stdout == ""


@pytest.mark.slow
def test_a_dream_stopped_by_sigterm_prints_its_document(tmp_path: Path, fake_anthropic: FakeAnthropic) -> None:
    ws = Workspace(root=tmp_path / "ws", source="option").ensure_layout()
    install_samples(ws)
    reply = error_reply(500, message="never sent")
    reply.latency = 60  # the dream waits on the model when the signal comes
    fake_anthropic.expect(reply)
    proc = subprocess.Popen([DREAMCLI, "dream", "--json"], env=cli_env(fake_anthropic.url, ws.root),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    out, err = stop_when(proc, lambda: bool(fake_anthropic.requests), signal.SIGTERM)
    assert proc.returncode == 143, err
    data = json.loads(out)
    assert data["status"] == "error" and data["exit_code"] == 143
    assert data["error"].startswith("interrupted by SIGTERM") and "error: interrupted by SIGTERM" in err
