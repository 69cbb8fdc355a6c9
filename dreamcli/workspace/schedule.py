"""A nightly `dreamcli dream` that works under cron or a systemd user timer.

Cron runs with a bare PATH and no working directory of yours, so the scheduled command names
everything absolutely: the Python and dreamcli executables, the workspace (`--home`), the log file,
and waits for the workspace's dream lock (`--wait`) instead of failing when a dream still runs. The
crontab line ends with a marker naming the workspace, so install replaces it (idempotent) and
remove deletes only it; other lines of the user's crontab are kept as they are.

    plan = plan_for(ws, at="03:00")
    new_text = with_line(current_crontab, plan)      # pure: install
    new_text = without_line(current_crontab, plan)   # pure: remove
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from dreamcli.errors import DreamError, UsageError
from dreamcli.workspace.home import Workspace

MARKER = "# dreamcli-schedule"
LOCK_WAIT_S = 3600  # a dream still running from the night before: wait up to an hour for its lock
_AT = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class Plan:
    workspace: Path
    python: Path
    dreamcli: Path | None
    log: Path
    lock: Path
    minute: int
    hour: int

    @property
    def argv(self) -> list[str]:
        """The command, absolute: dreamcli's own executable, else the Python that has it installed."""
        head = [str(self.dreamcli)] if self.dreamcli else [str(self.python), "-m", "dreamcli"]
        return [*head, "--home", str(self.workspace), "dream", "--quiet", "--wait", str(LOCK_WAIT_S)]

    @property
    def path_env(self) -> str:
        dirs = dict.fromkeys([str(self.python.parent), *([str(self.dreamcli.parent)] if self.dreamcli else []),
                              "/usr/local/bin", "/usr/bin", "/bin"])
        return ":".join(dirs)

    @property
    def marker(self) -> str:
        return f"{MARKER} {self.workspace}"

    @property
    def cron_line(self) -> str:
        command = " ".join(shlex.quote(a) for a in self.argv)
        return (f"{self.minute} {self.hour} * * * PATH={shlex.quote(self.path_env)} {command} "
                f">> {shlex.quote(str(self.log))} 2>&1  {self.marker}")

    @property
    def unit_name(self) -> str:
        return "dreamcli-dream-" + hashlib.sha256(str(self.workspace).encode()).hexdigest()[:8]

    def systemd_units(self) -> dict[str, str]:
        """The user service and timer (file name -> text)."""
        command = " ".join(shlex.quote(a) for a in self.argv)
        service = (f"[Unit]\nDescription=dreamcli dream for {self.workspace}\n\n[Service]\nType=oneshot\n"
                   f"Environment=PATH={self.path_env}\n"
                   f"ExecStart=/bin/sh -c {shlex.quote(command + ' >> ' + shlex.quote(str(self.log)) + ' 2>&1')}\n")
        timer = (f"[Unit]\nDescription=dreamcli dream for {self.workspace}, daily\n\n[Timer]\n"
                 f"OnCalendar=*-*-* {self.hour:02d}:{self.minute:02d}:00\nPersistent=true\n\n"
                 "[Install]\nWantedBy=timers.target\n")
        return {f"{self.unit_name}.service": service, f"{self.unit_name}.timer": timer}


def parse_at(at: str) -> tuple[int, int]:
    m = _AT.match(at.strip())
    if not m:
        raise UsageError(f"--at {at!r}: give a time of day as HH:MM (24-hour), e.g. 03:00")
    return int(m.group(1)), int(m.group(2))


def plan_for(ws: Workspace, *, at: str = "03:00") -> Plan:
    hour, minute = parse_at(at)
    python = Path(sys.executable).absolute()
    found = shutil.which("dreamcli", path=str(python.parent)) or shutil.which("dreamcli")
    return Plan(workspace=ws.root.absolute(), python=python, dreamcli=Path(found).absolute() if found else None,
                log=(ws.logs_dir / "schedule.log").absolute(), lock=(ws.locks_dir / "dream.lock").absolute(),
                minute=minute, hour=hour)


# --- crontab text (pure) ------------------------------------------------------------------------

def _is_ours(line: str, plan: Plan) -> bool:
    return line.rstrip().endswith(plan.marker)


def find_line(crontab: str, plan: Plan) -> str | None:
    return next((line for line in crontab.splitlines() if _is_ours(line, plan)), None)


def with_line(crontab: str, plan: Plan) -> str:
    """The crontab with this workspace's line installed (replacing an older one), the rest kept."""
    lines = [line for line in crontab.splitlines() if not _is_ours(line, plan)]
    return "\n".join([*lines, plan.cron_line]) + "\n"


def without_line(crontab: str, plan: Plan) -> str:
    lines = [line for line in crontab.splitlines() if not _is_ours(line, plan)]
    return "\n".join(lines) + "\n" if lines else ""


# --- the system's scheduler ----------------------------------------------------------------------

def read_crontab() -> str:
    exe = shutil.which("crontab")
    if exe is None:
        raise DreamError("no `crontab` command here; use --with systemd, or add the line shown by "
                         "`dreamcli schedule show` to your scheduler")
    out = subprocess.run([exe, "-l"], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        if "no crontab" in out.stderr.lower():
            return ""
        raise DreamError(f"crontab -l failed: {out.stderr.strip() or out.returncode}")
    return out.stdout


def write_crontab(text: str) -> None:
    exe = shutil.which("crontab")
    if exe is None:
        raise DreamError("no `crontab` command here")
    out = subprocess.run([exe, "-"], input=text, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise DreamError(f"crontab - failed: {out.stderr.strip() or out.returncode}")


def systemd_user_works() -> bool:
    exe = shutil.which("systemctl")
    if exe is None:
        return False
    try:
        out = subprocess.run([exe, "--user", "show-environment"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0


def systemd_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "systemd" / "user"


def _systemctl(*args: str) -> None:
    out = subprocess.run(["systemctl", "--user", *args], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise DreamError(f"systemctl --user {' '.join(args)} failed: {out.stderr.strip() or out.returncode}")


def install_systemd(plan: Plan) -> list[Path]:
    folder = systemd_dir()
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in plan.systemd_units().items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    _systemctl("daemon-reload")
    _systemctl("enable", "--now", f"{plan.unit_name}.timer")
    return written


def remove_systemd(plan: Plan) -> list[Path]:
    folder = systemd_dir()
    paths = [folder / name for name in plan.systemd_units()]
    if not any(p.exists() for p in paths):
        return []
    _systemctl("disable", "--now", f"{plan.unit_name}.timer")
    for p in paths:
        p.unlink(missing_ok=True)
    _systemctl("daemon-reload")
    return paths


def installed_systemd(plan: Plan) -> list[Path]:
    return [p for p in (systemd_dir() / name for name in plan.systemd_units()) if p.exists()]
