"""`dreamcli doctor` checks: the installation, the workspace, the model settings and the agent tools.

Pure core: every check returns typed `Check` results (no printing, no Typer, no Rich). An exception
inside a check becomes a `fail` result with its one-line error (the exception is kept on `error`
for `--debug`). Nothing here prints, sends or stores a credential: only whether one is set.
"""

from __future__ import annotations

import contextlib
import os
import platform
import shlex
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from dreamcli import __version__, modelreach
from dreamcli.errors import DreamError
from dreamcli.modelclient import base_url_host
from dreamcli.store.url_text import redacted_url as redacted_url  # the store layer's; named here too
from dreamcli.versionspec import declared_ranges, normalize, spec_violation
from dreamcli.workspace.home import ENV_HOME, Workspace, check_home_usable, resolve_home

if TYPE_CHECKING:
    from dreamcli.agent.tools import Tool

Status = Literal["ok", "warn", "fail"]
KEY_DEPENDENCIES = ("anthropic", "typer", "rich", "pydantic", "pyyaml", "platformdirs", "filelock", "jsonschema")
TOOL_NAMES = ("bash", "read", "write", "edit", "glob", "grep", "memory")
DEBUG_FIX = "see the traceback: dreamcli --debug doctor"
_SOURCES = {"option": "from --home", "env": f"from ${ENV_HOME}", "local": "the nearest .dreamcli/ up from here",
            "default": f"the user data dir: no --home, ${ENV_HOME} or .dreamcli/"}


@dataclass(frozen=True)
class Check:
    """One line of the report. `fix` says what to do, in a few words, when the status is not ok."""

    name: str
    status: Status
    detail: str
    fix: str = ""
    error: BaseException | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "detail": self.detail, "fix": self.fix}


def passed(checks: Iterable[Check]) -> bool:
    """True when no check failed (warnings do not fail)."""
    return all(c.status != "fail" for c in checks)


def report(checks: list[Check]) -> dict[str, Any]:
    """The `--json` document."""
    return {"ok": passed(checks), "checks": [c.to_dict() for c in checks]}


def one_line(e: BaseException, limit: int = 300) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    text = text if isinstance(e, ProbeFailed | DreamError) else f"{type(e).__name__}: {text}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ProbeFailed(Exception):
    """A tool ran but did not do what it should have (its message is the one line shown)."""


def _guard(name: str, fn: Callable[[], list[Check]], fix: str = DEBUG_FIX, probe_fix: str = "") -> list[Check]:
    """Run one check; an exception becomes its `fail` line (a ProbeFailed one gets `probe_fix`)."""
    try:
        return fn()
    except Exception as e:
        return [Check(name, "fail", one_line(e), probe_fix if isinstance(e, ProbeFailed) and probe_fix else fix,
                      error=e)]


# --- the checks ----------------------------------------------------------------------------------

def check_dreamcli() -> list[Check]:
    detail = f"{__version__} ({Path(__file__).resolve().parent})"
    try:
        installed: str | None = metadata.version("dreamcli")
    except metadata.PackageNotFoundError:
        installed = None
    if installed == __version__:
        return [Check("dreamcli", "ok", detail)]
    why = "package metadata not found" if installed is None else f"but the metadata says {installed}"
    return [Check("dreamcli", "warn", f"{detail}, {why}", "reinstall: pip install -e . (in the checkout)")]


def check_python() -> list[Check]:
    try:
        spec = metadata.metadata("dreamcli")["Requires-Python"] or ">=3.11"
    except metadata.PackageNotFoundError:
        spec = ">=3.11"
    version = platform.python_version()
    if spec_violation(version, spec):
        return [Check("python", "fail", f"{version} (dreamcli needs {spec})", f"use Python {spec}")]
    return [Check("python", "ok", f"{version} ({platform.python_implementation()})")]


def check_dependencies() -> list[Check]:
    try:
        ranges = declared_ranges()
    except metadata.PackageNotFoundError:
        ranges = {}
    return [c for name in KEY_DEPENDENCIES for c in _guard(name, partial(check_dependency, name, ranges))]


def check_dependency(name: str, ranges: dict[str, str]) -> list[Check]:
    spec = ranges.get(normalize(name), "")
    install = f"pip install {shlex.quote(name + spec)}"
    try:
        version = metadata.version(name)
    except metadata.PackageNotFoundError:
        return [Check(name, "fail", "not installed" + (f" (needs {spec})" if spec else ""), install)]
    if not spec:
        return [Check(name, "ok", f"{version} (no declared range)")]
    try:
        broken = spec_violation(version, spec)
    except ValueError:
        return [Check(name, "warn", f"{version}; cannot check it against {spec}", f"check by hand: {install}")]
    if broken is None:
        return [Check(name, "ok", f"{version} (wants {spec})")]
    if broken.startswith("<"):  # newer than dreamcli was tested with: may work
        return [Check(name, "warn", f"{version} is newer than dreamcli supports ({spec})", install)]
    return [Check(name, "fail", f"{version} does not satisfy {spec}", install)]


def check_workspace(home: str | None, fix: bool = False) -> list[Check]:
    """Which workspace commands use and how it was found; when it exists, its permissions and config."""
    try:
        ws = resolve_home(home)
        where = f"{ws.root} ({_SOURCES.get(ws.source, ws.source)})"
        if not ws.exists():
            init = f"dreamcli --home {shlex.quote(str(ws.root))} init" if ws.source == "option" else "dreamcli init"
            return [Check("workspace", "warn", f"none yet at {where}", f"create one: {init}")]
        check_home_usable(ws.root)
    except DreamError as e:
        return [Check("workspace", "fail", one_line(e), f"fix it, or pass --home DIR / set ${ENV_HOME}", e)]
    return [Check("workspace", "ok", where), *_guard("permissions", partial(check_permissions, ws.root)),
            *_guard("state", partial(check_state_files, ws)), *_guard("config", partial(check_config, ws)),
            *_guard("sessions.url", partial(check_sessions_url, ws, fix))]


_STATE_FILES = ("config.yaml", "audit.jsonl", "grades/grades.jsonl", "state/audit-head.json",
                "state/sessions-index.sqlite", "state/grades-index.sqlite", "state/session-arrivals.jsonl")


def check_state_files(ws: Workspace) -> list[Check]:
    """Something other than a regular file (a directory, a FIFO, a device) where a file of the workspace
    belongs: the dream's state, the indexes, the audit head. Each stops the command that writes it."""
    from dreamcli.dream.journal import blocked_file

    paths = [ws.root / name for name in _STATE_FILES]
    dream_state = ws.state_dir / "dream"
    with contextlib.suppress(OSError):
        for folder in sorted(dream_state.iterdir()):
            if folder.is_dir() and not folder.is_symlink():
                paths += [folder / "watermark.json", folder / "aggregates.json"]
    blocked: list[tuple[Path, str]] = []
    for path in paths:
        try:
            kind = blocked_file(path)
        except OSError:
            continue
        if kind is not None:
            blocked.append((path, kind))
    if not blocked:
        return []  # a line only when something is wrong
    shown = ", ".join(f"{p} is {kind}" for p, kind in blocked[:3])
    more = f" and {len(blocked) - 3} more" if len(blocked) > 3 else ""
    q = shlex.quote(str(blocked[0][0]))
    return [Check("state", "fail", f"{shown}{more} (where a file belongs)",
                  f"move it away (mv {q} {q}.moved), then run the command again")]


def check_permissions(root: Path) -> list[Check]:
    """Directories 0700 and files 0600 (nothing readable by group or others); symlinks are skipped."""
    if os.name != "posix":
        return [Check("permissions", "ok", "not checked on this platform")]
    lax: list[tuple[Path, int, bool]] = []
    counts = [0, 0]
    for dirpath, _dirs, files in os.walk(root):
        d = Path(dirpath)
        for path, is_dir in ((d, True), *((d / f, False) for f in files)):
            try:
                mode = path.lstat().st_mode
            except OSError:
                continue  # removed while we walked
            if stat.S_ISLNK(mode):
                continue
            counts[0 if is_dir else 1] += 1
            if mode & 0o077:
                lax.append((path, stat.S_IMODE(mode), is_dir))
    if not lax:
        return [Check("permissions", "ok", f"{_n(counts[0], 'dir')} and {_n(counts[1], 'file')}, none open to others")]
    shown = ", ".join(f"{p.relative_to(root).as_posix() if p != root else '.'} {m:04o}" for p, m, _ in lax[:3])
    more = f" and {len(lax) - 3} more" if len(lax) > 3 else ""
    path, _, is_dir = lax[0]
    one = f"chmod {'700' if is_dir else '600'} {shlex.quote(str(path))}"
    fix = one if len(lax) == 1 else f"chmod -R go-rwx {shlex.quote(str(root))}"
    return [Check("permissions", "warn", f"open to group/others: {shown}{more}", fix)]


def _n(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def check_config(ws: Workspace) -> list[Check]:
    from dreamcli.config import load_config

    try:
        load_config(ws.config_path)  # a missing file means the defaults
    except DreamError as e:
        return [Check("config", "fail", one_line(e), "fix config.yaml (see docs/config.md)")]
    return [Check("config", "ok", "config.yaml valid" if ws.config_path.exists() else "no config.yaml (defaults)")]


def check_sessions_url(ws: Workspace, fix: bool = False) -> list[Check]:
    """Object storage for sessions (config sessions.url): a URL a run accepts (never printed with the user or
    password it carries), a supported scheme with its driver installed; then the sessions waiting to upload."""
    from dreamcli.config import load_config
    from dreamcli.store.schemes import check_scheme, missing_driver
    from dreamcli.store.url import check_url

    try:
        url = (load_config(ws.config_path).sessions.url or "").strip()
    except DreamError:
        return []  # the config line says what is wrong with it
    if not url:
        return []
    to_fix = "set sessions.url in config.yaml to a supported URL with no user, password or query"
    if (shown := redacted_url(url)) != url:  # said here: a store's message may quote the URL whole
        return [Check("sessions.url", "fail", f"{shown}: the sessions URL must not carry credentials or a query "
                      "(they come from AWS_* variables in the environment); run and dream refuse it", to_fix)]
    try:
        check_url(url)
        check_scheme(url)
    except DreamError as e:
        return [Check("sessions.url", "fail", one_line(e), to_fix)]
    missing = missing_driver(url)
    if missing is not None:
        return [Check("sessions.url", "fail", f"{url} needs {missing[0]}, which is not installed", missing[1])]
    return [Check("sessions.url", "ok", url), *_guard("uploads", partial(check_uploads, ws, url, fix))]


def check_uploads(ws: Workspace, url: str, fix: bool = False) -> list[Check]:
    """Sessions whose lines are not all in the bucket, from local files (a network call only to send them)."""
    from dreamcli.portability.arrivals import send_waiting, waiting_uploads

    waiting = waiting_uploads(ws, url)
    if not waiting.waiting:
        return [Check("uploads", "ok", waiting.describe() if waiting.busy else "no session waiting to upload")]
    again = f"dreamcli {'--home ' + shlex.quote(str(ws.root)) + ' ' if ws.source == 'option' else ''}doctor --fix"
    if not fix:
        return [Check("uploads", "warn", waiting.describe(), f"{again} sends them")]
    done = send_waiting(ws, url)
    status: Status = "fail" if done.failed else "ok"
    return [Check("uploads", status, done.describe(), f"check AWS_* and the endpoint, then {again}" if done.failed
                  else "")]


ENDPOINT_TIMEOUT_S = 3.0


def check_endpoint(called: modelreach.Reach | None) -> list[Check]:
    """The endpoint's URL, then what its call (`modelreach.reach`) gave: its time, or the HTTP status of an
    answer that is not a page (the endpoint is there), or why no answer came: a warning, as offline dreams
    and imports work. A call that broke (`error`) is this line's FAIL."""
    host = base_url_host()  # host and port only: never user:password or a path
    if host.startswith("("):
        return [Check("endpoint", "fail", "ANTHROPIC_BASE_URL is not a URL",
                      "set it like http://localhost:11434, or unset it")]
    custom = bool(os.environ.get("ANTHROPIC_BASE_URL"))
    where = f"{host} ({'ANTHROPIC_BASE_URL' if custom else 'default'})"
    if called is None:  # the credentials line warns: no command would call it
        return [Check("endpoint", "ok", f"{where}; not tried: no credentials to call it with")]
    if called.error is not None:
        raise called.error
    if called.failure:
        fix = "start the server, or fix ANTHROPIC_BASE_URL" if custom else "check the network and the firewall"
        proxy = "; a proxy is set: check *_PROXY and NO_PROXY" if modelreach.proxy_set() else ""
        return [Check("endpoint", "warn", f"{where}: cannot reach it ({called.failure}); offline dreams and "
                      "imports still work", fix + proxy)]
    see = ": see credentials" if called.refused else ""
    got = "answered" if called.status is None else f"reachable (HTTP {called.status}{see})"
    return [Check("endpoint", "ok", f"{where}, {got} in {called.took_s * 1000:.0f} ms")]


def check_credentials(called: modelreach.Reach | None = None) -> list[Check]:
    """Whether a key or a token is set (never a character of it); FAIL when the endpoint refused it."""
    names = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")
    found = [bool(os.environ.get(n)) for n in names]
    detail = ", ".join(f"{n} {'set' if f else 'not set'}" for n, f in zip(names, found, strict=True))
    if called is not None and called.refused:
        sent = next((n for n, f in zip(names, found, strict=True) if f), None)  # the one the client sends
        whom = "it" if sent else "a call without one"
        return [Check("credentials", "fail", f"{detail}; the endpoint refused {whom} (HTTP {called.status})",
                      f"check {sent}" if sent else "export ANTHROPIC_API_KEY")]
    if any(found):
        return [Check("credentials", "ok", detail)]
    if os.environ.get("ANTHROPIC_BASE_URL"):
        return [Check("credentials", "ok", detail + " (a local server may need none)")]
    return [Check("credentials", "warn", detail + " (offline commands still work)",
                  "export ANTHROPIC_API_KEY, or ANTHROPIC_BASE_URL for a local server")]


# --- the agent tools: a real no-op call of each in a throwaway directory --------------------------

_NOTE = "/memories/doctor.md"
_PROBE_FIX = {"bash": "check that /bin/bash runs: /bin/bash -c 'echo ok'"}
# per tool: what its line says when it works, and its calls: (input, text the output must contain)
_PROBES: dict[str, tuple[str, tuple[tuple[dict[str, Any], str], ...]]] = {
    "bash": ("ran `echo ok`", (({"command": "echo ok", "timeout_ms": 15_000}, "ok"),)),
    "read": ("read a file", (({"file_path": "doctor.txt"}, "ok"),)),
    "write": ("wrote a file", (({"file_path": "written.txt", "content": "ok\n"}, ""),)),
    "edit": ("edited a file", (({"file_path": "edit.txt", "old_string": "ok", "new_string": "done"}, ""),)),
    "glob": ("listed files", (({"pattern": "*.txt"}, "doctor.txt"),)),
    "grep": ("searched files", (({"pattern": "ok"}, "doctor.txt"),)),
    "memory": ("created, viewed and deleted a note", (({"command": "create", "path": _NOTE, "file_text": "ok\n"}, ""),
                                                      ({"command": "view", "path": _NOTE}, "ok"),
                                                      ({"command": "delete", "path": _NOTE}, ""))),
}


def _call(tool: Tool, input: dict[str, Any], want: str) -> None:
    result = tool.execute(input)
    text = result.content if isinstance(result.content, str) else str(result.content)
    label = f"memory {input['command']}" if tool.name == "memory" else tool.name
    if result.is_error:
        first = text.strip().splitlines()[0] if text.strip() else "(no message)"
        raise ProbeFailed(f"{label}: {result.error_kind}: {first}")
    if want not in text:
        raise ProbeFailed(f"{label}: the output lacks {want!r}")


def check_tool(name: str, ws: Workspace, workdir: Path) -> list[Check]:
    """Build the tool through the public registry, make its no-op calls, check what is left on disk."""
    from dreamcli.agent.approvals import Approvals
    from dreamcli.agent.tools import ToolEnv, Toolset
    from dreamcli.config import Config
    from dreamcli.ids import new_ulid

    detail, calls = _PROBES[name]
    env = ToolEnv(ws=ws, config=Config(), workdir=workdir, session_id=new_ulid(), approvals=Approvals(yes=True))
    toolset = Toolset([name], env)
    try:
        tool = toolset.get(name)
        if tool is None:
            raise ProbeFailed(f"the toolset has no {name!r} tool")
        for input, want in calls:
            _call(tool, input, want)
    finally:
        toolset.close()
    after = {"write": (workdir / "written.txt", "ok\n"), "edit": (workdir / "edit.txt", "done\n"),
             "memory": (ws.memories_root() / "doctor.md", None)}.get(name)
    if after is not None:
        path, expected = after
        have = path.read_text() if path.exists() else None
        if have != expected:
            raise ProbeFailed(f"{name}: {path.name} is {'missing' if have is None else 'not as expected'} afterwards")
    return [Check(f"tool {name}", "ok", detail)]


def check_tools(names: Iterable[str] = TOOL_NAMES) -> list[Check]:
    """One line per tool, each exercised in a fresh temp dir (removed afterwards) with a throwaway workspace."""
    tmp = Path(tempfile.mkdtemp(prefix="dreamcli-doctor-"))
    try:
        workdir = tmp / "work"
        workdir.mkdir(mode=0o700)
        for f in ("doctor.txt", "edit.txt"):
            (workdir / f).write_text("ok\n")
        ws = Workspace(tmp / "home", "option").ensure()  # throwaway: never the user's workspace or memory
        return [c for n in names for c in _guard(f"tool {n}", partial(check_tool, n, ws, workdir),
                                                 probe_fix=_PROBE_FIX.get(n, "check that TMPDIR is writable"))]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_checks(home: str | None = None, *, tools: Iterable[str] = TOOL_NAMES, fix: bool = False) -> list[Check]:
    """Every check, in report order. `home` is the --home option (None: the usual resolution). `fix` sends
    the sessions waiting to upload (the one thing doctor repairs)."""
    checks = [*_guard("dreamcli", check_dreamcli), *_guard("python", check_python),
              *_guard("dependencies", check_dependencies), *_guard("workspace", partial(check_workspace, home, fix))]
    called = modelreach.reach(ENDPOINT_TIMEOUT_S)  # the one call the endpoint and credentials lines read
    return [*checks, *_guard("endpoint", partial(check_endpoint, called)),
            *_guard("credentials", partial(check_credentials, called)),
            *_guard("tools", partial(check_tools, tools), fix="set TMPDIR to a writable directory")]
