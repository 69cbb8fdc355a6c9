"""`doctor` and sessions in object storage: a sessions.url carrying a password FAILs without printing it
(and `sessions import` refuses it up front, as run and dream do); the `uploads` line; sample sessions stay
local; and doctor's lines wrap at the width COLUMNS sets, on a pipe as on a terminal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli import doctor, modelreach
from dreamcli.cli.app import app
from dreamcli.workspace.home import Workspace
from tests.support.paths import CLAUDE_CODE_SAMPLES

SECRET = "secretpw-DOCTORFAKE"
URLS = [f"s3://AKIAXXXX:{SECRET}@fleet/x", f"s3://AKIAXXXX:{SECRET}/with/slash@fleet/x",
        f"s3://fleet/x?secret={SECRET}", f"AKIAXXXX:{SECRET}@fleet/x", f"s3://{SECRET}@fleet/x"]


@pytest.fixture(autouse=True)
def _no_tools(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor, "check_tools", lambda names=(): [])
    monkeypatch.setattr(modelreach, "reach", lambda timeout: modelreach.Reach(0.012))  # no network: endpoint "reached"
    monkeypatch.delenv("COLUMNS", raising=False)


def _ws(tmp_path: Path, url: str) -> Workspace:
    ws = Workspace(tmp_path / "ws", "option").ensure_layout()
    ws.config_path.write_text(f"sessions:\n  url: {json.dumps(url)}\n")
    return ws


def _invoke(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(app, list(args), env=env)


@pytest.mark.parametrize("url", URLS)
def test_a_url_with_a_password_fails_and_is_never_printed(tmp_path: Path, url: str) -> None:
    ws = _ws(tmp_path, url)
    for args in (["doctor"], ["doctor", "--json"], ["--debug", "doctor"]):
        r = _invoke("--home", str(ws.root), *args)
        assert r.exit_code == 1, r.output
        assert SECRET not in r.output, r.output
    [check] = [c for c in json.loads(_invoke("--home", str(ws.root), "doctor", "--json").stdout)["checks"]
               if c["name"] == "sessions.url"]
    assert check["status"] == "fail" and "***" in check["detail"], check
    assert "no user, password or query" in check["fix"]


def test_the_redacted_url_keeps_the_place() -> None:
    from dreamcli.doctor import redacted_url

    assert redacted_url(URLS[0]) == "s3://***@fleet/x"
    assert redacted_url(URLS[1]) == "s3://***@fleet/x"
    assert redacted_url(URLS[2]) == "s3://fleet/x?***"
    assert redacted_url(URLS[3]) == "***@fleet/x"
    assert redacted_url("s3://fleet/x") == "s3://fleet/x"


@pytest.mark.parametrize("url", [URLS[0], URLS[2]])
def test_sessions_import_refuses_such_a_url_up_front(tmp_path: Path, url: str) -> None:
    ws = _ws(tmp_path, url)
    r = _invoke("--home", str(ws.root), "sessions", "import", "claude-code", str(CLAUDE_CODE_SAMPLES))
    assert r.exit_code == 2, r.output
    assert r.stderr.startswith("error: the sessions URL ") and SECRET not in r.output
    assert not any(ws.sessions_dir.rglob("*.jsonl"))  # nothing imported, nothing to upload later


def test_a_good_url_with_nothing_waiting_is_ok_without_a_request(tmp_path: Path) -> None:
    ws = _ws(tmp_path, "s3://fleet/x")
    r = _invoke("--home", str(ws.root), "doctor", "--json", env={"AWS_ENDPOINT_URL": "http://127.0.0.1:1"})
    checks = {c["name"]: c for c in json.loads(r.stdout)["checks"]}
    assert checks["sessions.url"]["status"] == "ok"
    assert checks["uploads"] == {"name": "uploads", "status": "ok", "detail": "no session waiting to upload",
                                 "fix": ""}


def test_sample_sessions_stay_in_this_workspace(tmp_path: Path) -> None:
    """Made-up demo stories are not sent to a fleet's bucket (docs/scaling.md): none waits to upload."""
    r = _invoke("init", str(tmp_path / "p"), "--with-samples", "--sessions-url", "s3://fleet/x")
    assert r.exit_code == 0, r.output
    home = tmp_path / "p" / ".dreamcli"
    assert any((home / "sessions").rglob("*.jsonl")) and not (home / "sessions" / ".uploads").exists()
    checks = {c["name"]: c for c in json.loads(_invoke("--home", str(home), "doctor", "--json").stdout)["checks"]}
    assert checks["uploads"]["detail"] == "no session waiting to upload"


LONG = "4 sessions not all uploaded to s3://fleet/some/long/prefix (an upload failed, or its run was killed): " \
       "the lines wait in sessions/"


def test_doctor_wraps_at_the_width_columns_sets_on_a_pipe(monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    from dreamcli.doctor import Check
    from dreamcli.ui import console
    from dreamcli.ui.doctor_view import render_checks

    checks = [Check("workspace", "ok", "/tmp/w"), Check("uploads", "warn", LONG, "dreamcli doctor --fix sends them")]
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setattr(console, "_cache", {})
    render_checks(checks)
    lines = capsys.readouterr().out.splitlines()
    assert all(len(line) <= 80 for line in lines), lines
    assert lines[1].startswith("WARN  uploads    4 sessions") and lines[2].startswith(" " * 17)
    words = " ".join(" ".join(lines).split())
    assert " ".join(LONG.split()) in words and "fix: dreamcli doctor --fix sends them" in words

    monkeypatch.delenv("COLUMNS")
    monkeypatch.setattr(console, "_cache", {})
    render_checks(checks)
    assert len(capsys.readouterr().out.splitlines()) == 2  # no width given: one line per check, for grep
