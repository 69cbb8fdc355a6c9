r"""A nightly `dreamcli dream` that works under cron or a systemd user timer.

Cron runs with a bare PATH and no working directory of yours, so the scheduled command names
everything absolutely: the Python and dreamcli executables, the workspace (`--home`), the log file
(created 0600: the command starts with `umask 077;`, the unit also sets `UMask=0077`; `dream --timestamps`
dates each line it writes there, its error included), and waits for the workspace's dream lock (`--wait`)
instead of failing when a dream still runs. The crontab line ends with a marker naming the workspace, so
install replaces it (idempotent; any other marked line too, a commented-out copy say: one line is left) and
remove deletes only marked lines (`find_line`: the one that runs, else a commented-out one); other lines of the
user's crontab are kept byte for byte (the crontab is split on `\n` only and read and written as bytes;
non-UTF-8 bytes pass through as surrogate escapes).

A path with a control character (a newline would start a crontab line of its own) is refused
(`check_paths`); `%`, which cron turns into a newline, is written `\%` in the crontab line and `%%`
(a systemd specifier otherwise) in the units.

    plan = plan_for(ws, at="03:00")
    new_text = with_line(current_crontab, plan)      # pure: install
    new_text = without_line(current_crontab, plan)   # pure: remove

A line or unit an earlier dreamcli installed (without `--timestamps`, say) keeps running as it was until
`schedule install` runs again: `schedule_drift.outdated` says what it lacks, for `schedule show` and `doctor`,
and never rewrites the user's crontab itself. `crontab` gets CRONTAB_TIMEOUT_S to answer (a hung user lookup
would otherwise hang `doctor` and every `schedule` command): then `NoAnswer`, one line.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dreamcli.errors import DreamError, UsageError
from dreamcli.textnorm import has_line_breaking
from dreamcli.workspace.home import Workspace

MARKER = "# dreamcli-schedule"
# the shell's `>>` creates the log before dreamcli runs: with the umask cron or systemd gives (often 022)
# it would be 0644; the project's files are 0600
UMASK = "umask 077;"
CRONTAB_TIMEOUT_S = 5.0  # `crontab -l` or `crontab -` that does not answer (a hung NSS/LDAP lookup, a lock)
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


def commented(line: str) -> bool:
    """Whether a crontab line is commented out (cron never runs it)."""
    return line.lstrip().startswith("#")


def find_lines(crontab: str, plan: Plan) -> list[str]:
    """Every line of the crontab that ends with the workspace's marker, commented out or not, in order."""
    return [line for line in _lines(crontab) if _is_ours(line, plan)]


def chosen_line(lines: list[str]) -> str | None:
    """The line that stands for the workspace's schedule among its marked lines: the first one that runs, else
    (all commented out: disabled) the first one. A commented-out copy above the running line does not hide it."""
    return next((line for line in lines if not commented(line)), lines[0] if lines else None)


def find_line(crontab: str, plan: Plan) -> str | None:
    return chosen_line(find_lines(crontab, plan))


def with_line(crontab: str, plan: Plan) -> str:
    """The crontab with this workspace's line installed (replacing every marked line: an older one, a commented-out
    copy), the rest kept."""
    lines = [line for line in _lines(crontab) if not _is_ours(line, plan)]
    return "\n".join([*lines, plan.cron_line]) + "\n"


def without_line(crontab: str, plan: Plan) -> str:
    """The crontab without any marked line of this workspace (commented out or not), the rest kept."""
    lines = [line for line in _lines(crontab) if not _is_ours(line, plan)]
    return "\n".join(lines) + "\n" if lines else ""


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

class NoAnswer(DreamError):
    """`crontab` did not answer in CRONTAB_TIMEOUT_S (it was killed, with what it started)."""


def _crontab(args: list[str], data: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run `crontab ARGS` in a session of its own, killed with all it started when it does not answer in time."""
    exe = shutil.which("crontab")
    if exe is None:  # a tool the command needs is missing: exit 2, as for `systemctl --user` and `--with auto`
        raise UsageError("no `crontab` command here; use --with systemd, or add the line shown by "
                         "`dreamcli schedule show` to your scheduler")
    with subprocess.Popen([exe, *args], stdin=subprocess.PIPE if data is not None else subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True) as proc:
        try:
            out, err = proc.communicate(data, timeout=CRONTAB_TIMEOUT_S)
        except BaseException as e:  # the timeout, or Ctrl-C: not left running (nor waited for) in its session
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            if not isinstance(e, subprocess.TimeoutExpired):
                raise
            change = "" if data is None else "; the crontab may not have changed: check it with `crontab -l`"
            raise NoAnswer(f"crontab {' '.join(args)} did not answer in {CRONTAB_TIMEOUT_S:g} s (a hung user "
                           f"lookup, a lock?){change}") from None
    return subprocess.CompletedProcess([exe, *args], proc.returncode, out, err)


def read_crontab() -> str:
    out = _crontab(["-l"])
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
    out = _crontab(["-"], text.encode("utf-8", "surrogateescape"))
    if out.returncode != 0:
        raise DreamError(f"crontab - failed: {_text(out.stderr) or out.returncode}")


def continued(text: str) -> str:
    """A unit file's text with each line that ends in a `\\` (not an escaped one, `\\\\`) joined to the next line,
    the `\\` made a blank, as systemd reads it, so that a piece of a value is never read as a line (a key) of its
    own. A comment line (`#`, `;`) is never continued nor continues one: systemd skips it, the diff keeps it."""
    lines: list[str] = []
    held: str | None = None
    for line in text.split("\n"):
        if line.lstrip().startswith(("#", ";")):
            lines.append(line)
            continue
        line = (held or "") + line.removesuffix("\r")
        held = line[:-1] + " " if (len(line) - len(line.rstrip("\\"))) % 2 else None
        if held is None:
            lines.append(line)
    return "\n".join(lines if held is None else [*lines, held])


def uncommented(command: str) -> str:
    """A shell command without its comment: from the first `#` that begins a word (after a blank, or first),
    outside quotes, backquotes and `${…}`, and not escaped, as the shell reads it (`x#a` is a word, `'#x'`,
    `\\#x`, `a\\ #x` and `${u:-a #b}` are not comments)."""
    quote, escaped, before, braces = "", False, " ", 0
    for at, char in enumerate(command):
        if escaped:
            escaped, char = False, "\\"  # an escaped blank or `;` begins no word
        elif quote:
            quote = "" if char == quote else quote
            escaped = char == "\\" and quote in "\"`"
        elif char == "\\":
            escaped = True
        elif char in "'\"`":
            quote = char
        elif (char == "{" and before == "$") or (char == "}" and braces):
            braces += 1 if char == "{" else -1
        elif char == "#" and not braces and before in " \t\n;&|()<>":
            return command[:at]
        before = char
    return command


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


def install_systemd(plan: Plan, before_write: Callable[[], None] | None = None) -> list[Path]:
    """Write and enable the units. `systemctl --user` is checked first (no user bus: nothing written), then
    `before_write` is called (install's warning of what it drops), and units this call wrote are removed again
    when enabling them fails."""
    if not systemd_user_works():
        raise UsageError("`systemctl --user` does not work here (no user session bus?); nothing was written. "
                         "Use --with cron, or add the line of `dreamcli schedule show` to your scheduler")
    if before_write is not None:
        before_write()
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
