"""`run` ended by an SSE `error` event in a response that had started: the error line names the error in the
stream, never the response's "HTTP 200", and says "after retries" only for a type that was retried."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dreamcli.agent import modelcall
from dreamcli.testing import FakeAnthropic, stream_error_reply
from tests.support.run import invoke_run


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(modelcall, "RETRY_BASE_S", 0.001)
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "config.yaml").write_text("limits:\n  model_retries: 1\n")
    return tmp_path / "home"


def test_overload_in_the_stream_is_named_as_such(fake_anthropic: FakeAnthropic, home: Path, tmp_path: Path) -> None:
    fake_anthropic.expect(stream_error_reply("Half"), stream_error_reply("Half again"))
    r = invoke_run(["-p", "hi", "-C", str(tmp_path), "--no-playbooks", "--json"], home)
    assert r.exit_code == 3, r.output
    error = json.loads(r.stdout)["error"]
    assert error == "model call (turn 1): overloaded_error in the response stream: Overloaded (after retries)"
    assert "HTTP 200" not in r.stderr and "overloaded_error in the response stream: Overloaded" in r.stderr


def test_an_error_not_retried_does_not_claim_retries(fake_anthropic: FakeAnthropic, home: Path,
                                                      tmp_path: Path) -> None:
    fake_anthropic.expect(stream_error_reply("Half", error_type="invalid_request_error", message="bad block"))
    r = invoke_run(["-p", "hi", "-C", str(tmp_path), "--no-playbooks", "--json"], home)
    assert r.exit_code == 3, r.output
    error = json.loads(r.stdout)["error"]
    assert error == "model call (turn 1): invalid_request_error in the response stream: bad block"
