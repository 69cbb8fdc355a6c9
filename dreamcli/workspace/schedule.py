r"""A nightly `dreamcli dream` that works under cron or a systemd user timer.

Cron runs with a bare PATH and no working directory of yours, so the scheduled command names
everything absolutely: the Python and dreamcli executables, the workspace (`--home`), the log file
(created 0600: the command starts with `umask 077;`, the unit also sets `UMask=0077`; `dream --timestamps`
dates each line it writes there, its error included), and waits for the workspace's dream lock (`--wait`)
instead of failing when a dream still runs. The crontab line ends with a marker naming the workspace, so
install replaces it (idempotent) and remove deletes only it; other lines of the user's crontab are kept
byte for byte (the crontab is split on `\n` only and read and written as bytes; non-UTF-8 bytes pass
through as surrogate escapes).

A path with a control character (a newline would start a crontab line of its own) is refused
(`check_paths`); `%`, which cron turns into a newline, is written `\%` in the crontab line and `%%`
(a systemd specifier otherwise) in the units.

    plan = plan_for(ws, at="03:00")
    new_text = with_line(current_crontab, plan)      # pure: install
    new_text = without_line(current_crontab, plan)   # pure: remove

A line or unit an earlier dreamcli installed (without `--timestamps`, say) keeps running as it was until
`schedule install` runs again: `outdated` says what it lacks, for `schedule show` and `doctor`, and never
rewrites the user's crontab itself.
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
from dreamcli.textnorm import has_line_breaking
from dreamcli.workspace.home import Workspace

MARKER = "# dreamcli-schedule"
# the shell's `>>` creates the log before dreamcli runs: with the umask cron or systemd gives (often 022)
# it would be 0644; the project's files are 0600
UMASK = "umask 077;"
LOCK_WAIT_S = 3600  # a dream still running from the night before: wait up to an hour for its lock
# what gives a process a model (dreamcli.modelclient.model_configured); a scheduled job gets none of your shell's
MODEL_VARIABLES = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL")
_ASSIGNMENT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")
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
        return [*head, "--home", str(self.workspace), "dream", "--quiet", "--wait", str(LOCK_WAIT_S), "--timestamps"]

    @property
    def path_env(self) -> str:
        dirs = dict.fromkeys([str(self.python.parent), *([str(self.dreamcli.parent)] if self.dreamcli else []),
                              "/usr/local/bin", "/usr/bin", "/bin"])
        return ":".join(dirs)

    @property
    def marker(self) -> str:
        """The marker as written in the crontab (`%` escaped, as the whole command is)."""
        return _cron_escape(self.raw_marker)

    @property
    def raw_marker(self) -> str:
        return f"{MARKER} {self.workspace}"

    @property
    def cron_line(self) -> str:
        command = " ".join(shlex.quote(a) for a in self.argv)
        return _cron_escape(f"{self.minute} {self.hour} * * * {UMASK} PATH={shlex.quote(self.path_env)} {command} "
                            f">> {shlex.quote(str(self.log))} 2>&1  {self.raw_marker}")

    @property
    def unit_name(self) -> str:
        return "dreamcli-dream-" + hashlib.sha256(str(self.workspace).encode()).hexdigest()[:8]

    def systemd_units(self) -> dict[str, str]:
        """The user service and timer (file name -> text)."""
        command = " ".join(shlex.quote(a) for a in self.argv)
        script = shlex.quote(f"{UMASK} {command} >> {shlex.quote(str(self.log))} 2>&1")
        where = _unit_escape(str(self.workspace))
        service = (f"[Unit]\nDescription=dreamcli dream for {where}\n\n[Service]\nType=oneshot\nUMask=0077\n"
                   f"Environment={_unit_quote('PATH=' + self.path_env)}\n"
                   f"ExecStart=/bin/sh -c {_unit_escape(script, exec_line=True)}\n")
        timer = (f"[Unit]\nDescription=dreamcli dream for {where}, daily\n\n[Timer]\n"
                 f"OnCalendar=*-*-* {self.hour:02d}:{self.minute:02d}:00\nPersistent=true\n\n"
                 "[Install]\nWantedBy=timers.target\n")
        return {f"{self.unit_name}.service": service, f"{self.unit_name}.timer": timer}


def _cron_escape(text: str) -> str:
    """cron turns an unescaped `%` of the command into a newline (and cuts the command there)."""
    return text.replace("%", "\\%")


def _unit_escape(text: str, *, exec_line: bool = False) -> str:
    """A value of a unit file: `%` specifiers doubled; on an Exec line also backslashes (C escapes) and `$`
    (environment variables)."""
    if exec_line:
        text = text.replace("\\", "\\\\").replace("$", "$$")
    return text.replace("%", "%%")


def _unit_quote(assignment: str) -> str:
    return '"' + _unit_escape(assignment.replace("\\", "\\\\").replace('"', '\\"')) + '"'


def check_paths(plan: Plan) -> None:
    """UsageError (exit 2) for a path the scheduled command cannot name safely: a newline in a crontab
    line starts a job of its own, and neither cron nor systemd has a way to quote one."""
    for what, path in (("workspace", plan.workspace), ("Python executable", plan.python),
                       ("dreamcli executable", plan.dreamcli), ("log", plan.log)):
        if path is not None and has_line_breaking(str(path)):
            raise UsageError(f"cannot schedule: the {what} path {str(path)!r} holds a control character "
                             "(a newline?), which a crontab line or unit file cannot hold; move or rename it")


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

def _lines(crontab: str) -> list[str]:
    """The lines of a crontab, split on `\n` only (a CR, form feed or NEL inside a line is the user's)."""
    lines = crontab.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _is_ours(line: str, plan: Plan) -> bool:
    end = line.rstrip()
    # the raw marker: a line an older dreamcli wrote without escaping `%`
    return end.endswith(plan.marker) or end.endswith(plan.raw_marker)


def find_line(crontab: str, plan: Plan) -> str | None:
    return next((line for line in _lines(crontab) if _is_ours(line, plan)), None)


def with_line(crontab: str, plan: Plan) -> str:
    """The crontab with this workspace's line installed (replacing an older one), the rest kept."""
    lines = [line for line in _lines(crontab) if not _is_ours(line, plan)]
    return "\n".join([*lines, plan.cron_line]) + "\n"


def without_line(crontab: str, plan: Plan) -> str:
    lines = [line for line in _lines(crontab) if not _is_ours(line, plan)]
    return "\n".join(lines) + "\n" if lines else ""


# what `install` writes now that a line or unit of an earlier dreamcli lacks: (its text, what it gives)
_NEWER = ((("--timestamps",), "each log line dated"), (("umask 077;", "UMask=0077"), "the log created 0600"))
_ON_CALENDAR = re.compile(r"^OnCalendar=\*-\*-\* (\d\d):(\d\d):00$", re.M)


@dataclass(frozen=True)
class Outdated:
    """An installed schedule that differs from what `schedule install` writes now (an earlier dreamcli wrote it)."""

    scheduler: str  # cron or systemd
    lacks: tuple[str, ...]  # what it lacks, in words
    at: str | None  # its time of day (HH:MM), kept by the refresh; None: not a time install writes

    def refresh(self, home: str | None = None) -> str:
        """The command that rewrites it, at the same time (`home`: the --home to name)."""
        words = ["dreamcli", *(["--home", shlex.quote(home)] if home else []), "schedule", "install"]
        words += ["--at", self.at] if self.at else []
        words += ["--with", "systemd"] if self.scheduler == "systemd" else []
        return " ".join(words)

    def problem(self) -> str:
        what = "crontab line" if self.scheduler == "cron" else "systemd service"
        return f"the installed {what} is out of date ({'; '.join(self.lacks)})"

    def message(self, home: str | None = None) -> str:
        return f"{self.problem()}; `{self.refresh(home)}` refreshes it"

    def to_json(self, home: str | None = None) -> dict[str, object]:
        return {"scheduler": self.scheduler, "lacks": list(self.lacks), "at": self.at, "refresh": self.refresh(home)}


def _after_time(line: str) -> str:
    """A crontab line without its five time fields."""
    parts = line.split(None, 5)
    return parts[5].rstrip() if len(parts) == 6 else line.rstrip()


def _lacks(have: str, want: str) -> tuple[str, ...]:
    if have == want:
        return ()
    missing = tuple(f"no {gone[0]}: {gives}" for pieces, gives in _NEWER
                    if (gone := [p for p in pieces if p in want and p not in have]))
    return missing or ("its command is not the one `schedule install` writes now (another dreamcli or Python?)",)


def cron_at(line: str) -> str | None:
    """The time of day of a daily crontab line (`M H * * *`), as HH:MM; None for any other schedule."""
    fields = line.split(None, 5)
    if len(fields) < 6 or fields[2:5] != ["*", "*", "*"] or not (fields[0].isdigit() and fields[1].isdigit()):
        return None
    hour, minute = int(fields[1]), int(fields[0])
    return f"{hour:02d}:{minute:02d}" if hour < 24 and minute < 60 else None


def sets_model(assignments: str) -> bool:
    """Whether lines of `NAME=value` (a crontab's environment lines, `systemctl --user show-environment`) give a
    model variable a value; job lines and comments are not assignments."""
    for line in _lines(assignments):
        m = _ASSIGNMENT.match(line)
        if m and m.group(1) in MODEL_VARIABLES and m.group(2).strip("'\""):
            return True
    return False


def offline_warning(kind: str) -> str:
    """What `schedule install` says when no model variable reaches the job (dreamcli stores no key)."""
    job, where = (("a cron job", "is set in the crontab") if kind == "cron" else
                  ("a systemd user service",
                   "is in the systemd user manager's environment (`systemctl --user show-environment`)"))
    return (f"the nightly dream will run offline (entries written from templates): {job} does not get your "
            f"shell's environment, and no {', '.join(MODEL_VARIABLES[:-1])} or {MODEL_VARIABLES[-1]} {where}")


# --- the system's scheduler ----------------------------------------------------------------------

def read_crontab() -> str:
    exe = shutil.which("crontab")
    if exe is None:
        raise DreamError("no `crontab` command here; use --with systemd, or add the line shown by "
                         "`dreamcli schedule show` to your scheduler")
    out = subprocess.run([exe, "-l"], capture_output=True, check=False)
    err = _text(out.stderr)
    if out.returncode != 0:
        if "no crontab" in err.lower():
            return ""
        raise DreamError(f"crontab -l failed: {err or out.returncode}")
    return out.stdout.decode("utf-8", "surrogateescape")


def _text(raw: bytes) -> str:
    """A tool's stderr as one line."""
    return " ".join(raw.decode("utf-8", "replace").split())


def write_crontab(text: str) -> None:
    exe = shutil.which("crontab")
    if exe is None:
        raise DreamError("no `crontab` command here")
    out = subprocess.run([exe, "-"], input=text.encode("utf-8", "surrogateescape"), capture_output=True,
                         check=False)
    if out.returncode != 0:
        raise DreamError(f"crontab - failed: {_text(out.stderr) or out.returncode}")


def systemd_user_works() -> bool:
    return systemd_environment() is not None


def systemd_environment() -> str | None:
    """The user manager's environment (`systemctl --user show-environment`), which its services get; None when
    `systemctl --user` does not work here."""
    exe = shutil.which("systemctl")
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "--user", "show-environment"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout if out.returncode == 0 else None


def systemd_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "systemd" / "user"


def _systemctl(*args: str) -> None:
    exe = shutil.which("systemctl") or "systemctl"
    try:
        out = subprocess.run([exe, "--user", *args], capture_output=True, check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise DreamError(f"systemctl --user {' '.join(args)} failed: {e}") from None
    if out.returncode != 0:
        raise DreamError(f"systemctl --user {' '.join(args)} failed: {_text(out.stderr) or out.returncode}")


def install_systemd(plan: Plan) -> list[Path]:
    """Write and enable the units. `systemctl --user` is checked first (no user bus: nothing written),
    and units this call wrote are removed again when enabling them fails."""
    if not systemd_user_works():
        raise UsageError("`systemctl --user` does not work here (no user session bus?); nothing was written. "
                         "Use --with cron, or add the line of `dreamcli schedule show` to your scheduler")
    folder = systemd_dir()
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    try:
        for name, text in plan.systemd_units().items():
            path = folder / name
            if not path.exists():
                written.append(path)
            path.write_bytes(text.encode("utf-8", "surrogateescape"))
        _systemctl("daemon-reload")
        _systemctl("enable", "--now", f"{plan.unit_name}.timer")
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return [folder / name for name in plan.systemd_units()]


def remove_systemd(plan: Plan) -> tuple[list[Path], str | None]:
    """Disable and delete the units; they are deleted even when disabling fails. Returns the units
    removed and, when `systemctl` failed, what it said (one line)."""
    paths = installed_systemd(plan)
    if not paths:
        return [], None
    problem = None
    try:
        _systemctl("disable", "--now", f"{plan.unit_name}.timer")
    except DreamError as e:
        problem = str(e)
    for p in paths:
        p.unlink(missing_ok=True)
    if problem is None:
        try:
            _systemctl("daemon-reload")
        except DreamError as e:
            problem = str(e)
    return paths, problem


def installed_systemd(plan: Plan) -> list[Path]:
    return [p for p in (systemd_dir() / name for name in plan.systemd_units()) if os.path.lexists(p)]


def outdated(plan: Plan, cron_line: str | None) -> list[Outdated]:
    """The installed crontab line (`find_line`'s) and systemd service of this workspace that `schedule install`
    would write otherwise now, whatever their time of day: read only, never rewritten here."""
    found: list[Outdated] = []
    if cron_line is not None and (lacks := _lacks(_after_time(cron_line), _after_time(plan.cron_line))):
        found.append(Outdated("cron", lacks, cron_at(cron_line)))
    service = systemd_dir() / f"{plan.unit_name}.service"
    try:
        have = service.read_bytes().decode("utf-8", "surrogateescape")
    except OSError:  # none installed (or out of reach: `show` lists it, doctor says nothing more)
        return found
    if lacks := _lacks(have, plan.systemd_units()[service.name]):
        found.append(Outdated("systemd", lacks, systemd_at(plan)))
    return found


def systemd_at(plan: Plan) -> str | None:
    """The time of day of the installed timer (HH:MM), None when it has no `OnCalendar` install writes."""
    try:
        m = _ON_CALENDAR.search((systemd_dir() / f"{plan.unit_name}.timer").read_text(errors="replace"))
    except OSError:
        return None
    return f"{m.group(1)}:{m.group(2)}" if m else None
