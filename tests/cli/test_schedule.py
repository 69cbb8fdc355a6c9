"""Issue 20: `dreamcli schedule install|show|remove` writes a crontab line that works under cron
(absolute paths, the workspace, a log, the lock) through a fake `crontab` on PATH."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from dreamcli.workspace.home import Workspace


def _cli(ws: Workspace, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("dreamcli", path=env["PATH"]) or "dreamcli"
    return subprocess.run([exe, "--home", str(ws.root), "schedule", *args], capture_output=True, text=True,
                          env=env, timeout=60)


def test_install_show_remove_keep_the_users_lines(ws: Workspace, cron_env: dict[str, str], tmp_path: Path) -> None:
    r = _cli(ws, cron_env, "install", "--at", "02:30")
    assert r.returncode == 0, r.stderr
    table = Path(cron_env["FAKE_CRONTAB_FILE"]).read_text()
    assert table.startswith("MAILTO=ana@example.org\n15 * * * * /usr/bin/backup  # the user's own line\n")
    (line,) = [line for line in table.splitlines() if "dreamcli-schedule" in line]
    fields = line.split()
    assert fields[:5] == ["30", "2", "*", "*", "*"]
    assert fields[5:7] == ["umask", "077;"]  # the log the shell's `>>` creates is 0600, as every file here
    assert fields[7].startswith("PATH=/")  # cron's PATH is bare: ours names the executables' folder
    exe = fields[8]
    assert Path(exe).is_absolute() and os.access(exe, os.X_OK)  # the dreamcli (or python) executable
    assert Path(sys.executable).parent.as_posix() in fields[7]
    assert f"--home {ws.root.absolute()}" in line and "dream --quiet --wait" in line
    assert f">> {ws.root.absolute()}/state/logs/schedule.log 2>&1" in line
    # installing again replaces, never stacks
    assert _cli(ws, cron_env, "install").returncode == 0
    table = Path(cron_env["FAKE_CRONTAB_FILE"]).read_text()
    assert table.count("dreamcli-schedule") == 1 and " 3 * * * " in table
    shown = json.loads(_cli(ws, cron_env, "show", "--json").stdout)
    assert shown["cron"].startswith("0 3 * * *") and shown["lock"].endswith("state/locks/dream.lock")
    assert Path(shown["log"]).parent.is_dir()
    r = _cli(ws, cron_env, "remove")
    assert r.returncode == 0, r.stderr
    assert Path(cron_env["FAKE_CRONTAB_FILE"]).read_text() == (
        "MAILTO=ana@example.org\n15 * * * * /usr/bin/backup  # the user's own line\n")
    assert "nothing was scheduled" in _cli(ws, cron_env, "remove").stderr


def test_the_installed_command_runs_under_a_bare_environment(ws: Workspace, cron_env: dict[str, str]) -> None:
    """What cron runs: the line's command with cron's environment (PATH=/usr/bin:/bin, no key)."""
    assert _cli(ws, cron_env, "install").returncode == 0
    line = next(x for x in Path(cron_env["FAKE_CRONTAB_FILE"]).read_text().splitlines() if "dreamcli-schedule" in x)
    command = line.split(" ", 5)[5].split("  # dreamcli-schedule")[0]
    bare = {"PATH": "/usr/bin:/bin", "HOME": cron_env["HOME"], "SHELL": "/bin/sh"}
    done = subprocess.run(["/bin/sh", "-c", command], env=bare, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    log = (ws.root / "state" / "logs" / "schedule.log").read_text()
    assert "dreamcli: not found" not in log


def test_bad_time_is_usage_error(ws: Workspace, cron_env: dict[str, str]) -> None:
    r = _cli(ws, cron_env, "install", "--at", "25:00")
    assert r.returncode == 2 and "HH:MM" in r.stderr
