"""Deterministic checks (docs/outcomes.md, "Specs"; adding one: docs/architecture.md), run first and needing no model.

Each returns a `CriterionResult` with a short reason and the evidence it relied on. A check that
cannot run (missing workdir, file outside the workdir or not a regular file, a file read only in part,
command timeout, a regex search not started or stopped at REGEX_TIMEOUT_S) fails: no evidence, no
pass. Reasons and evidence are redacted whole and only then cut (a secret cut in half is no longer
recognised by the store's redactor).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dreamcli.outcomes.evidence import TRUNCATED, RunView, read_workdir_text, subagents_left_out
from dreamcli.outcomes.spec import Check, Criterion
from dreamcli.redaction import Redactor, default_redactor

READ_LIMIT = 10 * 1024 * 1024
EVIDENCE_LIMIT = 200
REASON_LIMIT = 500  # a check's reason, and a grader's (scoring.py), as stored in grades.jsonl
OUTPUT_TAIL = 400
OUTPUT_SCAN = 256 * 1024  # the end of a command's output that is redacted before its tail is kept
REGEX_TIMEOUT_S = 10.0  # how long one regex search may run before the check fails (it could not run)
FD_DIRS = ("/proc/self/fd", "/dev/fd")  # where a process finds its open fds listed (the first that exists)
FD_CLOSE_CEILING = 1 << 16  # without a listing, the fds below this are closed (one close_range call where it exists)


@dataclass
class CriterionResult:
    id: str
    passed: bool
    reason: str
    evidence: str = ""
    weight: float = 1.0
    kind: str = "check"
    flaky: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "passed": self.passed, "kind": self.kind, "weight": self.weight,
                "reason": self.reason, "evidence": self.evidence, "flaky": self.flaky}


def run_criterion_check(criterion: Criterion, run: RunView, *, running: RunningCommands | None = None,
                        redactor: Redactor | None = None) -> CriterionResult:
    assert criterion.check is not None
    passed, reason, evidence = run_check(criterion.check, run, running=running, redactor=redactor)
    return CriterionResult(criterion.id, passed, reason, evidence[:EVIDENCE_LIMIT], criterion.weight, "check")


def run_check(check: Check, run: RunView, *, running: RunningCommands | None = None,
              redactor: Redactor | None = None) -> tuple[bool, str, str]:
    """(passed, reason, evidence) with `negate` applied; `running` tracks command checks (to kill them on
    an interrupt). Reason and evidence are redacted with `redactor` (default: the built-in rules) before
    anything is cut; the reason is cut at REASON_LIMIT."""
    red = redactor or default_redactor()
    if check.type == "command":
        passed, reason, evidence = _command(check, run, running, red)
    else:
        passed, reason, evidence = _RUNNERS[check.type](check, run, red)
    reason = clip(red.redact_text(reason), REASON_LIMIT)
    if check.negate and passed is not None:
        return (not passed), f"negated: {reason}", evidence
    return bool(passed), reason, evidence


def clip(text: str, limit: int) -> str:
    """`text` cut at `limit` characters (redact it first)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


# Each runner returns (passed | None, reason, evidence); None means the check could not run (fails
# even when negated).
Outcome = tuple[bool | None, str, str]


def _target(check: Check, run: RunView) -> tuple[str | None, str]:
    if check.target_is_answer:
        if run.final_answer is None:
            return None, "the run has no final answer"
        return run.final_answer, "answer"
    text, note = read_workdir_text(run.workdir, check.in_, limit=READ_LIMIT)
    if text is None:
        return None, f"{check.in_}: {note}"
    if note == TRUNCATED:  # what was not read may hold the value (or not): the check cannot run
        return None, f"{check.in_}: only the first {_size(READ_LIMIT)} could be read (the file is larger)"
    return text, check.in_


def _size(n: int) -> str:
    mib = 1024 * 1024
    return f"{n // mib} MiB" if n % mib == 0 else f"{n} bytes"


def _contains(check: Check, run: RunView, red: Redactor) -> Outcome:
    text, where = _target(check, run)
    if text is None:
        return None, where, ""
    value = str(check.value)
    i = text.find(value)
    if i < 0:
        return False, f"{where} does not contain {value!r}", ""

    def again(safe: str) -> tuple[int, int] | None:
        j = safe.find(value)
        return (j, j + len(value)) if j >= 0 else None

    return True, f"{where} contains {value!r}", _match_evidence(text, i, i + len(value), red, again)


def _regex(check: Check, run: RunView, red: Redactor) -> Outcome:
    text, where = _target(check, run)
    if text is None:
        return None, where, ""
    pattern = re.compile(str(check.value))
    try:
        span = _bounded_search(pattern, text)
    except RegexNotRun as e:
        return None, f"{where}: /{check.value}/ {e}", ""
    if span is None:
        return False, f"{where} has no match for /{check.value}/", ""

    def again(safe: str) -> tuple[int, int] | None:
        try:
            return _bounded_search(pattern, safe)
        except RegexNotRun:  # the evidence is then cut about where the match was
            return None

    return True, f"{where} matches /{check.value}/", _match_evidence(text, *span, red, again)


class RegexNotRun(Exception):
    """A regex check's search could not start (no pipe or process left), ran past REGEX_TIMEOUT_S, or ended
    without an answer."""


def _bounded_search(pattern: re.Pattern[str], text: str) -> tuple[int, int] | None:
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


def _match_evidence(text: str, start: int, end: int, red: Redactor,
                    again: Callable[[str], tuple[int, int] | None]) -> str:
    """The text around a match, cut from the whole text redacted (the match found again in it, or, when
    the redaction took it, about where it was)."""
    safe = red.redact_text(text)
    if safe is text:
        return _around(text, start, end)
    span = again(safe)
    if span is None:
        at = min(len(red.redact_text(text[:start])), len(safe))
        span = (at, at)
    return _around(safe, *span)


def _file_exists(check: Check, run: RunView, red: Redactor) -> Outcome:
    from dreamcli.outcomes.evidence import OutsideWorkdir, resolve_in_workdir

    if not run.workdir:
        return None, "the session recorded no workdir", ""
    try:
        target = resolve_in_workdir(run.workdir, check.in_)
    except OutsideWorkdir as e:
        return None, str(e), ""
    try:
        size = os.stat(target).st_size
    except OSError:
        return False, f"{check.in_} does not exist", ""
    return True, f"{check.in_} exists", f"{size} bytes"


def _json_schema(check: Check, run: RunView, red: Redactor) -> Outcome:
    from jsonschema.validators import validator_for

    text, where = _target(check, run)
    if text is None:
        return None, where, ""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as e:
        return False, f"{where} is not valid JSON: {e}", red.redact_text(text)[:EVIDENCE_LIMIT]
    schema = check.resolved_schema or {}
    validator = validator_for(schema)(schema)
    error = next(iter(validator.iter_errors(data)), None)
    if error is not None:
        at = "/".join(str(p) for p in error.absolute_path) or "(root)"
        return False, f"{where} does not match the schema at {at}: {red.redact_text(error.message)}", ""
    return True, f"{where} matches the schema", ""


class RunningCommands:
    """The `command` checks running now (one per Grader), so an interrupt can kill them: they run in
    their own session, which shields them from the terminal's SIGINT. Once closed, no command starts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._procs: set[subprocess.Popen[bytes]] = set()
        self.closed = False

    def add(self, proc: subprocess.Popen[bytes]) -> bool:
        with self._lock:
            if self.closed:
                _kill_group(proc)
                return False
            self._procs.add(proc)
            return True

    def discard(self, proc: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._procs.discard(proc)

    def kill_all(self) -> int:
        """Close (no command starts after this) and kill every running command's process group."""
        with self._lock:
            self.closed = True
            procs = list(self._procs)
        for proc in procs:
            _kill_group(proc)
        return len(procs)

    def __len__(self) -> int:
        with self._lock:
            return len(self._procs)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(OSError):
        os.killpg(proc.pid, signal.SIGKILL)


def _command(check: Check, run: RunView, running: RunningCommands | None, red: Redactor) -> Outcome:
    """Run `check.run` in its own process group with its output in a temporary file (not a pipe: a
    daemon that keeps a pipe open would block the read). The group is always killed at the end, so
    nothing the command started in the background outlives the check."""
    if not run.workdir or not os.path.isdir(run.workdir):
        return None, "the session's workdir does not exist", ""
    if running is not None and running.closed:
        return None, f"`{check.run}` not run: grading was interrupted", ""
    with tempfile.TemporaryFile() as out:
        try:
            proc = subprocess.Popen(
                check.run or "", shell=True, cwd=run.workdir, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
            )
        except OSError as e:
            return None, f"cannot start the command: {e.strerror}", ""
        if running is not None and not running.add(proc):
            proc.wait()
            return None, f"`{check.run}` not run: grading was interrupted", ""
        timed_out = False
        try:
            proc.wait(timeout=check.timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc)  # before the leader is reaped, so its group id cannot be reused yet
            proc.wait()
        finally:
            _kill_group(proc)  # background children left in the group
            if running is not None:
                running.discard(proc)
        if running is not None and running.closed and proc.returncode is not None and proc.returncode < 0:
            return None, f"`{check.run}` killed: grading was interrupted", ""
        if timed_out:
            return None, f"`{check.run}` timed out after {check.timeout:g} s", ""
        tail = _tail(out, red)
    if proc.returncode == 0:
        return True, f"`{check.run}` exited 0", tail
    return False, f"`{check.run}` exited {proc.returncode}", tail


def _tail(f: Any, red: Redactor) -> str:
    """The last OUTPUT_TAIL characters of the output, cut from its last OUTPUT_SCAN bytes redacted (from
    a line start, so no secret begins before what is redacted)."""
    size = f.seek(0, os.SEEK_END)
    f.seek(max(0, size - OUTPUT_SCAN))
    data = f.read()
    if size > OUTPUT_SCAN:
        data = data[data.find(b"\n") + 1:] if b"\n" in data else b""
    return red.redact_text(data.decode("utf-8", errors="replace"))[-OUTPUT_TAIL:].strip()


def _budget(name: str, attr: str, fmt: str) -> Any:
    """A budget check on the run's total of `attr`: the session's own plus its sub-agents' (when they were
    read: `evidence.add_subagents`), the reason saying what was added and which named sessions were not."""
    def runner(check: Check, run: RunView, red: Redactor) -> Outcome:
        own = getattr(run, attr)
        kids = run.subagents
        actual = own + (getattr(kids.totals, attr) if kids is not None else 0)
        limit = check.value
        shown = fmt.format(actual)
        parts = ""
        notes = subagents_left_out(run)
        if kids is not None and (kids.count or notes):
            more = "".join(f"; {note}" for note in notes)
            parts = f" (lead {fmt.format(own)} + {kids.count} sub-agent{'' if kids.count == 1 else 's'}{more})"
        if actual <= limit:
            return True, f"{name} {shown}{parts} <= {fmt.format(limit)}", shown
        return False, f"{name} {shown}{parts} > {fmt.format(limit)}", shown

    return runner


def _around(text: str, start: int, end: int) -> str:
    lo = max(0, start - 60)
    hi = min(len(text), max(end, start + 1) + 60)
    return ("…" if lo else "") + text[lo:hi].replace("\n", " ") + ("…" if hi < len(text) else "")


_RUNNERS = {
    "contains": _contains,
    "regex": _regex,
    "file_exists": _file_exists,
    "json_schema": _json_schema,
    "command": _command,
    "max_turns": _budget("turns", "turns", "{}"),
    "max_cost_usd": _budget("cost", "cost_usd", "${:.4f}"),
    "max_tool_errors": _budget("tool errors", "tool_errors", "{}"),
}
BUDGETS = ("max_turns", "max_cost_usd", "max_tool_errors")  # the checks that count a lead's sub-agents too
