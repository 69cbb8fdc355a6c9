"""`run --json` (one run, and `--parallel` batches) prints no secret: every string of the document is
redacted as stderr and the session log are, the API key's own value included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dreamcli.testing import FakeAnthropic, error_reply, text_reply
from tests.support.run import invoke_run

KEY = "litellm-RECOGNISABLE-KEY-77aa99"  # matches no built-in rule: redacted as the run's credential
GH_TOKEN = "ghp_" + "Zq8Wv3Lk9Tn2Rx7Pm4Bc6Hd1Jf5Gs0Ya3Ue8"


@pytest.fixture
def keyed(fake_anthropic: FakeAnthropic, monkeypatch: pytest.MonkeyPatch) -> FakeAnthropic:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    return fake_anthropic


def test_error_field_never_echoes_the_key_or_a_secret(keyed: FakeAnthropic, home: Path, tmp_path: Path) -> None:
    keyed.expect(error_reply(400, message=f"key {KEY} may not use this model ({GH_TOKEN})"))
    proc = invoke_run(["-p", "hi", "-C", str(tmp_path), "--no-playbooks", "--json"], home)
    assert proc.exit_code == 3, proc.stderr
    assert KEY not in proc.stdout and GH_TOKEN not in proc.stdout
    error = json.loads(proc.stdout)["error"]
    assert "[REDACTED:custom]" in error and "[REDACTED:github]" in error and "may not use this model" in error
    assert KEY not in proc.stderr


def test_batch_json_redacts_every_run(keyed: FakeAnthropic, home: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    for name in ("alpha", "bravo"):
        (tmp_path / f"{name}.yaml").write_text(f"name: {name}\nprompt: Task {name}.\nworkdir: work\nmax_turns: 2\n")
    keyed.responder = lambda req: (text_reply(f"done with {GH_TOKEN}") if "alpha" in json.dumps(req.messages)
                                   else error_reply(400, message=f"key {KEY} is not allowed"))
    proc = invoke_run([str(tmp_path / "alpha.yaml"), str(tmp_path / "bravo.yaml"), "--parallel", "2", "--yes",
                       "--no-playbooks", "--json"], home)
    assert proc.exit_code == 3, proc.stderr
    assert KEY not in proc.stdout and GH_TOKEN not in proc.stdout
    alpha, bravo = json.loads(proc.stdout)["runs"]
    assert alpha["status"] == "completed" and alpha["final_text"] == "done with [REDACTED:github]"
    assert bravo["status"] == "error" and "[REDACTED:custom]" in bravo["error"]
