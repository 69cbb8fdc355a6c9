"""A crontab line (or systemd service) an earlier dreamcli installed, without `--timestamps` or `umask 077;`, runs
as it was until `schedule install` runs again: `schedule show` and `doctor` say it is out of date and name the
install command that refreshes it at the same time of day, and neither rewrites the user's crontab."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli import doctor, modelreach
from dreamcli.cli.app import app
from dreamcli.workspace import schedule as sch
from dreamcli.workspace.home import Workspace
from dreamcli.workspace.schedule_drift import cron_at, outdated

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
                                   "at": "02:30", "refresh": refresh, "drops": []}]
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
    assert checks["schedule"] == {"name": "schedule", "status": "ok", "fix": checks["schedule"]["fix"],
                                  "detail": "nightly dream at 02:30 (a crontab line): nothing `schedule install` "
                                            "writes now is missing"}


def test_an_earlier_systemd_service_is_out_of_date_too(ws: Workspace, systemd_env: dict[str, str],
                                                       tmp_path: Path) -> None:
    env = systemd_env
    assert _cli(ws, env, "install", "--at", "22:05", "--with", "systemd").returncode == 0
    (service,) = (tmp_path / "cfg" / "systemd" / "user").glob("*.service")
    service.write_text(service.read_text().replace(" --timestamps", ""))
    r = _cli(ws, env, "show")
    (warning,) = r.stderr.splitlines()
    assert warning.startswith("warning: the installed systemd service is out of date (no --timestamps")
    assert f"`dreamcli --home {ws.root} schedule install --at 22:05 --with systemd` refreshes it" in warning
    assert " --timestamps" not in service.read_text()


def _plan(exe: str = "/new/bin/dreamcli", workspace: str = "/w") -> sch.Plan:
    return sch.Plan(workspace=Path(workspace), python=Path("/p/python"), dreamcli=Path(exe), log=Path("/w/l"),
                    lock=Path("/l"), minute=30, hour=2)


DIFFERS = "its command differs from what `schedule install` writes now: "


def test_another_dreamcli_or_home_is_said_as_such(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))  # no systemd unit of this machine's
    moved = _plan("/old/bin/dreamcli").cron_line.replace("30 2 * * *", "*/15 * * * *", 1)
    (old,) = outdated(_plan(), moved)
    assert old.lacks == (DIFFERS + "another dreamcli than /new/bin/dreamcli",)
    assert old.at is None and old.refresh() == "dreamcli schedule install"
    assert old.drops == ("any edits of yours",
                         "its schedule `*/15 * * * *` (install writes a daily line: add --at HH:MM)")
    elsewhere = _plan(workspace="/v").cron_line.replace(_plan(workspace="/v").raw_marker, _plan().raw_marker)
    (old,) = outdated(_plan(), elsewhere)
    assert old.lacks == (DIFFERS + "--home is not /w",) and old.at == "02:30" and old.drops == ("any edits of yours",)
    assert outdated(_plan(), _plan().cron_line.replace("30 2", "0 4")) == []


# edits a user makes to the line install wrote, none of which lacks what install writes now
EDITS = {
    "inline variable": ("PATH=", "ANTHROPIC_BASE_URL=http://10.0.0.5:8080 PATH="),
    "one space before the marker": ("2>&1  #", "2>&1 #"),
    "nice": ("/new/bin/dreamcli --home", "nice -n 10 /new/bin/dreamcli --home"),
    "weekdays": ("30 2 * * *", "30 2 * * 1-5"),
    "@daily": ("30 2 * * *", "@daily"),
    "tabs": ("30 2 * * * ", "30\t2\t*\t*\t*\t"),
}


@pytest.mark.parametrize("edit", EDITS.values(), ids=EDITS.keys())
def test_a_line_the_user_edited_is_not_out_of_date(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   edit: tuple[str, str]) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    line = _plan().cron_line.replace(edit[0], edit[1], 1)
    assert line != _plan().cron_line
    assert outdated(_plan(), line) == []


def test_an_earlier_line_the_user_edited_says_the_refresh_drops_the_edits(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    earlier = _plan().cron_line.replace(" --timestamps", "")
    (plain,) = outdated(_plan(), earlier)
    assert plain.lacks == (LACKS["--timestamps"],) and plain.drops == () and plain.at == "02:30"
    assert plain.message() == (f"the installed crontab line is out of date ({LACKS['--timestamps']}); "
                               "`dreamcli schedule install --at 02:30` refreshes it")
    (edited,) = outdated(_plan(), earlier.replace("PATH=", "ANTHROPIC_BASE_URL=http://h:1 PATH="))
    assert edited.lacks == (LACKS["--timestamps"],) and edited.drops == ("your other edits of it",)
    assert edited.message().endswith("`dreamcli schedule install --at 02:30` refreshes it, but it rewrites the whole "
                                     "crontab line and drops your other edits of it")
    assert "http://h:1" not in edited.message()  # an inline key is never echoed


@pytest.mark.parametrize(("schedule", "at", "drops"), [
    ("@daily", "00:00", ()),
    ("@midnight", "00:00", ()),
    ("@weekly", None, ("its schedule `@weekly` (install writes a daily line: add --at HH:MM)",)),
    ("30 2 * * 1-5", None, ("its schedule `30 2 * * 1-5` (install writes a daily line: add --at HH:MM)",)),
])
def test_an_earlier_line_with_another_schedule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, schedule: str,
                                               at: str | None, drops: tuple[str, ...]) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    line = _plan().cron_line.replace("30 2 * * *", schedule).replace(" --timestamps", "")
    (old,) = outdated(_plan(), line)
    assert old.lacks == (LACKS["--timestamps"],)  # the umask is there: not said missing
    assert (old.at, old.drops) == (at, drops) and cron_at(line) == at


def _service(plan: sch.Plan) -> Path:
    folder = sch.systemd_dir()
    folder.mkdir(parents=True)
    for name, text in plan.systemd_units().items():
        (folder / name).write_text(text)
    return folder / f"{plan.unit_name}.service"


def test_a_systemd_service_the_user_edited(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    service = _service(_plan())
    service.write_text(service.read_text().replace("UMask=0077\n", "UMask=0077\nEnvironment=ANTHROPIC_BASE_URL=x\n"))
    assert outdated(_plan(), None) == []
    service.write_text(service.read_text().replace(" --timestamps", ""))
    (old,) = outdated(_plan(), None)
    assert (old.scheduler, old.lacks, old.at, old.drops) == ("systemd", (LACKS["--timestamps"],), "02:30",
                                                             ("your other edits of it",))
    service.write_text(_plan().systemd_units()[service.name].replace("UMask=0077\n", ""))
    (old,) = outdated(_plan(), None)
    assert old.lacks == ("no UMask=0077: the log created 0600",) and old.drops == ()
    service.write_text(_plan("/old/dreamcli").systemd_units()[service.name])
    (old,) = outdated(_plan(), None)
    assert old.lacks == (DIFFERS + "another dreamcli than /new/bin/dreamcli",) and old.drops == ("any edits of yours",)


def _slow_crontab(cron_env: dict[str, str], tmp_path: Path) -> Path:
    """`crontab` that never answers (a hung user lookup); its `sleep` writes its pid to tmp_path/sleep.pid."""
    fake = Path(cron_env["PATH"].split(":")[0]) / "crontab"
    pidfile = tmp_path / "sleep.pid"
    fake.write_text(f"#!/bin/sh\nsleep 30 &\necho $! > {pidfile}\nwait\n")
    return pidfile


def _gone(pidfile: Path, within: float = 5.0) -> bool:
    """Whether the process the slow crontab started is gone (or a zombie) within `within` seconds: it was sent
    SIGKILL, which a loaded machine may take a moment to deliver."""
    pid = int(pidfile.read_text())
    deadline = time.monotonic() + within
    while True:
        try:
            if Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z"):
                return True
        except (OSError, IndexError):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)


def test_a_crontab_that_does_not_answer_is_a_warning_of_doctor(ws: Workspace, cron_env: dict[str, str],
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               tmp_path: Path) -> None:
    pidfile = _slow_crontab(cron_env, tmp_path)
    monkeypatch.setattr(sch, "CRONTAB_TIMEOUT_S", 0.5)
    started = time.monotonic()
    code, checks = _doctor(ws, cron_env, monkeypatch)
    assert time.monotonic() - started < 10
    assert code == 0 and checks["schedule"]["status"] == "warn", checks.get("schedule")
    assert checks["schedule"]["detail"].startswith("crontab -l did not answer in 0.5 s")
    assert _gone(pidfile)  # killed with the crontab that started it


@pytest.mark.parametrize("args", [("show",), ("install",), ("remove",)])
def test_a_crontab_that_does_not_answer_is_a_one_line_error(ws: Workspace, cron_env: dict[str, str],
                                                            monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                            args: tuple[str, ...]) -> None:
    pidfile = _slow_crontab(cron_env, tmp_path)
    for name in ("PATH", "FAKE_CRONTAB_FILE", "HOME"):
        monkeypatch.setenv(name, cron_env[name])
    monkeypatch.setattr(sch, "CRONTAB_TIMEOUT_S", 0.5)
    started = time.monotonic()
    extra = ["--with", "cron"] if args == ("install",) else []
    r = CliRunner().invoke(app, ["--home", str(ws.root), "schedule", *args, *extra])
    assert time.monotonic() - started < 10
    assert r.exit_code == 1 and r.stderr == "error: crontab -l did not answer in 0.5 s (a hung user lookup, a lock?)\n"
    assert _gone(pidfile)


@pytest.mark.parametrize("workspace", ["/w/o'brien", '/w/say "hi"', "/w/a b\\", "/w/50%\\"])
def test_a_line_just_written_for_a_quoted_path_is_current(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          workspace: str) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    plan = _plan(workspace=workspace)
    assert outdated(plan, plan.cron_line) == []
    (old,) = outdated(plan, plan.cron_line.replace(" --timestamps", ""))
    assert old.lacks == (LACKS["--timestamps"],) and old.drops == ()  # the --home read right: no edits seen
    other = _plan(workspace="/v")
    (elsewhere,) = outdated(other, plan.cron_line.replace(plan.raw_marker, other.raw_marker))
    assert elsewhere.lacks == (DIFFERS + "--home is not /v",)


DISABLED = "the installed crontab line is commented out (disabled): no nightly dream runs from it"


@pytest.mark.parametrize("comment", ["# ", "#", "  #"])
def test_a_commented_out_line_is_said_disabled(ws: Workspace, cron_env: dict[str, str],
                                               monkeypatch: pytest.MonkeyPatch, comment: str) -> None:
    assert _cli(ws, cron_env, "install", "--at", "02:30").returncode == 0
    table = Path(cron_env["FAKE_CRONTAB_FILE"])
    line = table.read_text().splitlines()[-1]
    for text in (line, line.replace(" --timestamps", "")):  # current or not: disabled, never out of date
        table.write_text(USERS + comment + text + "\n")
        before = table.read_bytes()
        code, checks = _doctor(ws, cron_env, monkeypatch)
        assert code == 0 and checks["schedule"]["status"] == "warn" and checks["schedule"]["detail"] == DISABLED
        assert checks["schedule"]["fix"] == (f"uncomment it (`crontab -e`), or `dreamcli --home {ws.root} schedule "
                                             "install --at 02:30` writes it anew")
        r = _cli(ws, cron_env, "show")
        assert r.returncode == 0 and r.stderr.startswith(f"warning: {DISABLED}") and len(r.stderr.splitlines()) == 1
        assert f"cron:    installed but commented out (disabled): {comment}{text}" in r.stdout
        doc = json.loads(_cli(ws, cron_env, "show", "--json").stdout)
        assert doc["cron_disabled"] is True and doc["out_of_date"] == [] and doc["cron"] == comment + text
        assert table.read_bytes() == before
    assert _cli(ws, cron_env, "install", "--at", "02:30").returncode == 0
    assert table.read_text() == USERS + line + "\n"  # install writes it anew, in its place
    assert json.loads(_cli(ws, cron_env, "show", "--json").stdout)["cron_disabled"] is False


def test_a_service_whose_exec_start_the_user_continued_on_another_line(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """systemd reads a line that ends in `\\` with the next: the command is the same, so nothing is out of date
    (read as cut at the `\\`, it ran another dreamcli, or none)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    service = _service(_plan())
    service.write_text(service.read_text().replace(" --home /w dream", " \\\n    --home /w dream"))
    assert "\\\n" in service.read_text()
    assert outdated(_plan(), None) == []
    service.write_text(service.read_text().replace(" --timestamps", ""))
    (old,) = outdated(_plan(), None)
    assert old.lacks == (LACKS["--timestamps"],)


def test_a_timer_whose_calendar_the_user_continued_on_another_line(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """`OnCalendar=*-*-* \\` then `  02:30:00`: one value to systemd, so its time is 02:30 for `schedule show` and
    for the refresh doctor advises, as for the drops warning."""
    from dreamcli.workspace.schedule_drift import systemd_at, systemd_calendar

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    service = _service(_plan())
    timer = service.with_suffix(".timer")
    timer.write_text(timer.read_text().replace("OnCalendar=*-*-* ", "OnCalendar=*-*-* \\\n  "))
    assert "\\\n" in timer.read_text()
    assert (systemd_at(_plan()), systemd_calendar(_plan())) == ("02:30", "*-*-*    02:30:00")
