"""What /proc tells of a process: its state, parent, session and start time, its environment, its command line (and
what a Python interpreter's runs, `python_runs`), its pid namespace, and this user's processes.

A pid is given again to another process once its own is gone, so a process is known by its pid *and* its start
time (clock ticks since boot, field 22 of /proc/PID/stat). An exited process that its parent has not collected
yet (a zombie) keeps both, though it runs nothing and holds no file: whether it counts is each caller's to say,
`process_start(pid, zombies=...)`, or `read_stat(pid).exited`. Pids are those of the pid namespace /proc was
mounted for: a process in another namespace (a container sharing a folder) knows other processes by other numbers,
`pid_namespace()` tells which namespace this process is in, `pid_namespaces_in_use` which namespaces still have a
process. Linux only: elsewhere (no /proc) every answer is None or empty. Imports nothing from dreamcli; used by
`shell_records` (the agent's shells) and `workspace/lockholder` (who holds a lock).
"""

from __future__ import annotations

import os
import time
from collections.abc import Collection, Iterator, Sequence
from typing import NamedTuple

INITIAL_PID_NAMESPACE = "pid:[4026531836]"  # the kernel's first (PROC_PID_INIT_INO): every other is nested in it
KERNEL_THREAD_FLAG = 0x00200000  # PF_KTHREAD, in field 9 of /proc/PID/stat
EXEC_WAIT_SECONDS = 0.2  # for a process that execs a program to show its environment, at most (`settled_environ`)
ENV_WRITE_WAIT_SECONDS = 0.02  # for one whose environment is being written (its span empty while it runs), at most
PYTHON_OPTIONS_WITH_VALUE = (b"c", b"m", b"W", b"X")  # `python -c cmd`, `-mmod`: the rest of the word, or the next
LONG_OPTIONS_WITH_VALUE = (b"--check-hash-based-pycs", b"--jit")  # CPython's; PyPy's (`pypy3 --jit off`)


class Stat(NamedTuple):
    state: str  # R, S, D, T, Z (zombie), X (dead), ...
    start: int  # clock ticks since boot
    ppid: int  # its parent (0: none in this namespace)
    session: int  # its session's id

    @property
    def exited(self) -> bool:
        """A zombie: exited, not yet collected by its parent."""
        return self.state in ("Z", "X")


def read_stat(pid: int) -> Stat | None:
    """Process `pid`'s state, start time, parent and session; None when it is gone or there is no /proc."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
        fields = raw[raw.rindex(b")") + 2:].split()  # the command, in parentheses, may hold anything
        return Stat(fields[0].decode(), int(fields[19]), int(fields[1]), int(fields[3]))
    except (OSError, ValueError, IndexError, UnicodeDecodeError):
        return None


def process_start(pid: int, *, zombies: bool) -> int | None:
    """When process `pid` started; None when it is gone or unknown here, and for a zombie unless `zombies`."""
    stat = read_stat(pid)
    return None if stat is None or (stat.exited and not zombies) else stat.start


def own_processes(since: int) -> Iterator[tuple[int, Stat]]:
    """The running processes (no zombie) of this user that started at `since` or later; none without /proc."""
    try:
        entries = os.listdir("/proc")
    except OSError:
        return
    uid = os.getuid()
    for entry in entries:
        stat = read_stat(int(entry)) if entry.isdigit() else None
        if stat is None or stat.exited or stat.start < since:
            continue
        try:
            if os.stat(f"/proc/{entry}").st_uid == uid:
                yield int(entry), stat
        except OSError:  # gone meanwhile
            continue


def environ(pid: int) -> list[bytes]:
    """The environment process `pid` started with (`NAME=value` each); empty when it cannot be read."""
    raw = _read(f"/proc/{pid}/environ")
    return raw.split(b"\0") if raw else []


def settled_environ(pid: int, wait: float = EXEC_WAIT_SECONDS) -> list[bytes]:
    """`environ`, read again while it comes back empty though process `pid` may have an environment, which happens
    when the read meets an exec (a sweep then took a shell's job, `setsid sleep`, for one that carries no tag):
    /proc shows none from the moment the kernel gives the process the new program's memory (its environment's
    span, fields 50 and 51 of /proc/PID/stat, at 0) until the environment is written there (the span empty
    while it is), nor to a read begun on the memory the exec then left. Read again, `wait` seconds at most,
    until it shows or the process is known to have none: it ended, it is a kernel thread, or its environment is
    empty and it is not running (`env -i sleep`; one that runs, as a process in its exec does, is waited for,
    ENV_WRITE_WAIT_SECONDS at most: a busy `env -i` process runs with an empty span too).
    One that cannot be read at all is not read again."""
    begun = time.monotonic()
    deadline = begun + wait
    while True:
        raw = _read(f"/proc/{pid}/environ")
        if raw is None or raw:
            return raw.split(b"\0") if raw else []
        stat = _read(f"/proc/{pid}/stat")
        try:
            fields = stat[stat.rindex(b")") + 2:].split() if stat else []
            state, flags, start, end = fields[0], int(fields[6]), int(fields[47]), int(fields[48])
        except (ValueError, IndexError):
            return []
        if state in (b"Z", b"X") or flags & KERNEL_THREAD_FLAG or (end == start != 0 and state != b"R"):
            return []  # none to show: ended, a kernel thread, an empty environment
        now = time.monotonic()
        if now > deadline or (end == start != 0 and now > begun + ENV_WRITE_WAIT_SECONDS):
            return []  # writing an environment takes microseconds: one that runs on is empty (`env -i` busy)
        time.sleep(0.001)


def _read(path: str) -> bytes | None:
    """A /proc file's bytes; None when it cannot be read."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def command_line(pid: int) -> list[bytes]:
    """The arguments process `pid` runs with (its program first); empty when they cannot be read (a zombie)."""
    raw = _read(f"/proc/{pid}/cmdline")
    if raw is None:
        return []
    raw = raw[:-1] if raw.endswith(b"\0") else raw  # each argument ends with a NUL
    return raw.split(b"\0") if raw else []


def python_runs(args: Sequence[bytes]) -> tuple[bytes, bytes] | None:
    """What a Python interpreter's arguments `args` (after its name) run, as Python reads its options: `(b"-m",
    module)`, `(b"-c", command)`, `(b"", script)`, `(b"-", b"")` for stdin; None when they run nothing. Options
    cluster (`-sE`), and one that takes a value (PYTHON_OPTIONS_WITH_VALUE) takes the rest of its word, or the next
    word when that rest is empty: `-mdreamcli`, `-Im dreamcli`, `-Xdev`, `-W error`; `-cm dreamcli` runs `m`."""
    rest = list(args)
    while rest:
        word = rest.pop(0)
        if word == b"--":  # the options end: a script follows
            word = rest.pop(0) if rest else b""
            return (b"", word) if word else None
        if word == b"-":
            return b"-", b""
        if not word.startswith(b"-"):
            return b"", word
        if word.startswith(b"--"):  # a long option: these take a value, the next word (never `=value`)
            if word in LONG_OPTIONS_WITH_VALUE and rest:
                rest.pop(0)
            continue
        for at in range(1, len(word)):
            option = word[at:at + 1]
            if option in PYTHON_OPTIONS_WITH_VALUE:
                value = word[at + 1:] or (rest.pop(0) if rest else None)
                if value is None:
                    return None
                if option in (b"m", b"c"):
                    return b"-" + option, value
                break
    return None


def ancestors(pid: int) -> list[int]:
    """The parent of process `pid`, its parent's parent, ... up to the first process of the namespace (1, whose
    parent is 0), as far as /proc tells."""
    chain: list[int] = []
    stat = read_stat(pid)
    while stat is not None and stat.ppid > 0 and stat.ppid not in chain and len(chain) < 4096:
        chain.append(stat.ppid)
        stat = read_stat(stat.ppid)
    return chain


def descends(pid: int, parents: dict[int, int], roots: Collection[int]) -> bool:
    """Whether process `pid` is one of `roots` or a descendant of one; `parents`: pid -> its parent, as far as known
    (`Stat.ppid`). Never through the namespace's first process (1): every orphan is reparented to it, so a child of
    pid 1 descends from it in no meaningful sense (pid 1 itself is still one of `roots` when there)."""
    seen: set[int] = set()
    while pid not in seen:
        if pid in roots:
            return True
        seen.add(pid)
        parent = parents.get(pid)
        if parent is None or parent == 1:
            return False
        pid = parent
    return False


def pid_namespace() -> str | None:
    """This process's pid namespace (`pid:[4026531836]`), which gives its pids their meaning; None when unknown."""
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return None


def pid_namespaces_in_use(wanted: Collection[str]) -> set[str] | None:
    """Those of the pid namespaces `wanted` (as `pid_namespace()` names them) that a process is in. One that had a
    process and has none now is gone for good: its first process has ended, and the kernel lets no process into a
    namespace after that. But only a process that sees every process of every namespace can say that none is left:
    one in the initial namespace (every other is nested in it, their processes all in its /proc), /proc its own, that
    may read the namespace of each process but pid 1 (the initial namespace's first, in it by definition: a sandbox
    may guard it even from root), and sees pid 1 listed (a /proc mounted with `hidepid` hides the processes this one
    may not read, pid 1 first). None when one of `wanted` has no process seen and this one cannot see them all: a
    container cannot see the host's processes, a user without privilege cannot read another user's namespace."""
    wanted = set(wanted)
    found: set[str] = set()
    try:
        entries = sorted((int(e) for e in os.listdir("/proc") if e.isdigit()), reverse=True)  # recent ones first
        sees_all = pid_namespace() == INITIAL_PID_NAMESPACE and os.readlink("/proc/self") == str(os.getpid())
    except OSError:
        return None
    for pid in entries:
        try:
            namespace = os.readlink(f"/proc/{pid}/ns/pid")
        except FileNotFoundError:  # gone meanwhile
            continue
        except OSError:  # not ours to read: it may be in one of them
            sees_all = sees_all and pid == 1
            continue
        if namespace in wanted:
            found.add(namespace)
            if found == wanted:
                return found
    return found if sees_all and 1 in entries else None
