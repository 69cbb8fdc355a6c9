"""A regex check's bounded search (`bounded_regex.bounded_search`) with many files open: it waits on its child
whatever the number of its pipe's fd (a busy `run --parallel` passes 1024), a pipe or fork refused by
the system fails the check (it could not run) instead of the whole grade, and the child keeps open only
what it needs."""

from __future__ import annotations

import errno
import os
import resource
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dreamcli.outcomes import bounded_regex
from dreamcli.outcomes.checks import run_check
from dreamcli.outcomes.evidence import RunView
from dreamcli.outcomes.spec import Check, load_spec
from tests.support.outcomes import write_spec

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the search is bounded only where there is fork")

RUN = RunView(session_id="S", final_answer="all ok")


def _regex(tmp_path: Path, value: str = "ok") -> Check:
    text = f"name: c\ncriteria:\n  - id: c\n    check: {{type: regex, value: '{value}'}}\n"
    spec = load_spec(write_spec(tmp_path / "c.yaml", text))
    assert spec.criteria[0].check is not None
    return spec.criteria[0].check


@pytest.fixture
def fds_past_1024() -> Iterator[None]:
    """Enough fds held open that the next one is numbered 1024 or more."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 1200
    if soft < want:
        if hard != resource.RLIM_INFINITY and hard < want:
            pytest.skip(f"RLIMIT_NOFILE is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    held: list[int] = []
    try:
        while not held or held[-1] < 1030:
            held.append(os.open(os.devnull, os.O_RDONLY))
        yield
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.mark.timeout(30)
def test_a_regex_check_runs_when_its_pipe_is_past_fd_1024(tmp_path: Path, fds_past_1024: None) -> None:
    """Before: select.select raised "ValueError: filedescriptor out of range in select()", and the grade
    of the whole session became an internal error."""
    assert run_check(_regex(tmp_path), RUN) == (True, "answer matches /ok/", "all ok")
    assert run_check(_regex(tmp_path, "nope"), RUN) == (False, "answer has no match for /nope/", "")


def test_no_pipe_left_fails_the_check_not_the_grade(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_pipe() -> tuple[int, int]:
        raise OSError(errno.EMFILE, "Too many open files")

    monkeypatch.setattr(bounded_regex.os, "pipe", no_pipe)
    assert run_check(_regex(tmp_path), RUN) == (
        False, "answer: /ok/ cannot start its search: Too many open files", "")


def test_no_fork_left_fails_the_check_and_closes_its_pipe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[int] = []
    real_pipe = os.pipe

    def pipe() -> tuple[int, int]:
        ends = real_pipe()
        opened.extend(ends)
        return ends

    def no_fork() -> int:
        raise OSError(errno.EAGAIN, "Resource temporarily unavailable")

    monkeypatch.setattr(bounded_regex.os, "pipe", pipe)
    monkeypatch.setattr(bounded_regex.os, "fork", no_fork)
    passed, reason, _ = run_check(_regex(tmp_path), RUN)
    assert (passed, reason) == (False, "answer: /ok/ cannot start its search: Resource temporarily unavailable")
    assert len(opened) == 2
    for fd in opened:
        with pytest.raises(OSError):
            os.fstat(fd)


class _ProbeMatch:
    def __init__(self, n: int) -> None:
        self.n = n

    def start(self) -> int:
        return self.n

    def end(self) -> int:
        return self.n


class _Probe:
    """Stands for a pattern: its `search`, run in the forked child, says whether `fd` is open there."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def search(self, text: str) -> Any:
        try:
            os.fstat(self.fd)
        except OSError:
            return _ProbeMatch(0)
        return _ProbeMatch(1)


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="Linux: fds by number")
def test_the_search_child_does_not_hold_the_parents_other_files(tmp_path: Path) -> None:
    """The child holds no write end of another pipe (say, another search's, started at the same time in
    another thread, whose reader would then wait for this child to end before it sees end of file)."""
    read_end, write_end = os.pipe()
    try:
        assert bounded_regex.bounded_search(_Probe(write_end), "text") == (0, 0)  # type: ignore[arg-type]
        assert bounded_regex.bounded_search(_Probe(2), "text") == (1, 1)  # stderr stays
    finally:
        os.close(read_end)
        os.close(write_end)


class _OrderProbe:
    """Stands for a pattern: its `search`, run in the forked child, says (by the span it returns) whether
    the child armed its alarm before it closed any fd (1, 1) or not (0, 0)."""

    def __init__(self, events: list[str]) -> None:
        self.events = events

    def search(self, text: str) -> Any:
        closed = [i for i, e in enumerate(self.events) if e == "close"]
        armed = self.events.index("alarm") if "alarm" in self.events else len(self.events)
        return _ProbeMatch(1 if closed and armed < closed[0] else 0)


def test_the_search_child_arms_its_alarm_before_it_closes_any_fd(monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: the child closed every fd up to the open-file limit first (a loop of up to 2**30 closes
    where the kernel has no close_range), so every check failed as a pattern that backtracks, and a child
    whose parent was killed ran on past the bound."""
    events: list[str] = []
    real_alarm, real_close, real_closerange = bounded_regex.signal.alarm, os.close, os.closerange

    def alarm(seconds: int) -> int:
        events.append("alarm")
        return real_alarm(seconds)

    def close(fd: int) -> None:
        events.append("close")
        real_close(fd)

    def closerange(lo: int, hi: int) -> None:
        events.append("close")
        real_closerange(lo, hi)

    monkeypatch.setattr(bounded_regex.signal, "alarm", alarm)
    monkeypatch.setattr(bounded_regex.os, "close", close)
    monkeypatch.setattr(bounded_regex.os, "closerange", closerange)
    extra = os.open(os.devnull, os.O_RDONLY)  # at least one fd the child must close
    try:
        assert bounded_regex.bounded_search(_OrderProbe(events), "text") == (1, 1)  # type: ignore[arg-type]
    finally:
        real_close(extra)


def test_the_child_closes_only_the_fds_it_finds_open(monkeypatch: pytest.MonkeyPatch) -> None:
    """The open-file limit is not walked: with a limit of 2**30 the search still answers at once."""
    real = os.sysconf
    monkeypatch.setattr(bounded_regex.os, "sysconf", lambda name: 1073741816 if name == "SC_OPEN_MAX" else real(name))
    monkeypatch.setattr(bounded_regex.os, "closerange", lambda lo, hi: pytest.fail("closerange"))
    read_end, write_end = os.pipe()
    try:
        assert bounded_regex.bounded_search(_Probe(write_end), "text") == (0, 0)  # type: ignore[arg-type]
    finally:
        os.close(read_end)
        os.close(write_end)


def test_without_a_listing_of_open_fds_the_child_closes_them_by_number(monkeypatch: pytest.MonkeyPatch,
                                                                       tmp_path: Path) -> None:
    """No /proc (a chroot, a sandbox): the child still drops the parent's pipes and flocks, by number."""
    monkeypatch.setattr(bounded_regex, "FD_DIRS", (str(tmp_path / "none"),))
    read_end, write_end = os.pipe()
    try:
        assert bounded_regex.bounded_search(_Probe(write_end), "text") == (0, 0)  # type: ignore[arg-type]
        assert bounded_regex.bounded_search(_Probe(2), "text") == (1, 1)  # type: ignore[arg-type]
    finally:
        os.close(read_end)
        os.close(write_end)
