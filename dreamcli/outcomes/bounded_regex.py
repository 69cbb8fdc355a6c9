"""A regex check's search, bounded in time (docs/outcomes.md, "Specs"): `bounded_search` runs it in a forked
child killed after REGEX_TIMEOUT_S, and raises RegexNotRun when it could not run (no pipe or process left,
past the bound, no answer). Used by the `regex` check (dreamcli/outcomes/checks.py)."""

from __future__ import annotations

import concurrent.futures.thread  # noqa: F401  (see below)
import contextlib
import logging  # noqa: F401  (see below)
import os
import re
import select
import signal

# The searches fork from the grading pool's threads. A module that registers a pair of fork hooks (logging's
# lock, concurrent.futures' shutdown lock: taken before a fork, let go after it) and is first imported by
# another thread while a fork is in flight runs its "after" hook without its "before" one, and the fork
# prints `Exception ignored … RuntimeError: cannot release un-acquired lock`. Both are loaded before the
# first fork (the SDK would load them lazily, mid-grade).

REGEX_TIMEOUT_S = 10.0  # how long one regex search may run before the check fails (it could not run)
FD_DIRS = ("/proc/self/fd", "/dev/fd")  # where a process finds its open fds listed (the first that exists)
FD_CLOSE_CEILING = 1 << 16  # without a listing, the fds below this are closed (one close_range call where it exists)


class RegexNotRun(Exception):
    """A regex check's search could not start (no pipe or process left), ran past REGEX_TIMEOUT_S, or ended
    without an answer."""


def bounded_search(pattern: re.Pattern[str], text: str) -> tuple[int, int] | None:
    """The span of `pattern.search(text)`, searched in a forked child that is killed after REGEX_TIMEOUT_S
    (RegexNotRun): Python's `re` cannot be stopped from inside the process, and a spec's pattern may
    backtrack for hours. The child sees the text without a copy, arms its own alarm before anything else
    (it never outlives the bound, even when this process is killed) and leaves with `os._exit`. Awaited
    with poll: select refuses an fd past 1023, as a busy `run --parallel` has. Where there is no fork
    (Windows), the search runs here, without a bound."""
    if not hasattr(os, "fork"):
        m = pattern.search(text)
        return None if m is None else (m.start(), m.end())
    read_end, write_end, pid = _fork_searcher()
    if pid == 0:  # the child: search, write the span, leave at once
        try:
            with contextlib.suppress(ValueError):
                signal.signal(signal.SIGALRM, signal.SIG_DFL)
            signal.alarm(int(REGEX_TIMEOUT_S) + 2)  # first: nothing the child does outlasts the bound
            _keep_only(write_end)
            m = pattern.search(text)
            os.write(write_end, b"-" if m is None else f"{m.start()} {m.end()}".encode())
        finally:
            os._exit(0)
    os.close(write_end)
    try:
        poller = select.poll()
        poller.register(read_end, select.POLLIN)
        if not poller.poll(REGEX_TIMEOUT_S * 1000):
            raise RegexNotRun(f"stopped after {REGEX_TIMEOUT_S:g} s (a pattern that backtracks, such as (a+)+$, "
                              "can run for ever)")
        answer = os.read(read_end, 64).decode()
    finally:
        os.close(read_end)
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    if not answer:
        raise RegexNotRun("ended without an answer (its search failed)")
    if answer == "-":
        return None
    start, end = answer.split()
    return int(start), int(end)


def _fork_searcher() -> tuple[int, int, int]:
    """(read end, write end, pid) of a new pipe and a fork (pid 0 in the child); RegexNotRun when the
    system has no pipe or process to give (EMFILE, EAGAIN), the pipe then closed again."""
    try:
        read_end, write_end = os.pipe()
    except OSError as e:
        raise RegexNotRun(f"cannot start its search: {e.strerror}") from None
    try:
        return read_end, write_end, os.fork()
    except OSError as e:
        os.close(read_end)
        os.close(write_end)
        raise RegexNotRun(f"cannot start its search: {e.strerror}") from None


def _keep_only(fd: int) -> None:
    """In the search's child (its alarm armed): close every fd but 0-2 and `fd`; a copy kept open would keep
    another search's pipe from its end of file, and a flock from its release. The fds listed in FD_DIRS,
    not every number below the open-file limit (2**30 closes without close_range); without a listing (no
    /proc), every number below FD_CLOSE_CEILING. Closing a copy touches no file of the parent."""
    for fd_dir in FD_DIRS:
        try:
            names = os.listdir(fd_dir)
        except OSError:
            continue
        for name in names:
            if name.isdigit() and int(name) > 2 and int(name) != fd:
                with contextlib.suppress(OSError):  # the listing's own fd, already closed
                    os.close(int(name))
        return
    os.closerange(3, fd)
    os.closerange(fd + 1, max(fd + 1, FD_CLOSE_CEILING))
