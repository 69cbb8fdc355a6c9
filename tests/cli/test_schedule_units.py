"""`schedule install --with systemd` over a service or timer the user edited by hand (another OnCalendar, an added
line, a word of ExecStart, a variable) rewrites both unit files as before, and now says first, in one `warning:` line,
what of theirs it drops (it said nothing, as cron did before); a variable's value is never echoed. On absent units,
on units it wrote (at any time of day, or an earlier dreamcli's) it says nothing more than before."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from dreamcli.workspace import schedule as sch
from dreamcli.workspace.home import Workspace
from dreamcli.workspace.schedule_drift import calendar_at
from dreamcli.workspace.schedule_units import unit_drops

OFFLINE = "warning: " + sch.offline_warning("systemd")  # the fake systemctl's environment sets no model variable
DROPS = "warning: the installed systemd units differ from what `schedule install` writes: it rewrites them and drops: "


def _plan(at: tuple[int, int] = (2, 30), exe: str = "/new/bin/dreamcli") -> sch.Plan:
    return sch.Plan(workspace=Path("/w"), python=Path("/p/python"), dreamcli=Path(exe), log=Path("/w/l"),
                    lock=Path("/l"), minute=at[1], hour=at[0])


def _edited(plan: sch.Plan, kind: str, old: str, new: str) -> dict[str, str]:
    units = plan.systemd_units()
    (name,) = [n for n in units if n.endswith(kind)]
    assert old in units[name]
    return {**units, name: units[name].replace(old, new, 1)}


def test_units_install_wrote_drop_nothing() -> None:
    plan = _plan()
    assert unit_drops(plan, {}) == [] and unit_drops(plan, plan.systemd_units()) == []
    assert unit_drops(plan, _plan((4, 15)).systemd_units(), time_given=True) == []  # --at asked for a time
    earlier = {k: v.replace(" --timestamps", "").replace("UMask=0077\n", "").replace("umask 077; ", "")
               for k, v in plan.systemd_units().items()}
    assert unit_drops(plan, earlier) == []  # an earlier dreamcli's service: what it lacks is no edit of the user's
    assert unit_drops(plan, _edited(plan, ".timer", "Persistent=true\n", "Persistent=true\n\n\n")) == []
    assert unit_drops(plan, _edited(plan, ".timer", "02:30:00", "2:30")) == []  # the same time, written otherwise


@pytest.mark.parametrize(("kind", "old", "new", "said"), [
    (".timer", "02:30:00", "04:15:00", "the timer's time 04:15 (`--at 04:15` keeps it)"),
    (".timer", "*-*-* 02:30:00", "daily", "the timer's time 00:00 (`--at 00:00` keeps it)"),
    (".timer", "*-*-* 02:30:00", "Mon..Fri *-*-* 02:30:00",
     "the timer's schedule `Mon..Fri *-*-* 02:30:00` (install writes a daily one)"),
    (".timer", "Persistent=true\n", "Persistent=true\nRandomizedDelaySec=600\n",
     "in the timer: added `RandomizedDelaySec=600`"),
    (".timer", "Persistent=true\n", "", "in the timer: removed `Persistent=true`"),
    (".service", "UMask=0077\n", "UMask=0077\nNice=10\n", "in the service: added `Nice=10`"),
    (".service", "UMask=0077\n", "UMask=0077\nEnvironment=ANTHROPIC_API_KEY=sk-ant-api03-secretsecretsecret\n",
     "in the service: added `Environment=ANTHROPIC_API_KEY=…`"),
    (".service", 'Environment="PATH=', 'Environment="PATH=/opt/secret/bin:', "in the service: another value of PATH"),
    (".service", "/new/bin/dreamcli --home", "nice -n 10 /new/bin/dreamcli --home",
     "in the service's ExecStart: added `nice -n 10`"),
    (".service", " --quiet", "", "in the service's ExecStart: removed `--quiet`"),
])
def test_each_edit_of_a_unit_is_named(kind: str, old: str, new: str, said: str) -> None:
    plan = _plan()
    drops = unit_drops(plan, _edited(plan, kind, old, new))
    assert drops == [said]
    assert not any("secret" in d for d in drops)  # a variable's value is never echoed


def test_calendar_at_reads_a_daily_time() -> None:
    assert [calendar_at(v) for v in ("*-*-* 04:15:00", "*-*-* 4:15", "04:15", "daily", "midnight")] == [
        "04:15", "04:15", "04:15", "00:00", "00:00"]
    assert [calendar_at(v) for v in ("Mon *-*-* 04:15:00", "hourly", "*-*-* 04:15:30", "*-*-* 25:00")] == [None] * 4


def _cli(ws: Workspace, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("dreamcli", path=env["PATH"]) or "dreamcli"
    return subprocess.run([exe, "--home", str(ws.root), "schedule", *args], capture_output=True, text=True,
                          env=env, timeout=60)


def _warnings(r: subprocess.CompletedProcess[str]) -> list[str]:
    assert r.returncode == 0, r.stderr
    return [line for line in r.stderr.splitlines() if line.startswith("warning:")]


def _units(env: dict[str, str]) -> dict[str, str]:
    return {p.suffix: p.read_text() for p in (Path(env["XDG_CONFIG_HOME"]) / "systemd" / "user").iterdir()}


def test_absent_or_unedited_units_are_installed_as_before(ws: Workspace, systemd_env: dict[str, str]) -> None:
    install = ("install", "--with", "systemd")
    assert _warnings(_cli(ws, systemd_env, *install, "--at", "02:30")) == [OFFLINE]
    first = _units(systemd_env)
    assert _warnings(_cli(ws, systemd_env, *install, "--at", "02:30")) == [OFFLINE]
    assert _units(systemd_env) == first
    assert _warnings(_cli(ws, systemd_env, *install, "--at", "04:00")) == [OFFLINE]  # a time asked for
    assert "OnCalendar=*-*-* 04:00:00\n" in _units(systemd_env)[".timer"]


def test_an_edited_timer_and_service_are_named_before_they_are_replaced(ws: Workspace,
                                                                         systemd_env: dict[str, str]) -> None:
    install = ("install", "--with", "systemd")
    assert _cli(ws, systemd_env, *install).returncode == 0
    written = _units(systemd_env)
    folder = Path(systemd_env["XDG_CONFIG_HOME"]) / "systemd" / "user"
    (timer,) = folder.glob("*.timer")
    (service,) = folder.glob("*.service")
    timer.write_text(written[".timer"].replace("03:00:00", "04:15:00"))
    service.write_text(written[".service"].replace("UMask=0077\n", "UMask=0077\nEnvironment=ANTHROPIC_API_KEY=sk-x\n"))
    r = _cli(ws, systemd_env, *install)
    assert _warnings(r) == [DROPS + "in the service: added `Environment=ANTHROPIC_API_KEY=…`; the timer's time "
                            "04:15 (`--at 04:15` keeps it)", OFFLINE]
    assert "sk-x" not in r.stderr
    assert r.stderr.index("differ") < r.stderr.index("installed (systemd)")
    assert _units(systemd_env) == written  # replaced all the same, as before


def test_no_warning_when_systemctl_does_not_work(ws: Workspace, systemd_env: dict[str, str]) -> None:
    assert _cli(ws, systemd_env, "install", "--with", "systemd").returncode == 0
    (timer,) = (Path(systemd_env["XDG_CONFIG_HOME"]) / "systemd" / "user").glob("*.timer")
    timer.write_text(timer.read_text().replace("03:00:00", "04:15:00"))
    (Path(systemd_env["PATH"].split(":")[0]) / "systemctl").write_text("#!/bin/sh\nexit 1\n")
    r = _cli(ws, systemd_env, "install", "--with", "systemd")
    assert r.returncode == 2 and "warning:" not in r.stderr  # nothing written: nothing dropped
    assert "04:15:00" in timer.read_text()


@pytest.mark.parametrize("edit", ['export TOKEN="Bearer hunter2"; ', 'curl -H "Authorization: Bearer hunter2" x; ',
                                  'cmd --token "a hunter2"; '])
def test_an_edited_exec_start_never_shows_a_quoted_value(edit: str) -> None:
    """A quoted value in the service's command is one word, and a value is never shown (review of 9866d05: the
    words were joined with blanks and split again, so `"Bearer hunter2"` showed `hunter2`)."""
    plan = _plan()
    units = {k: v.replace("'umask 077; ", f"'{edit}umask 077; ") for k, v in plan.systemd_units().items()}
    drops = unit_drops(plan, units)
    assert drops and not any("hunter2" in d or "Bearer" in d for d in drops), drops
