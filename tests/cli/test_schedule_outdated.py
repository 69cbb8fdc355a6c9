"""A crontab line (or systemd service) an earlier dreamcli installed, without `--timestamps` or `umask 077;`, runs
as it was until `schedule install` runs again: `schedule show` and `doctor` say it is out of date and name the
install command that refreshes it at the same time of day, and neither rewrites the user's crontab."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli import doctor, modelreach
from dreamcli.cli.app import app
from dreamcli.workspace import schedule as sch
from dreamcli.workspace.home import Workspace

USERS = "MAILTO=ana@example.org\n15 * * * * /usr/bin/backup  # the user's own line\n"  # tests/cli/conftest.py's
LACKS = {"--timestamps": "no --timestamps: each log line dated", "umask 077;": "no umask 077;: the log created 0600"}


def _cli(ws: Workspace, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("dreamcli", path=env["PATH"]) or "dreamcli"
    return subprocess.run([exe, "--home", str(ws.root), "schedule", *args], capture_output=True, text=True,
                          env=env, timeout=60)


def _earlier(ws: Workspace, env: dict[str, str], *missing: str) -> Path:
    """Install at 02:30, then put back the line an earlier dreamcli wrote: the same without `missing`."""
    assert _cli(ws, env, "install", "--at", "02:30").returncode == 0
    table = Path(env["FAKE_CRONTAB_FILE"])
    line = table.read_text().splitlines()[-1]
    for piece in missing:
        assert f" {piece}" in line
        line = line.replace(f" {piece}", "")
    table.write_text(USERS + line + "\n")
    return table


@pytest.mark.parametrize("missing", [("--timestamps",), ("umask 077;", "--timestamps")])
def test_show_says_an_earlier_line_is_out_of_date_and_leaves_it(ws: Workspace, cron_env: dict[str, str],
                                                                missing: tuple[str, ...]) -> None:
    table = _earlier(ws, cron_env, *missing)
    before = table.read_bytes()
    refresh = f"dreamcli --home {ws.root} schedule install --at 02:30"
    r = _cli(ws, cron_env, "show")
    assert r.returncode == 0 and "cron:    30 2 * * *" in r.stdout
    (warning,) = r.stderr.splitlines()
    assert warning.startswith("warning: the installed crontab line is out of date (")
    assert all(LACKS[piece] in warning for piece in missing) and f"`{refresh}` refreshes it" in warning
    doc = json.loads(_cli(ws, cron_env, "show", "--json").stdout)
    assert doc["out_of_date"] == [{"scheduler": "cron", "lacks": [LACKS[p] for p in LACKS if p in missing],
                                   "at": "02:30", "refresh": refresh}]
    assert table.read_bytes() == before  # said, never rewritten
    assert subprocess.run(refresh.split(), env=cron_env, capture_output=True, timeout=60).returncode == 0
    assert "--timestamps" in table.read_text() and table.read_text().startswith(USERS)
    again = _cli(ws, cron_env, "show")
    assert again.stderr == "" and "cron:    30 2 * * *" in again.stdout
    assert json.loads(_cli(ws, cron_env, "show", "--json").stdout)["out_of_date"] == []


def test_a_current_line_is_not_out_of_date(ws: Workspace, cron_env: dict[str, str]) -> None:
    assert _cli(ws, cron_env, "install").returncode == 0
    r = _cli(ws, cron_env, "show", "--json")
    assert r.returncode == 0 and r.stderr == "" and json.loads(r.stdout)["out_of_date"] == []


def _doctor(ws: Workspace, cron_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, dict[str, Any]]:
    """`doctor --json` in this process, with the fake crontab on PATH (the tools not probed, no model call)."""
    for name in ("PATH", "FAKE_CRONTAB_FILE", "HOME"):
        monkeypatch.setenv(name, cron_env[name])
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL", "DREAMCLI_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(doctor, "check_tools", lambda names=(): [])
    monkeypatch.setattr(modelreach, "reach", lambda timeout: None)
    r = CliRunner().invoke(app, ["--home", str(ws.root), "doctor", "--json"], catch_exceptions=False)
    return r.exit_code, {c["name"]: c for c in json.loads(r.stdout)["checks"]}


def test_doctor_warns_of_an_earlier_line_with_the_refresh(ws: Workspace, cron_env: dict[str, str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    code, checks = _doctor(ws, cron_env, monkeypatch)
    assert code == 0 and "schedule" not in checks  # nothing scheduled: no line
    table = _earlier(ws, cron_env, "--timestamps")
    before = table.read_bytes()
    code, checks = _doctor(ws, cron_env, monkeypatch)
    line = checks["schedule"]
    assert code == 0 and line["status"] == "warn"  # it still dreams: a warning, not a failure
    assert line["detail"] == f"the installed crontab line is out of date ({LACKS['--timestamps']})"
    assert line["fix"] == f"dreamcli --home {ws.root} schedule install --at 02:30 refreshes it"
    assert table.read_bytes() == before
    assert _cli(ws, cron_env, "install", "--at", "02:30").returncode == 0
    _, checks = _doctor(ws, cron_env, monkeypatch)
    assert checks["schedule"]["status"] == "ok" and "at 02:30 (a crontab line)" in checks["schedule"]["detail"]


def test_an_earlier_systemd_service_is_out_of_date_too(ws: Workspace, cron_env: dict[str, str],
                                                       tmp_path: Path) -> None:
    fake = tmp_path / "bin" / "systemctl"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    env = {**cron_env, "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    assert _cli(ws, env, "install", "--at", "22:05", "--with", "systemd").returncode == 0
    (service,) = (tmp_path / "cfg" / "systemd" / "user").glob("*.service")
    service.write_text(service.read_text().replace(" --timestamps", ""))
    r = _cli(ws, env, "show")
    (warning,) = r.stderr.splitlines()
    assert warning.startswith("warning: the installed systemd service is out of date (no --timestamps")
    assert f"`dreamcli --home {ws.root} schedule install --at 22:05 --with systemd` refreshes it" in warning
    assert " --timestamps" not in service.read_text()


def test_another_command_and_an_odd_time_are_said_as_such(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))  # no systemd unit of this machine's

    def plan(exe: str) -> sch.Plan:
        return sch.Plan(workspace=Path("/w"), python=Path("/p/python"), dreamcli=Path(exe), log=Path("/w/l"),
                        lock=Path("/l"), minute=30, hour=2)

    moved = plan("/old/bin/dreamcli").cron_line.replace("30 2 * * *", "*/15 * * * *", 1)
    (old,) = sch.outdated(plan("/new/bin/dreamcli"), moved)
    assert old.lacks == ("its command is not the one `schedule install` writes now (another dreamcli or Python?)",)
    assert old.at is None and old.refresh() == "dreamcli schedule install"
    assert sch.outdated(plan("/new/bin/dreamcli"), plan("/new/bin/dreamcli").cron_line.replace("30 2", "0 4")) == []
