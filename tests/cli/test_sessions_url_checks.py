"""`init --sessions-url` refuses a scheme dreamcli does not support (docs/scaling.md) and warns when the
driver is missing; `doctor` FAILs a sessions.url that cannot work, with the pip command to fix it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli import doctor
from dreamcli.cli.app import app
from dreamcli.store import schemes


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def without_s3fs(monkeypatch: pytest.MonkeyPatch) -> None:
    real = schemes.find_spec
    monkeypatch.setattr(schemes, "find_spec", lambda name: None if name == "s3fs" else real(name))


@pytest.fixture(autouse=True)
def no_tools(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor, "check_tools", lambda names=(): [])


def _url_check(project: Path) -> tuple[int, dict[str, str]]:
    r = invoke("--home", str(project / ".dreamcli"), "doctor", "--json")
    checks = [c for c in json.loads(r.stdout)["checks"] if c["name"] == "sessions.url"]
    assert len(checks) == 1, r.stdout
    return r.exit_code, checks[0]


@pytest.mark.parametrize("url", ["ftp://x", "http://example.com/sessions", "bogus://bucket/p"])
def test_init_refuses_an_unsupported_scheme(tmp_path: Path, url: str) -> None:
    r = invoke("init", str(tmp_path / "p"), "--sessions-url", url)
    assert r.exit_code == 2, r.output
    assert r.stderr.startswith("error: the sessions URL ") and "is not supported; give s3://" in r.stderr
    assert not (tmp_path / "p" / ".dreamcli").exists()


def test_init_warns_and_doctor_fails_when_the_driver_is_missing(tmp_path: Path, without_s3fs: None) -> None:
    r = invoke("init", str(tmp_path / "p"), "--sessions-url", "s3://bucket/prefix")
    assert r.exit_code == 0, r.output
    assert "needs s3fs, which is not installed: pip install 'dreamcli[s3]'" in r.stderr
    code, check = _url_check(tmp_path / "p")
    assert code == 1
    assert check["status"] == "fail" and check["fix"] == "pip install 'dreamcli[s3]'"


def test_doctor_fails_a_hand_written_unsupported_url(tmp_path: Path) -> None:
    assert invoke("init", str(tmp_path / "p")).exit_code == 0
    (tmp_path / "p" / ".dreamcli" / "config.yaml").write_text("sessions:\n  url: ftp://files.example/sessions\n")
    code, check = _url_check(tmp_path / "p")
    assert code == 1 and check["status"] == "fail" and "ftp:// is not supported" in check["detail"]


def test_a_supported_url_with_its_driver_is_ok(tmp_path: Path) -> None:
    r = invoke("init", str(tmp_path / "p"), "--sessions-url", f"file://{tmp_path / 'shared'}")
    assert r.exit_code == 0 and "warning" not in r.stderr, r.output
    _, check = _url_check(tmp_path / "p")
    assert check["status"] == "ok"
