"""Issue 21: a connection that drops mid-response is reported as such ("connection to HOST closed
mid-response after N retries", exit 3), not as "cannot reach HOST"."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from dreamcli.agent import modelcall
from dreamcli.agent.callbacks import RunCallbacks
from dreamcli.errors import EXIT_INFRA, ModelError
from dreamcli.modelclient import api_error


class _BrokenStream:
    def __enter__(self) -> _BrokenStream:
        return self

    def __exit__(self, *a: Any) -> None:
        return None

    def __iter__(self):
        yield SimpleNamespace(type="text", text="Half an ")
        raise ConnectionResetError("peer closed connection without sending complete message body")


class _Client:
    def __init__(self) -> None:
        self.calls = 0
        self.messages = self

    def stream(self, **_request: Any) -> _BrokenStream:
        self.calls += 1
        return _BrokenStream()


def test_mid_stream_drop_names_the_closed_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:8765")
    monkeypatch.setattr(modelcall, "RETRY_BASE_S", 0.001)
    client = _Client()
    with pytest.raises(ModelError) as e:
        modelcall.stream_turn(client, {"model": "m"}, RunCallbacks(), retries=2)
    assert client.calls == 3
    msg = str(api_error(e.value, what="model call"))
    assert "connection to 127.0.0.1:8765 closed mid-response after 2 retries" in msg
    assert "cannot reach" not in msg and e.value.exit_code == EXIT_INFRA


def test_run_reports_the_drop(monkeypatch: pytest.MonkeyPatch, bare_ws, tmp_path: Path) -> None:
    from dreamcli.agent import RunOptions, prompt_spec, run_agent
    from dreamcli.config import Config

    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:8765")
    monkeypatch.setattr(modelcall, "RETRY_BASE_S", 0.001)
    wd = tmp_path / "wd"
    wd.mkdir()
    result = run_agent(bare_ws, Config(), prompt_spec("go"), RunOptions(workdir=wd), client=_Client())
    assert result.exit_code == EXIT_INFRA
    assert "closed mid-response after" in (result.error or "") and "cannot reach" not in (result.error or "")
