"""`dreamcli doctor`: one OK/WARN/FAIL line per check with the fix, `--json`, exit codes, permissions,
a missing workspace, a crashing check, the agent tools for real, and never a credential in the output."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli import doctor, modelreach
from dreamcli.cli.app import app
from dreamcli.doctor import Check, check_dependency, check_permissions, spec_violation
from dreamcli.workspace.home import Workspace

runner = CliRunner()
FAKE_KEY = "sk-ant-DOCTORFAKE-q8Zr3xW7mKp2"
FAKE_TOKEN = "tok-DOCTORFAKE-Jh5nV1cB9sLe"
FAKE_PASSWORD = "pw-DOCTORFAKE-7Yt4"


@pytest.fixture(autouse=True)
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A key set, the default endpoint (its connection faked: tests/test_doctor_endpoint.py makes real ones
    on 127.0.0.1), no workspace from the environment; temp dirs under tmp_path."""
    for var in ("ANTHROPIC_BASE_URL", "ANTHROPIC_AUTH_TOKEN", "DREAMCLI_HOME", "NO_COLOR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(modelreach, "reach", lambda timeout: modelreach.Reach(0.012))
    monkeypatch.setenv("ANTHROPIC_API_KEY", FAKE_KEY)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def config_file(ws: Workspace) -> None:
    """A valid config.yaml (0600) in the workspace."""
    ws.config_path.write_text("limits:\n  max_turns: 10\n")
    os.chmod(ws.config_path, 0o600)


@pytest.fixture
def no_tools(monkeypatch: pytest.MonkeyPatch) -> None:
    """Skip the (slower) tool checks in tests about something else."""
    monkeypatch.setattr(doctor, "check_tools", lambda names=(): [])


def invoke(*args: str) -> Any:
    return runner.invoke(app, list(args), catch_exceptions=False)


def lines(r: Any) -> dict[str, str]:
    """name -> its stdout line."""
    out: dict[str, str] = {}
    for line in r.stdout.splitlines():
        status, rest = line.split(None, 1)
        assert status in ("OK", "WARN", "FAIL"), line
        out[next(n for n in _NAMES if rest.startswith(n + " ") or rest == n)] = line
    return out


_NAMES = sorted(["dreamcli", "python", *doctor.KEY_DEPENDENCIES, "workspace", "permissions", "disk", "config",
                 "schedule", "endpoint", "credentials", *(f"tool {t}" for t in doctor.TOOL_NAMES)], key=len,
                reverse=True)


def test_healthy_workspace_is_all_ok_and_every_tool_works(ws: Workspace, config_file: None, tmp_path: Path) -> None:
    r = invoke("--home", str(ws.root), "doctor")
    assert r.exit_code == 0, r.output
    got = lines(r)
    assert all(line.startswith("OK") for line in got.values()), r.stdout
    for tool in doctor.TOOL_NAMES:
        assert got[f"tool {tool}"].startswith("OK"), got
    assert str(ws.root) in got["workspace"] and "from --home" in got["workspace"]
    assert "(WARN below 100 MB or 1% free)" in got["disk"]  # the file system holding it, thresholds stated
    assert "ANTHROPIC_API_KEY set" in got["credentials"] and "api.anthropic.com" in got["endpoint"]
    assert "\x1b[" not in r.output  # not a terminal: no colour
    assert "checks passed" in r.stderr and "checks passed" not in r.stdout
    assert list((tmp_path / "tmp").iterdir()) == []  # the tools' temp dir is gone
    assert not (ws.memory_dir / "default" / "memories" / "doctor.md").exists()  # never the user's memory


def test_json_shape_and_no_credential_in_the_output(
    ws: Workspace, config_file: None, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANTHROPIC_AUTH_TOKEN", FAKE_TOKEN)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", f"http://doc:{FAKE_PASSWORD}@localhost:11434/v1")
    r = invoke("--home", str(ws.root), "doctor", "--json")
    doc = json.loads(r.stdout)
    assert set(doc) == {"ok", "checks"} and doc["ok"] is True and r.exit_code == 0
    for c in doc["checks"]:
        assert set(c) == {"name", "status", "detail", "fix"}, c
        assert c["status"] in ("ok", "warn", "fail") and all(isinstance(v, str) for v in c.values())
    by_name = {c["name"]: c for c in doc["checks"]}
    assert by_name["endpoint"]["detail"].startswith("localhost:11434")
    assert "ANTHROPIC_API_KEY set" in by_name["credentials"]["detail"]
    assert "ANTHROPIC_AUTH_TOKEN set" in by_name["credentials"]["detail"]
    assert {f"tool {t}" for t in doctor.TOOL_NAMES} <= set(by_name)
    for secret in (FAKE_KEY, FAKE_TOKEN, FAKE_PASSWORD, "DOCTORFAKE", "doc:"):
        assert secret not in r.output and secret not in r.stderr, secret
    text = invoke("--home", str(ws.root), "doctor")
    assert "DOCTORFAKE" not in text.output


def test_no_key_is_a_warning_with_the_fix(
    ws: Workspace, config_file: None, monkeypatch: pytest.MonkeyPatch, no_tools: None,
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    r = invoke("--home", str(ws.root), "doctor")
    assert r.exit_code == 0
    line = lines(r)["credentials"]
    assert line.startswith("WARN") and "ANTHROPIC_API_KEY not set" in line and "fix: export ANTHROPIC_API_KEY" in line
    assert "1 warning, no failures" in r.stderr


def test_lax_permissions_are_a_warning_with_the_chmod_fix(ws: Workspace, config_file: None, no_tools: None) -> None:
    os.chmod(ws.sessions_dir, 0o755)
    os.chmod(ws.config_path, 0o644)
    r = invoke("--home", str(ws.root), "doctor", "--json")
    assert r.exit_code == 0
    perm = next(c for c in json.loads(r.stdout)["checks"] if c["name"] == "permissions")
    assert perm["status"] == "warn"
    assert "sessions 0755" in perm["detail"] and "config.yaml 0644" in perm["detail"]
    assert perm["fix"] == f"chmod -R go-rwx {ws.root}"
    text = lines(invoke("--home", str(ws.root), "doctor"))["permissions"]
    assert text.startswith("WARN") and f"fix: chmod -R go-rwx {ws.root}" in text


def test_one_lax_entry_gets_its_own_chmod(ws: Workspace, config_file: None) -> None:
    os.chmod(ws.config_path, 0o644)
    [c] = check_permissions(ws.root)
    assert (c.status, c.fix) == ("warn", f"chmod 600 {ws.config_path}")
    os.chmod(ws.config_path, 0o600)
    os.chmod(ws.grades_dir, 0o750)
    [c] = check_permissions(ws.root)
    assert (c.status, c.fix) == ("warn", f"chmod 700 {ws.grades_dir}")
    os.chmod(ws.grades_dir, 0o700)
    assert check_permissions(ws.root)[0].status == "ok"


def test_a_check_that_raises_is_a_fail_line_and_exit_1(
    ws: Workspace, config_file: None, monkeypatch: pytest.MonkeyPatch, no_tools: None
) -> None:
    def boom(*_: Any) -> list[Check]:
        raise RuntimeError("endpoint exploded\nsecond line")

    monkeypatch.setattr(doctor, "check_endpoint", boom)
    r = invoke("--home", str(ws.root), "doctor")
    assert r.exit_code == 1
    line = lines(r)["endpoint"]
    assert line.startswith("FAIL") and "RuntimeError: endpoint exploded second line" in line
    assert "fix: see the traceback: dreamcli --debug doctor" in line
    assert lines(r)["credentials"].startswith("OK")  # the other checks still ran
    assert "Traceback" not in r.output and "1 failure" in r.stderr
    doc = json.loads(invoke("--home", str(ws.root), "doctor", "--json").stdout)
    assert doc["ok"] is False and [c["status"] for c in doc["checks"] if c["name"] == "endpoint"] == ["fail"]
    debug = invoke("--debug", "--home", str(ws.root), "doctor")
    assert "Traceback" in debug.stderr and "Traceback" not in debug.stdout


def test_a_tool_that_raises_fails_alone(ws: Workspace, config_file: None, monkeypatch: pytest.MonkeyPatch) -> None:
    real = doctor.check_tool

    def flaky(name: str, *args: Any) -> list[Check]:
        if name == "grep":
            raise OSError("grep is broken")
        return real(name, *args)

    monkeypatch.setattr(doctor, "check_tool", flaky)
    r = invoke("--home", str(ws.root), "doctor")
    assert r.exit_code == 1
    got = lines(r)
    assert got["tool grep"].startswith("FAIL") and "OSError: grep is broken" in got["tool grep"]
    assert all(got[f"tool {t}"].startswith("OK") for t in doctor.TOOL_NAMES if t != "grep")


@pytest.mark.parametrize("how", ["option", "default"])
def test_a_missing_workspace_is_a_warning_not_a_failure(tmp_path: Path, no_tools: None, how: str) -> None:
    missing = tmp_path / "nope" if how == "option" else tmp_path / "xdg" / "dreamcli"
    r = invoke(*(["--home", str(missing)] if how == "option" else []), "doctor")
    assert r.exit_code == 0, r.output
    got = lines(r)
    assert got["workspace"].startswith("WARN") and str(missing) in got["workspace"]
    hint = f"dreamcli --home {missing} init" if how == "option" else "fix: create one: dreamcli init"
    assert hint in got["workspace"]
    assert "permissions" not in got and not missing.exists()  # the doctor creates nothing


def test_a_workspace_that_is_a_file_fails(tmp_path: Path, no_tools: None) -> None:
    (tmp_path / "afile").write_text("x")
    r = invoke("--home", str(tmp_path / "afile"), "doctor")
    assert r.exit_code == 1 and lines(r)["workspace"].startswith("FAIL") and "is a file" in r.stdout


def test_invalid_config_fails(ws: Workspace, config_file: None, no_tools: None) -> None:
    ws.config_path.write_text("limits:\n  max_turns: lots\n")
    r = invoke("--home", str(ws.root), "doctor")
    assert r.exit_code == 1 and lines(r)["config"].startswith("FAIL") and "max_turns" in lines(r)["config"]


def test_version_ranges() -> None:
    assert spec_violation("0.29.2", ">=0.15,<1") is None
    assert spec_violation("1.0", ">=0.15,<1") == "<1"
    assert spec_violation("0.14.9", ">=0.15,<1") == ">=0.15"
    assert spec_violation("3.11", ">=3.11") is None and spec_violation("3.10.12", ">=3.11") == ">=3.11"
    assert spec_violation("2.0.0rc1", "!=2.0") == "!=2.0"
    with pytest.raises(ValueError):
        spec_violation("1.0", "~=1.0")


def test_dependency_outside_its_range() -> None:
    assert check_dependency("rich", {"rich": ">=99"})[0].status == "fail"
    [newer] = check_dependency("rich", {"rich": ">=1,<2"})
    assert newer.status == "warn" and newer.fix == "pip install 'rich>=1,<2'"
    [missing] = check_dependency("no-such-dist-doctor", {"no-such-dist-doctor": ">=1"})
    assert missing.status == "fail" and "not installed" in missing.detail and "pip install" in missing.fix
    assert doctor.declared_ranges()["anthropic"].startswith(">=")
