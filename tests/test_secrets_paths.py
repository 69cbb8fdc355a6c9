"""Secrets never reach disk or a model: the endpoint URL, the prompt, rejection reasons, the audit log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dreamcli.audit import append_audit
from dreamcli.modelclient import base_url_host, is_anthropic_endpoint
from dreamcli.workspace.home import Workspace

GH_TOKEN = "ghp_" + "Zq8Wv3Lk9Tn2Rx7Pm4Bc6Hd1Jf5Gs0Ya3Ue8"


@pytest.mark.parametrize("url,host,anthropic", [
    ("http://bob:Sup3rS3cretPw@127.0.0.1:9/", "127.0.0.1:9", False),
    ("https://api.anthropic.com", "api.anthropic.com", True),
    ("https://api.anthropic.com:443/", "api.anthropic.com:443", True),
    ("http://localhost:11434", "localhost:11434", False),
    ("https://evil-anthropic.com.example.org", "evil-anthropic.com.example.org", False),
])
def test_base_url_host_never_carries_credentials(monkeypatch: pytest.MonkeyPatch, url: str, host: str,
                                                 anthropic: bool) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", url)
    assert base_url_host() == host
    assert "Sup3rS3cretPw" not in base_url_host()
    assert is_anthropic_endpoint() is anthropic


def test_audit_applies_workspace_patterns(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "h", "option").ensure()
    ws.config_path.write_text("redaction:\n  patterns: ['ACME-[0-9]{6}']\n")
    append_audit(ws, "reject", actor="ana", reason=f"leaked ACME-123456 and {GH_TOKEN}")
    raw = ws.audit_path.read_text()
    assert "ACME-123456" not in raw and GH_TOKEN not in raw
    rec = json.loads(raw)
    assert rec["action"] == "reject" and rec["actor"] == "ana" and "[REDACTED" in rec["reason"]


def test_prompt_secret_never_reaches_the_model(tmp_path: Path, fake_anthropic) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from dreamcli.cli.app import app
    from dreamcli.testing import text_reply

    fake_anthropic.expect(text_reply("ok"))
    home = tmp_path / "h"
    r = CliRunner().invoke(app, ["--home", str(home), "run", "-p", f"deploy with {GH_TOKEN}", "-C", str(tmp_path),
                                 "--no-playbooks", "--json"])
    assert r.exit_code == 0, r.output
    [req] = fake_anthropic.requests
    assert GH_TOKEN not in json.dumps(req.body)
    assert "[REDACTED" in json.dumps(req.body)
    logs = list((home / "sessions").rglob("*.jsonl"))
    assert logs and GH_TOKEN not in logs[0].read_text()


def test_rejection_reason_is_redacted_everywhere(tmp_path: Path) -> None:
    from tests.support.playbooks import cli, decisions, op, workspace, write_dream

    ws = workspace(tmp_path)
    ws.config_path.write_text("redaction:\n  patterns: ['ACME-[0-9]{6}']\n")
    write_dream(ws, "01DREAMREASON0000000000000", "default", [op("pb-reason001")])
    r = cli(ws, "playbooks", "reject", "01DREAMREASON0000000000000", "--all", "--yes",
            "--reason", f"leaked ACME-123456 and {GH_TOKEN}")
    assert r.exit_code == 0, r.output
    on_disk = (ws.dreams_dir / "01DREAMREASON0000000000000" / "decisions.jsonl").read_text() + ws.audit_path.read_text()
    assert "ACME-123456" not in on_disk and GH_TOKEN not in on_disk
    assert decisions(ws, "01DREAMREASON0000000000000")[-1]["reason"].startswith("leaked [REDACTED")
