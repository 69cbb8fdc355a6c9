"""The agent's shells, recorded by their owner, and the sweep that stops what a killed owner left running.

The agent's shells run in sessions of their own (so a timeout or Ctrl-C stops all they started), and nothing ties
them to dreamcli: killed with -9, it leaves them and what they run (`sleep 1000`, a server started with `&`)
running. Each shell is recorded while it runs, `record_group(folder, pgid, tag)`, one small file per shell named
`<owner pid>-<pgid>.json`, removed by `forget_group` once the shell is stopped; the next command's sweep calls
`stop_orphaned_groups(folder)`, which stops what the shells of owners that no longer run still run. Both the owner
and the shell are known by their pid and start time (a pid the system gave to another process since is neither).
A shell's processes (`stop_members`) are the shell itself and every process of this user started since that carries
its tag (the environment variable GROUP_TAG_VAR, set to a random value for each shell, which all it starts inherit),
in its session or not: the shell may have exited, leaving its background jobs, and a job may have left the session
(`setsid`, a server that daemonises); one in the middle of an exec is read again (`settled_environ`). A process
that cleared or replaced its environment (`env -i`) escapes: this
stops what was left behind, it is no sandbox. /proc is read only when there is a shell to stop. Linux only;
elsewhere nothing is recorded.
Pids mean something only in the pid namespace they were read in: a record names its owner's (`pidns`), and one
from another namespace (an owner in a container sharing the workspace) is left alone, its owner unknown here, nothing
in it ever stopped from here: that namespace's own next sweep stops what a dead owner left in it. Such a record is
dropped once its namespace is gone (no process left in it: its first process ended, and with it all the others),
which only a sweep that sees every namespace's processes can tell (`pid_namespaces_in_use`: one on the host, in the
initial namespace; a container sees neither the host's processes nor another container's). A record without a
namespace was written before shells were found by their tag alone: only processes in the shell's session are its own.
What carries a dead shell's tag is spared when it is the sweeper or one of its ancestors (a dreamcli command the agent
ran, through `timeout` or `sh`), or when it is a live dreamcli, or descends from one or runs one, each step through a
process that carries the same tag (`_held`). A live dreamcli is a live owner of a record here that carries the tag
itself (one started in the dead shell: it and all it started, its workers, are its own to stop), or any dreamcli
command that carries it (`runs_dreamcli`: one the agent started, with no shell of its own and so no record). Such a
command only inherited the tag (dreamcli gives it to the shells it starts, never to itself), and the wrapper it runs
under (`timeout`, which passes SIGTERM on) is spared with it. The steps must carry the tag because orphans are
reparented, to pid 1 or to the nearest child subreaper (`systemd --user`, a process that called
PR_SET_CHILD_SUBREAPER): a live owner that ran the dead owner receives its shell's orphans as children, and /proc
tells neither that a process is a subreaper nor that a child was reparented; but that owner does not carry the tag,
which was made after it started. Never through pid 1 either, nor on the word of a record that cannot be read.
While anything of a dead shell is spared its record stays, for a later sweep, with what was spared written in it
(`_remember`): the next sweeps read /proc again only once one of those processes ended or changed parent (a live
dreamcli ended, or a process of it did and its children were orphaned), not on every sweep. A process started since
by one of them, that left them in turn (a server that daemonises twice), is found then: at the latest when the
live dreamcli it was spared for ends. What is written is only what a sweep saw when its last look found nothing
left to stop: a process that ignores SIGTERM may start children after the listing its SIGKILL is sent from, so each
SIGKILL is followed by a look, and those it finds get one too (`_stop`); should something still be left after
KILL_ROUNDS of them, nothing is written (the record is kept, spared anything or not), and the next sweep looks.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import NamedTuple

from dreamcli.procinfo import (
    Stat,
    ancestors,
    command_line,
    descends,
    own_processes,
    pid_namespace,
    pid_namespaces_in_use,
    process_start,
    python_runs,
    read_stat,
    settled_environ,
)

END_GRACE_SECONDS = 1.0  # a shell's processes: from SIGTERM to SIGKILL
KILL_ROUNDS = 3  # SIGKILLs to what a scan still finds, each to what the one before missed (`_stop`)
KILL_WAIT_SECONDS = 0.5  # for the processes sent SIGKILL to end, at most, before the scan that follows

GROUP_TAG_VAR = "DREAMCLI_SHELL_TAG"
PYTHONS = (b"python", b"pypy")  # the interpreters' names (`python3.12`, `pypy3`): their options as CPython's
Group = tuple[int, int, str]  # a recorded shell: its pgid (its pid, and its session's id), start time, tag
Member = tuple[int, int]  # a process of a shell: its pid and start time
Seen = tuple[int, int, int]  # a process of a shell that a sweep left running: its pid, start time and parent
_owner_start: list[int | None] = []  # this process's start time, read once


class Record(NamedTuple):
    """A shell's record, as `_read_record` reads it."""

    alive: bool | None  # whether its owner runs; None: it ran in another pid namespace than this one
    owner: int | None  # the owner's pid, from a record that could be read
    group: Group | None  # the shell, from a record that could be read
    legacy: bool  # written before the tag sweep (no namespace): the shell is bound to its session
    namespace: str | None  # the owner's pid namespace
    spared: tuple[Seen, ...]  # what the last sweep left running of a dead owner's shell (`_remember`)


class Scan(NamedTuple):
    """One pass over /proc (`_members`): each shell's processes, by its pgid."""

    found: dict[int, list[Member]]  # to stop
    spared: dict[int, list[Seen]]  # a live dreamcli's (`_held`): left running, the record kept for them
    passed: dict[int, list[Seen]]  # the sweeper and its ancestors: left running, the record not kept for them


def record_group(folder: Path, pgid: int, tag: str) -> Path | None:
    """Record that this process owns the process group (and session) `pgid`, its members tagged `tag`; the record's
    path, or None when it cannot be written (a read-only workspace) or identities cannot be read (no /proc)."""
    import json

    if not _owner_start:
        _owner_start.append(process_start(os.getpid(), zombies=False))
    owner_start, start = _owner_start[0], process_start(pgid, zombies=False)
    if owner_start is None or start is None:
        return None
    path = folder / f"{os.getpid()}-{pgid}.json"
    namespace = pid_namespace()  # what its pids mean (`_read_record`)
    rec = {"owner": os.getpid(), "owner_start": owner_start, "pgid": pgid, "start": start, "tag": tag}
    data = json.dumps(rec if namespace is None else {**rec, "pidns": namespace})
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, data.encode())
        finally:
            os.close(fd)
    except OSError:
        return None
    return path


def forget_group(path: Path | None) -> None:
    """Remove a record of `record_group` (its group is stopped)."""
    if path is not None:
        with contextlib.suppress(OSError):
            os.unlink(path)


def stop_orphaned_groups(folder: Path, grace: float = END_GRACE_SECONDS) -> list[int]:
    """Stop the processes of the recorded shells whose owner no longer runs (`_stop`), then remove their records, but
    those of which something is spared or still left; the pgids of the shells that still had processes. A live
    owner's records, and what it runs, are left alone, and so are the records of another pid namespace while it
    exists. A zombie owner is dead: it runs nothing. A dead owner's record kept for what was spared is scanned again
    only once that changed (`_unchanged`)."""
    try:
        names = [n for n in os.listdir(folder) if n.endswith(".json")]
    except OSError:
        return []
    here = pid_namespace()
    live: set[int] = set()
    dead: dict[Path, Record] = {}
    foreign: dict[Path, str] = {}
    for name in names:
        path = folder / name
        rec = _read_record(path, here)
        if rec.alive is None:  # another namespace's: its owner's pid names another process here, or none
            foreign[path] = str(rec.namespace)
        elif rec.alive:
            if rec.owner is not None:
                live.add(rec.owner)
        else:
            dead[path] = rec
    _drop_gone_namespaces(foreign)
    groups = [rec.group for rec in dead.values() if rec.group is not None]
    bound = [rec.group for rec in dead.values() if rec.group is not None and rec.legacy]
    due = any(rec.group is not None and not _unchanged(rec.spared) for rec in dead.values())
    stopped, scan = _stop(groups, grace, live, bound, dreamcli=True) if due else ([], None)
    for path, rec in dead.items():  # only now: a sweep killed half way is done again
        if rec.group is None:
            forget_group(path)
        elif scan is not None:  # else kept as it was, nothing of it changed
            pgid = rec.group[0]  # what was spared is stopped by a later sweep, once unspared; what is left, at once
            if scan.found[pgid]:  # left by the SIGKILLs: remembered as nothing, so the next sweep scans
                _remember(path, rec, [])
            elif scan.spared[pgid]:
                _remember(path, rec, scan.spared[pgid] + scan.passed[pgid])
            else:
                forget_group(path)
    return stopped


def _read_record(path: Path, here: str | None) -> Record:
    """A record, read in pid namespace `here` (`Record`). One half written, or not ours, gives only whether a process
    has its owner's pid (from its name): neither that pid (unchecked, it may be another process's, so it spares
    nothing) nor a shell. A `spared` that cannot be read is none (a scan is due), the record read all the same."""
    import json

    name = path.name.split("-", 1)[0]
    try:
        rec = json.loads(path.read_bytes())
        namespace = rec.get("pidns")
        if namespace is not None and namespace != here:
            return Record(None, None, None, False, str(namespace), ())
        pid = int(rec["owner"])
        group = (int(rec["pgid"]), int(rec["start"]), str(rec["tag"]))
        alive = process_start(pid, zombies=False) == int(rec["owner_start"])
        return Record(alive, pid, group, namespace is None, namespace, () if alive else _spared(rec.get("spared")))
    except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError):
        owner = int(name) if name.isdigit() else None
        return Record(owner is not None and process_start(owner, zombies=False) is not None, None, None, False, None,
                      ())


def _spared(raw: object) -> tuple[Seen, ...]:
    """A record's `spared` (`_remember`); none when missing or not as written."""
    if not isinstance(raw, list):
        return ()
    try:
        return tuple((int(pid), int(start), int(ppid)) for pid, start, ppid in raw)
    except (TypeError, ValueError):
        return ()


def _drop_gone_namespaces(foreign: dict[Path, str]) -> None:
    """Remove the records of other pid namespaces (path -> namespace) whose namespace is gone: nothing runs there to
    stop, and no process can enter it again. None is when this process cannot tell (`pid_namespaces_in_use`)."""
    in_use = pid_namespaces_in_use(set(foreign.values())) if foreign else None
    if in_use is not None:
        for path, namespace in foreign.items():
            if namespace not in in_use:
                forget_group(path)


def _unchanged(spared: Sequence[Seen]) -> bool:
    """Whether each process a sweep left running of a kept record's shell (`_remember`) still runs, the same process
    (its start time) under the same parent: none of them ended or was orphaned, so the record is kept without a scan.
    The module's note says what is found only later."""
    for pid, start, ppid in spared:
        stat = read_stat(pid)
        if stat is None or stat.exited or stat.start != start or stat.ppid != ppid:
            return False
    return bool(spared)


def _remember(path: Path, rec: Record, spared: list[Seen]) -> None:
    """Write into a dead owner's record what the sweep left running of its shell, unless it says so already. The
    record is replaced whole (a temp file renamed over it, swept if a kill leaves it: `workspace.sweep`), so a sweep
    killed meanwhile leaves it as it was; one that cannot be written costs the next sweep a scan, nothing more."""
    import json

    if sorted(spared) == sorted(rec.spared):
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        data = json.loads(path.read_bytes())  # gone: another sweep removed it
        data["spared"] = [list(seen) for seen in sorted(spared)]
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, json.dumps(data).encode())
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except (OSError, ValueError, TypeError, RecursionError):
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def runs_dreamcli(argv: Sequence[bytes]) -> bool:
    """Whether a command line (`command_line`) runs dreamcli: the program `dreamcli`, its console script (which the
    kernel runs as `<python> <dir>/dreamcli ...`, CPython or PyPy), or `<python> [options] -m dreamcli`
    (`-mdreamcli`, `-Im dreamcli`: as Python reads its options, `python_runs`; not `-c`'s command, whatever its
    arguments).
    Why the command line: a dreamcli command carrying a dead shell's tag only inherited it, and must not be stopped
    for it (nor its workers, nor the `timeout` it runs under). Nothing in the tag can tell it from the shell's other
    leftovers: a tag naming its shell (pid, start time) would show that shell dead, but it is dead for every orphaned
    job too, and the command's ancestry no longer reaches it either. The command cannot drop the tag at its start
    (/proc shows the environment a process was started with, whatever it changes since), and one with no shell has
    no record to be known by. What it runs is what /proc shows of it. Any process may claim to be dreamcli, as any
    may clear its environment: this spares what was left behind, it is no sandbox; one started another way (an
    embedding program, `python -c`) is not known, and is stopped."""
    if not argv:
        return False
    program = os.path.basename(argv[0])
    if program == b"dreamcli":
        return True
    if not program.startswith(PYTHONS):
        return False
    how, what = python_runs(argv[1:]) or (b"", b"")
    return (how, what) == (b"-m", b"dreamcli") or (how == b"" and os.path.basename(what) == b"dreamcli")


def _members(groups: Sequence[Group], spare: Collection[int], bound: Collection[Group], dreamcli: bool) -> Scan:
    """Each shell's live processes: itself (the pid, started at the time recorded), and the processes of this user
    started since that carry its tag, wherever they are (one pass over /proc for all the shells), in its session for a
    shell in `bound`. Those to stop, those spared (`_held`: from the processes `spare`, live owners, and with
    `dreamcli` any dreamcli command), and this process and its ancestors (a command run in a dead owner's shell,
    through a wrapper: it ends on its own), which are never stopped."""
    pgids = [pgid for pgid, _, _ in groups]
    scan = Scan({pgid: [] for pgid in pgids}, {pgid: [] for pgid in pgids}, {pgid: [] for pgid in pgids})
    if not groups:
        return scan
    bound = set(bound)
    shells = {pgid: (start, (pgid, start, tag) in bound) for pgid, start, tag in groups}
    marks = {f"{GROUP_TAG_VAR}={tag}".encode(): (pgid, start, (pgid, start, tag) in bound)
             for pgid, start, tag in groups}
    carriers: dict[int, dict[int, Stat]] = {pgid: {} for pgid in pgids}
    for pid, stat in own_processes(since=min(start for start, _ in shells.values())):
        pgid = _shell_of(pid, stat, shells, marks)
        if pgid is not None:
            carriers[pgid][pid] = stat
    me = {os.getpid(), *ancestors(os.getpid())}
    for pgid, procs in carriers.items():
        roots = {pid for pid in procs if pid in spare or (dreamcli and runs_dreamcli(command_line(pid)))}
        held = _held(procs, roots)
        for pid, stat in procs.items():
            if pid in held:
                scan.spared[pgid].append((pid, stat.start, stat.ppid))
            elif pid in me:
                scan.passed[pgid].append((pid, stat.start, stat.ppid))
            else:
                scan.found[pgid].append((pid, stat.start))
    return scan


def _held(procs: dict[int, Stat], roots: Collection[int]) -> set[int]:
    """Those of one shell's processes `procs` (pid -> Stat) that are one of `roots` (live dreamcli commands), descend
    from one, or are an ancestor of one (what runs it: `timeout`, `sh`), each step through a process of `procs`: they
    all carry the tag (the module's note says why), and descent never goes through pid 1 (`descends`)."""
    parents = {pid: stat.ppid for pid, stat in procs.items()}
    held = {pid for pid in procs if descends(pid, parents, roots)}
    for root in roots:
        parent = parents.get(root)
        while parent is not None and parent in procs and parent not in held:
            held.add(parent)
            parent = parents.get(parent)
    return held


def _shell_of(pid: int, stat: Stat, shells: dict[int, tuple[int, bool]],
              marks: dict[bytes, tuple[int, int, bool]]) -> int | None:
    """The pgid of the shell (`_members`) that process `pid` is, or whose tag it carries; None for neither."""
    shell = shells.get(pid)
    if shell is not None and shell[0] == stat.start and (not shell[1] or stat.session == pid):
        return pid
    for entry in settled_environ(pid):
        mark = marks.get(entry)  # started since the shell, in its session if bound to it
        if mark is not None and stat.start >= mark[1] and (not mark[2] or stat.session == mark[0]):
            return mark[0]
    return None


def stop_members(groups: Sequence[Group], grace: float, *, spare: Collection[int] = (),
                 bound: Collection[Group] = ()) -> list[int]:
    """SIGTERM to the processes of each shell (`_members`: never the processes `spare` that carry its tag, nor what
    they hold, `_held`; in its session for a shell in `bound`), SIGKILL to those still there after `grace` and to
    those they started meanwhile (one wait for them all), and to those started before the SIGKILL (`_stop`); the
    pgids of the shells that had any. A live owner stopping
    its own shell stops all it started, a dreamcli command too."""
    return _stop(groups, grace, spare, bound, dreamcli=False)[0]


def _stop(groups: Sequence[Group], grace: float, spare: Collection[int], bound: Collection[Group], *,
          dreamcli: bool) -> tuple[list[int], Scan]:
    """`stop_members`, with dreamcli commands spared or not; and the last scan (`_members`), what it left running.
    A process may start a child between a scan and the signal (one that ignores SIGTERM keeps doing so until its
    SIGKILL): each SIGKILL is followed by a scan, and those it finds get one too, KILL_ROUNDS times at most; what
    the last scan still found is left to a later sweep (`stop_orphaned_groups` keeps the record for it)."""
    scan = _members(groups, spare, bound, dreamcli)
    had = [pgid for pgid, members in scan.found.items() if members]
    for sig in (signal.SIGTERM, *[signal.SIGKILL] * KILL_ROUNDS):
        targets = [member for members in scan.found.values() for member in members]
        if not targets:
            break
        for pid, _ in targets:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        deadline = time.monotonic() + (grace if sig == signal.SIGTERM else KILL_WAIT_SECONDS)
        while time.monotonic() < deadline and any(process_start(p, zombies=False) == s for p, s in targets):
            time.sleep(0.05 if sig == signal.SIGTERM else 0.005)
        scan = _members(groups, spare, bound, dreamcli)
    return had, scan
