"""`doctor`'s checks of the workspace: which one commands use and how it was found; when it exists, its
permissions, the file system under it (`disk`), state files blocked by something else, its config, the sessions
store (`sessions.url`, `uploads`) and the nightly dream (`schedule`)."""

from __future__ import annotations

import contextlib
import os
import shlex
import stat
from functools import partial
from itertools import pairwise
from pathlib import Path

from dreamcli.doctor.disk import check_disk
from dreamcli.doctor.report import Check, Progress, Status, guard, one_line, plural
from dreamcli.doctor.schedule import check_schedule
from dreamcli.errors import DreamError
from dreamcli.store.url_text import redacted_url
from dreamcli.workspace.deeptree import walk
from dreamcli.workspace.home import ENV_HOME, Workspace, check_home_usable, resolve_home
from dreamcli.workspace.workdirs import WORKDIRS

_SOURCES = {"option": "from --home", "env": f"from ${ENV_HOME}", "local": "the nearest .dreamcli/ up from here",
            "default": f"the user data dir: no --home, ${ENV_HOME} or .dreamcli/"}


def check_workspace(home: str | None, fix: bool = False, progress: Progress | None = None) -> list[Check]:
    """Which workspace commands use and how it was found; when it exists, its permissions and config.
    `progress` is told how the sending of `fix` goes (`check_uploads`)."""
    try:
        ws = resolve_home(home)
        where = f"{ws.root} ({_SOURCES.get(ws.source, ws.source)})"
        if not ws.exists():
            init = f"dreamcli --home {shlex.quote(str(ws.root))} init" if ws.source == "option" else "dreamcli init"
            return [Check("workspace", "warn", f"none yet at {where}", f"create one: {init}")]
        check_home_usable(ws.root)
    except DreamError as e:
        return [Check("workspace", "fail", one_line(e), f"fix it, or pass --home DIR / set ${ENV_HOME}", e)]
    return [Check("workspace", "ok", where), *guard("permissions", partial(check_permissions, ws.root)),
            *guard("disk", partial(check_disk, ws)), *guard("state", partial(check_state_files, ws)),
            *guard("config", partial(check_config, ws)),
            *guard("sessions.url", partial(check_sessions_url, ws, fix, progress)),
            *guard("schedule", partial(check_schedule, ws))]


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
    """Directories 0700 and files 0600: nothing readable by group or others (a warning), and nothing this user
    cannot write (a failure: the command that writes there stops, as `approve` does on a 0500 `playbooks/`).
    Symlinks are skipped; so are git's objects and what is inside a copied workdir, for being read-only
    (`_own_choice`)."""
    if os.name != "posix":
        return [Check("permissions", "ok", "not checked on this platform")]
    lax: list[tuple[Path, int, bool]] = []
    locked: list[tuple[Path, int]] = []
    counts = [0, 0]
    for dirpath, _dirs, files in walk(root):  # os.walk recurses: a tree 1,000 folders deep would end it
        d = Path(dirpath)
        for path, is_dir in ((d, True), *((d / f, False) for f in files)):
            try:
                st = path.lstat()
            except OSError:
                continue  # removed while we walked
            if stat.S_ISLNK(st.st_mode):
                continue
            counts[0 if is_dir else 1] += 1
            if st.st_mode & 0o077:
                lax.append((path, stat.S_IMODE(st.st_mode), is_dir))
            if not _writable(path, st.st_mode) and not _own_choice(path, root, is_dir):
                locked.append((path, stat.S_IMODE(st.st_mode)))
    if not lax and not locked:
        return [Check("permissions", "ok", f"{plural(counts[0], 'dir')} and {plural(counts[1], 'file')}, "
                                           "none open to others, all writable by this user")]
    if not locked:
        return [_open_to_others(root, lax)]
    check = _not_writable(root, locked)
    if lax:  # one line per check: both findings on it, the failure first
        also = _open_to_others(root, lax)
        check = Check("permissions", "fail", f"{check.detail}; {also.detail}", f"{check.fix}; {also.fix}")
    return [check]


def _writable(path: Path, mode: int) -> bool:
    """The owner's write bit set and the system agreeing (root may write without the bit: still reported)."""
    return bool(mode & stat.S_IWUSR) and os.access(path, os.W_OK, follow_symlinks=False)


# What dreamcli writes at the workspace's top (docs/workspace.md); anything else there is the user's own (a
# folder adopted by `--home DIR init` keeps its files), and so is what is inside a copied workdir
LAYOUT = frozenset({"config.yaml", "audit.jsonl", "state", "sessions", "memory", "playbooks", "dreams", "grades",
                    WORKDIRS})


def _own_choice(path: Path, root: Path, is_dir: bool) -> bool:
    """Read-only by someone's choice, not a fault dreamcli would stop on: a file or folder of the user's
    (not in LAYOUT), what is inside a task's copied workdir (`workdirs/<task>-<id>/`: the project's files
    and what the agent made), and git's object files."""
    parts = path.relative_to(root).parts
    if parts and (parts[0] not in LAYOUT or (len(parts) > 2 and parts[0] == WORKDIRS)):
        return True
    return not is_dir and any(a == ".git" and b == "objects" for a, b in pairwise(parts))


def _shown(root: Path, found: list[tuple[Path, int]]) -> str:
    shown = ", ".join(f"{p.relative_to(root).as_posix() if p != root else '.'} {m:04o}" for p, m in found[:3])
    return shown + (f" and {len(found) - 3} more" if len(found) > 3 else "")


def _open_to_others(root: Path, lax: list[tuple[Path, int, bool]]) -> Check:
    path, _, is_dir = lax[0]
    one = f"chmod {'700' if is_dir else '600'} {shlex.quote(str(path))}"
    fix = one if len(lax) == 1 else f"chmod -R go-rwx {shlex.quote(str(root))}"
    return Check("permissions", "warn", f"open to group/others: {_shown(root, [(p, m) for p, m, _ in lax])}", fix)


def _not_writable(root: Path, locked: list[tuple[Path, int]]) -> Check:
    """Named with its mode, and the chmod that gives the owner back write (a chown first when another user
    owns it: chmod is theirs to run)."""
    paths = " ".join(shlex.quote(str(p)) for p, _ in locked) if len(locked) <= 3 else None
    fix = f"chmod u+w {paths}" if paths else f"chmod -R u+w {shlex.quote(str(root))}"
    others = [p for p, _ in locked if _owner(p) not in (None, os.geteuid())]
    if others:
        fix = f"sudo chown -R \"$(id -un)\" {shlex.quote(str(root))}, then {fix}"
    return Check("permissions", "fail", f"not writable by this user: {_shown(root, locked)}", fix)


def _owner(path: Path) -> int | None:
    try:
        return path.lstat().st_uid
    except OSError:
        return None


def check_config(ws: Workspace) -> list[Check]:
    from dreamcli.config import load_config

    try:
        load_config(ws.config_path)  # a missing file means the defaults
    except DreamError as e:
        return [Check("config", "fail", one_line(e), "fix config.yaml (see docs/config.md)")]
    return [Check("config", "ok", "config.yaml valid" if ws.config_path.exists() else "no config.yaml (defaults)")]


def check_sessions_url(ws: Workspace, fix: bool = False, progress: Progress | None = None) -> list[Check]:
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
    return [Check("sessions.url", "ok", url), *guard("uploads", partial(check_uploads, ws, url, fix, progress))]


def check_uploads(ws: Workspace, url: str, fix: bool = False, progress: Progress | None = None) -> list[Check]:
    """Sessions whose lines are not all in the bucket, from local files (a network call only to send them).
    With `fix` they are sent, `progress(done, total)` told after each session."""
    from dreamcli.portability.arrivals import send_waiting, waiting_uploads

    waiting = waiting_uploads(ws, url)
    if not waiting.waiting:
        return [Check("uploads", "ok", waiting.describe() if waiting.busy else "no session waiting to upload")]
    again = f"dreamcli {'--home ' + shlex.quote(str(ws.root)) + ' ' if ws.source == 'option' else ''}doctor --fix"
    if not fix:
        return [Check("uploads", "warn", waiting.describe(), f"{again} sends them")]
    done = send_waiting(ws, url, progress=progress)
    status: Status = "fail" if done.failed else "ok"
    return [Check("uploads", status, done.describe(), f"check AWS_* and the endpoint, then {again}" if done.failed
                  else "")]
