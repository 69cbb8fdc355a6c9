"""`schedule` with odd workspace paths and odd crontabs (a review's reproductions): a newline in the
path must not add a crontab job, `%` is escaped for cron and systemd, other lines of the crontab are
kept byte for byte (CR, form feed, NEL, non-UTF-8), and a systemd that cannot be reached is found out
before anything is written. Always a fake `crontab` and `systemctl` on PATH."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dreamcli.workspace import schedule as sch
from dreamcli.workspace.home import Workspace
from tests.support.crontab import FAKE_CRONTAB

NO_BUS = """#!/bin/sh
echo "Failed to connect to bus: No medium found" >&2
exit 1
"""
DISABLE_FAILS = """#!/bin/sh
case "$*" in *disable*) echo "Failed to connect to bus" >&2; exit 1;; esac
exit 0
"""


def _env(tmp_path: Path, systemctl: str | None = None) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "crontab").write_text(FAKE_CRONTAB)
    (bin_dir / "crontab").chmod(0o755)
    if systemctl is not None:
        (bin_dir / "systemctl").write_text(systemctl)
        (bin_dir / "systemctl").chmod(0o755)
    venv_bin = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": f"{bin_dir}:{venv_bin}:/usr/bin:/bin", "HOME": str(tmp_path),
            "FAKE_CRONTAB_FILE": str(tmp_path / "crontab.txt"), "XDG_CONFIG_HOME": str(tmp_path / "cfg")}


def _cli(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("dreamcli", path=env["PATH"]) or "dreamcli"
    return subprocess.run([exe, "--home", str(root), "schedule", *args], capture_output=True, text=True,
                          env=env, timeout=60)


def _workspace(path: Path) -> Path:
    Workspace(path, "option").ensure_layout()
    return path


def test_a_newline_in_the_workspace_path_is_refused(tmp_path: Path) -> None:
    env = _env(tmp_path)
    root = _workspace(tmp_path / f"ws\n* * * * * touch {tmp_path}/PWNED #")
    r = _cli(root, env, "install")
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and "control character" in r.stderr
    assert not (tmp_path / "crontab.txt").exists()


def test_a_percent_in_the_path_is_escaped_and_found_again(tmp_path: Path) -> None:
    env = _env(tmp_path)
    root = _workspace(tmp_path / "ws%pct")
    assert _cli(root, env, "install").returncode == 0
    table = (tmp_path / "crontab.txt").read_text()
    (line,) = table.splitlines()
    assert "%" not in line.replace("\\%", "")  # every % escaped, or cron cuts the command there
    shown = _cli(root, env, "show")
    assert "cron:    not installed" not in shown.stdout
    r = _cli(root, env, "remove")
    assert r.returncode == 0 and "removed" in r.stderr
    assert (tmp_path / "crontab.txt").read_text() == ""


def test_the_escaped_line_runs_under_sh_as_cron_would(tmp_path: Path) -> None:
    ws = tmp_path / "a%b c'd$e"
    (ws / "state" / "logs").mkdir(parents=True)
    fake = tmp_path / "bin" / "dreamcli"
    fake.parent.mkdir()
    fake.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$@\" > {tmp_path}/argv\n")
    fake.chmod(0o755)
    plan = sch.Plan(workspace=ws, python=Path(sys.executable), dreamcli=fake, log=ws / "state/logs/schedule.log",
                    lock=Path("/l"), minute=0, hour=3)
    command = plan.cron_line.split(" ", 5)[5].replace("\\%", "%")  # cron hands `\%` to sh as `%`
    subprocess.run(["/bin/sh", "-c", command], check=True, timeout=30)
    argv = (tmp_path / "argv").read_text().splitlines()
    assert argv[argv.index("--home") + 1] == str(ws)


def test_systemd_units_escape_percent_specifiers() -> None:
    plan = sch.Plan(workspace=Path("/w/100%h"), python=Path("/usr/bin/python3"), dreamcli=None,
                    log=Path("/w/100%h/state/logs/schedule.log"), lock=Path("/l"), minute=0, hour=3)
    units = plan.systemd_units()
    for text in units.values():
        assert "%h" not in text.replace("%%", "")
    assert "/w/100%%h" in units[f"{plan.unit_name}.service"]


def test_other_crontab_lines_are_kept_byte_for_byte(tmp_path: Path) -> None:
    env = _env(tmp_path)
    root = _workspace(tmp_path / "plain")
    before = b'# my jobs\r\n0 1 * * * echo a\x0cb\n30 2 * * * echo "\xc2\x85 x"\n15 * * * * echo caf\xe9\n'
    (tmp_path / "crontab.txt").write_bytes(before)
    r = _cli(root, env, "install")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "crontab.txt").read_bytes().startswith(before)
    shown = _cli(root, env, "show")
    assert shown.returncode == 0 and "cron:    0 3 * * *" in shown.stdout
    assert _cli(root, env, "remove").returncode == 0
    assert (tmp_path / "crontab.txt").read_bytes() == before


def test_with_and_without_line_split_on_newlines_only() -> None:
    plan = sch.Plan(workspace=Path("/w"), python=Path("/p"), dreamcli=None, log=Path("/w/l"), lock=Path("/l"),
                    minute=0, hour=3)
    text = "a\x0cb\r\nc\u0085d\u2028e\n"
    assert sch.without_line(sch.with_line(text, plan), plan) == text


def test_systemd_without_a_bus_writes_nothing(tmp_path: Path) -> None:
    env = _env(tmp_path, NO_BUS)
    root = _workspace(tmp_path / "ws")
    r = _cli(root, env, "install", "--with", "systemd")
    assert r.returncode != 0 and r.stderr.count("\n") == 1 and "internal error" not in r.stderr
    units = tmp_path / "cfg" / "systemd" / "user"
    assert not units.exists() or not any(units.iterdir())
    assert "systemd: not installed" in _cli(root, env, "show").stdout


def test_remove_deletes_the_units_even_when_disable_fails(tmp_path: Path) -> None:
    env = _env(tmp_path, DISABLE_FAILS)
    root = _workspace(tmp_path / "ws")
    assert _cli(root, env, "install", "--with", "systemd").returncode == 0
    units = tmp_path / "cfg" / "systemd" / "user"
    assert len(list(units.iterdir())) == 2
    r = _cli(root, env, "remove")
    assert not list(units.iterdir())
    assert "disable" in r.stderr and "removed" in r.stderr and "internal error" not in r.stderr


@pytest.mark.parametrize("bad", ["/a\tb", "/a\x1bb", "/a\rb", "/a\u0085b"])
def test_control_characters_in_executables_are_refused(bad: str) -> None:
    from dreamcli.errors import UsageError

    plan = sch.Plan(workspace=Path("/w"), python=Path(bad), dreamcli=None, log=Path("/w/l"), lock=Path("/l"),
                    minute=0, hour=3)
    with pytest.raises(UsageError):
        sch.check_paths(plan)


def _fake_run(tmp_path: Path) -> tuple[sch.Plan, Path]:
    """A plan whose dreamcli is a fake that prints a line, on a workspace whose log does not exist yet."""
    ws = tmp_path / "ws"
    (ws / "state" / "logs").mkdir(parents=True)
    fake = tmp_path / "bin" / "dreamcli"
    fake.parent.mkdir(exist_ok=True)
    fake.write_text("#!/bin/sh\necho dreamed\n")
    fake.chmod(0o755)
    log = ws / "state/logs/schedule.log"
    return sch.Plan(workspace=ws, python=Path(sys.executable), dreamcli=fake, log=log, lock=Path("/l"),
                    minute=0, hour=3), log


def _run_loose(command: str) -> None:
    """`command` under a bare environment and a umask of 022, as cron or systemd may start it."""
    subprocess.run(["env", "-i", "/bin/sh", "-c", f"umask 022; {command}"], check=True, timeout=30)


def test_the_cron_line_creates_the_log_0600(tmp_path: Path) -> None:
    plan, log = _fake_run(tmp_path)
    _run_loose(plan.cron_line.split(" ", 5)[5].replace("\\%", "%"))
    assert log.read_text() == "dreamed\n"
    assert log.stat().st_mode & 0o777 == 0o600  # the project's rule: files 0600, not the shell's 0644


def test_the_systemd_service_creates_the_log_0600(tmp_path: Path) -> None:
    plan, log = _fake_run(tmp_path)
    service = plan.systemd_units()[f"{plan.unit_name}.service"]
    assert "\nUMask=0077\n" in service
    exec_start = next(x for x in service.splitlines() if x.startswith("ExecStart=/bin/sh -c "))
    _run_loose(shlex.split(exec_start.removeprefix("ExecStart=/bin/sh -c "))[0])  # a path without escapes
    assert log.stat().st_mode & 0o777 == 0o600
