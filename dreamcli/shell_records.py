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
(`setsid`, a server that daemonises). A process that cleared or replaced its environment (`env -i`) escapes: this
stops what was left behind, it is no sandbox. /proc is read only when there is a shell to stop. Linux only;
elsewhere nothing is recorded.
Pids mean something only in the pid namespace they were read in: a record names its owner's (`pidns`), and one
from another namespace (an owner in a container sharing the workspace) is left alone, its owner unknown here. A
record without it was written before shells were found by their tag alone: only processes in the shell's session
are its own. What carries a dead shell's tag is spared when it is the sweeper or one of its ancestors (a dreamcli
command the agent ran, through `timeout` or `sh`), or a live owner of a record here or a descendant of one (a
dreamcli run started from the dead shell: it and all it started, its workers, are its own to stop), never through
pid 1 (every orphan's parent: a live owner that is pid 1, a container's command, spares only itself) nor on the word
of a record that cannot be read. While anything of a dead shell is spared its record stays, for a later sweep.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Collection, Sequence
from pathlib import Path

from dreamcli.procinfo import Stat, ancestors, descends, environ, own_processes, pid_namespace, process_start

END_GRACE_SECONDS = 1.0  # a shell's processes: from SIGTERM to SIGKILL

GROUP_TAG_VAR = "DREAMCLI_SHELL_TAG"
Group = tuple[int, int, str]  # a recorded shell: its pgid (its pid, and its session's id), start time, tag
Record = tuple[bool | None, int | None, Group | None, bool]  # `_read_record`
Member = tuple[int, int]  # a process of a shell: its pid and start time
_owner_start: list[int | None] = []  # this process's start time, read once


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
    """Stop the processes of the recorded shells whose owner no longer runs (`stop_members`), then remove their
    records; the pgids of the shells that still had processes. A live owner's records, and what it runs, are left
    alone, and so are the records of another pid namespace. A zombie owner is dead: it runs nothing."""
    try:
        names = [n for n in os.listdir(folder) if n.endswith(".json")]
    except OSError:
        return []
    here = pid_namespace()
    groups: list[Group] = []
    bound: list[Group] = []
    live: set[int] = set()
    done: dict[Path, int | None] = {}  # a dead owner's record -> its shell's pgid
    for name in names:
        path = folder / name
        alive, owner, group, legacy = _read_record(path, here)
        if alive is None:  # another namespace's: its owner's pid names another process here, or none
            continue
        if alive:
            if owner is not None:
                live.add(owner)
            continue
        done[path] = None if group is None else group[0]
        if group is not None:
            groups.append(group)
            if legacy:
                bound.append(group)
    stopped, spared = _stop(groups, grace, live, bound)
    for path, pgid in done.items():  # only now: a sweep killed half way is done again
        if pgid is None or pgid not in spared:  # what was spared is stopped by a later sweep, once unspared
            forget_group(path)
    return stopped


def _read_record(path: Path, here: str | None) -> Record:
    """(whether its owner runs: None when it ran in another pid namespace than `here`; the owner's pid; the shell;
    whether the shell is bound to its session: a record without a namespace, written before the tag sweep). A record
    half written, or not ours, gives only whether a process has its owner's pid (from its name): neither that pid
    (unchecked, it may be another process's, so it spares nothing) nor a shell."""
    import json

    name = path.name.split("-", 1)[0]
    try:
        rec = json.loads(path.read_bytes())
        namespace = rec.get("pidns")
        if namespace is not None and namespace != here:
            return None, None, None, False
        pid = int(rec["owner"])
        group = (int(rec["pgid"]), int(rec["start"]), str(rec["tag"]))
        return process_start(pid, zombies=False) == int(rec["owner_start"]), pid, group, namespace is None
    except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError):
        owner = int(name) if name.isdigit() else None
        return owner is not None and process_start(owner, zombies=False) is not None, None, None, False


def _members(groups: Sequence[Group], spare: Collection[int],
             bound: Collection[Group]) -> tuple[dict[int, list[Member]], set[int]]:
    """pgid -> the live processes of that shell: itself (the pid, started at the time recorded), and the processes
    of this user started since that carry its tag, wherever they are (one pass over /proc for all the shells), in
    its session for a shell in `bound`. Never this process or its ancestors (a command run in a dead owner's shell,
    through a wrapper: it ends on its own), nor the processes `spare` (live owners) and their descendants (`descends`:
    not through pid 1); the pgids of the shells with a process of the latter come second."""
    found: dict[int, list[Member]] = {pgid: [] for pgid, _, _ in groups}
    spared: set[int] = set()
    if not groups:
        return found, spared
    bound = set(bound)
    shells = {pgid: (start, (pgid, start, tag) in bound) for pgid, start, tag in groups}
    marks = {f"{GROUP_TAG_VAR}={tag}".encode(): (pgid, start, (pgid, start, tag) in bound)
             for pgid, start, tag in groups}
    processes = list(own_processes(since=min(start for start, _ in shells.values())))
    parents = {pid: stat.ppid for pid, stat in processes}
    kept = {os.getpid(), *ancestors(os.getpid())}
    for pid, stat in processes:
        pgid = _shell_of(pid, stat, shells, marks)
        if pgid is not None and descends(pid, parents, spare):
            spared.add(pgid)
        elif pgid is not None and pid not in kept:
            found[pgid].append((pid, stat.start))
    return found, spared


def _shell_of(pid: int, stat: Stat, shells: dict[int, tuple[int, bool]],
              marks: dict[bytes, tuple[int, int, bool]]) -> int | None:
    """The pgid of the shell (`_members`) that process `pid` is, or whose tag it carries; None for neither."""
    shell = shells.get(pid)
    if shell is not None and shell[0] == stat.start and (not shell[1] or stat.session == pid):
        return pid
    for entry in environ(pid):
        mark = marks.get(entry)  # started since the shell, in its session if bound to it
        if mark is not None and stat.start >= mark[1] and (not mark[2] or stat.session == mark[0]):
            return mark[0]
    return None


def stop_members(groups: Sequence[Group], grace: float, *, spare: Collection[int] = (),
                 bound: Collection[Group] = ()) -> list[int]:
    """SIGTERM to the processes of each shell (`_members`: never the processes `spare`, nor their descendants; in
    its session for a shell in `bound`), SIGKILL to those still there after `grace` and to those they started
    meanwhile (one wait for them all); the pgids of the shells that had any."""
    return _stop(groups, grace, spare, bound)[0]


def _stop(groups: Sequence[Group], grace: float, spare: Collection[int],
          bound: Collection[Group]) -> tuple[list[int], set[int]]:
    """`stop_members`, and the pgids of the shells with a process spared (`_members`)."""
    found, spared = _members(groups, spare, bound)
    had = [pgid for pgid, members in found.items() if members]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        targets = [member for members in found.values() for member in members]
        if not targets:
            break
        for pid, _ in targets:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        if sig == signal.SIGTERM:
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and any(process_start(p, zombies=False) == s for p, s in targets):
                time.sleep(0.05)
            found, again = _members(groups, spare, bound)
            spared |= again
    return had, spared
