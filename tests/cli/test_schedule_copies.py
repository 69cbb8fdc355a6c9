"""A crontab holding, besides this workspace's active line, a commented-out copy of it (a user's backup, `#` and the
same line): the active line runs, so `schedule show`, `show --json` and doctor say it is installed and enabled (they
said "commented out (disabled)" and advised uncommenting it, which would install a second job), and they report the
active line's own drift. Disabled only when every marked line is commented out. `schedule install` leaves exactly one
line of the workspace and names the copy it drops; `schedule remove` removes every marked line, and says so."""

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
from dreamcli.workspace.schedule_drift import copies_dropped, disabled, install_drops, outdated

USERS = "MAILTO=ana@example.org\n15 * * * * /usr/bin/backup  # the user's own line\n"  # tests/cli/conftest.py's
STALE = "no --timestamps: each log line dated"


def _plan() -> sch.Plan:
    return sch.Plan(workspace=Path("/w"), python=Path("/p/python"), dreamcli=Path("/new/bin/dreamcli"),
                    log=Path("/w/l"), lock=Path("/l"), minute=30, hour=2)


@pytest.mark.parametrize("copy", ["#", "# ", "  #"])
def test_find_line_prefers_the_active_line_to_a_commented_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               copy: str) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))  # no systemd unit of this machine's
    plan = _plan()
    active = plan.cron_line.replace(" --timestamps", "")  # an earlier dreamcli's line, still running
    for tab in (f"{copy}{plan.cron_line}\n{active}\n", f"{active}\n{copy}{plan.cron_line}\n"):
        line = sch.find_line(USERS + tab, plan)
        assert line == active and not disabled(line)
        assert [o.lacks for o in outdated(plan, line)] == [(STALE,)]  # its drift is said, not hidden
    both = f"{copy}{plan.cron_line}\n#{active}\n"  # every marked line commented out: disabled, the first one
    assert sch.find_line(both, plan) == copy + plan.cron_line and disabled(sch.find_line(both, plan))
    assert sch.find_lines(USERS + both, plan) == [copy + plan.cron_line, "#" + active]


def test_copies_dropped_names_the_other_marked_lines() -> None:
    plan = _plan()
    lines = sch.find_lines(f"#{plan.cron_line}\n{plan.cron_line}\n", plan)
    assert copies_dropped(lines, sch.chosen_line(lines)) == ["a commented-out copy of the line"]
    assert install_drops(plan, sch.chosen_line(lines)) == []  # the line install keeps: as it would write it
    three = f"#{plan.cron_line}\n{plan.cron_line}\n# {plan.cron_line}\n{plan.cron_line}\n"
    lines = sch.find_lines(three, plan)
    assert copies_dropped(lines, sch.chosen_line(lines)) == ["2 commented-out copies of the line",
                                                             "a second active copy of the line (a second job)"]
    assert copies_dropped([plan.cron_line], plan.cron_line) == [] and copies_dropped([], None) == []


def _cli(ws: Workspace, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("dreamcli", path=env["PATH"]) or "dreamcli"
    return subprocess.run([exe, "--home", str(ws.root), "schedule", *args], capture_output=True, text=True,
                          env=env, timeout=60)


def _with_copy(ws: Workspace, env: dict[str, str], *, stale: bool = False) -> tuple[Path, str]:
    """Install at 02:30, then put a commented-out copy of the line above it (the active one without
    `--timestamps` when `stale`); the crontab file and the line install wrote."""
    assert _cli(ws, env, "install", "--at", "02:30").returncode == 0
    table = Path(env["FAKE_CRONTAB_FILE"])
    line = table.read_text().splitlines()[-1]
    active = line.replace(" --timestamps", "") if stale else line
    table.write_text(f"{USERS}# old copy, kept by the user:\n#{line}\n{active}\n")
    return table, line


def _doctor(ws: Workspace, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    for name in ("PATH", "FAKE_CRONTAB_FILE", "HOME"):
        monkeypatch.setenv(name, env[name])
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL", "DREAMCLI_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(doctor, "check_tools", lambda names=(): [])
    monkeypatch.setattr(modelreach, "reach", lambda timeout: None)
    r = CliRunner().invoke(app, ["--home", str(ws.root), "doctor", "--json"], catch_exceptions=False)
    checks: dict[str, Any] = {c["name"]: c for c in json.loads(r.stdout)["checks"]}
    return checks["schedule"]


def test_show_and_doctor_see_the_active_line(ws: Workspace, cron_env: dict[str, str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    table, line = _with_copy(ws, cron_env)
    before = table.read_bytes()
    r = _cli(ws, cron_env, "show")
    assert r.returncode == 0  # no "commented out (disabled)" warning: only the copy is named
    assert r.stderr == "cron: also a commented-out copy of the line (`schedule install` drops it)\n"
    assert f"cron:    {line}\n" in r.stdout
    doc = json.loads(_cli(ws, cron_env, "show", "--json").stdout)
    assert (doc["cron"], doc["cron_disabled"], doc["at"], doc["out_of_date"], doc["commented_copies"]) == (
        line, False, "02:30", [], 1)
    check = _doctor(ws, cron_env, monkeypatch)
    assert check["status"] == "ok" and check["detail"].startswith("nightly dream at 02:30 (a crontab line)")
    assert table.read_bytes() == before


def test_the_active_lines_drift_is_not_hidden_by_the_copy(ws: Workspace, cron_env: dict[str, str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    _with_copy(ws, cron_env, stale=True)
    warning, copy = _cli(ws, cron_env, "show").stderr.splitlines()
    assert copy == "cron: also a commented-out copy of the line (`schedule install` drops it)"
    assert warning.startswith(f"warning: the installed crontab line is out of date ({STALE})")
    doc = json.loads(_cli(ws, cron_env, "show", "--json").stdout)
    assert doc["cron_disabled"] is False and [o["lacks"] for o in doc["out_of_date"]] == [[STALE]]
    check = _doctor(ws, cron_env, monkeypatch)
    assert check["status"] == "warn" and check["detail"] == f"the installed crontab line is out of date ({STALE})"


def test_install_leaves_one_active_line_and_names_the_copy(ws: Workspace, cron_env: dict[str, str]) -> None:
    table, line = _with_copy(ws, cron_env, stale=True)
    r = _cli(ws, cron_env, "install", "--at", "02:30")
    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines()[0] == ("warning: the crontab holds more than one line of this workspace: "
                                        "`schedule install` writes one and drops: a commented-out copy of the line")
    assert table.read_text() == f"{USERS}# old copy, kept by the user:\n{line}\n"  # one line, active
    assert _cli(ws, cron_env, "show").stderr == ""


def test_remove_removes_the_line_and_its_copy(ws: Workspace, cron_env: dict[str, str]) -> None:
    table, line = _with_copy(ws, cron_env)
    r = _cli(ws, cron_env, "remove")
    assert r.returncode == 0 and r.stderr == "removed: the crontab line and a commented-out copy of the line\n"
    assert table.read_text() == f"{USERS}# old copy, kept by the user:\n"  # no live job, no copy left
    _with_copy(ws, cron_env)
    doc = json.loads(_cli(ws, cron_env, "remove", "--json").stdout)
    assert doc["cron"] == line and doc["cron_copies"] == ["#" + line]
    assert "nothing was scheduled" in _cli(ws, cron_env, "remove").stderr
