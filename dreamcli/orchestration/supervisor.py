"""Run sessions in worker threads under a concurrency limit, and stop them all on Ctrl-C.

    sup = Supervisor(limit=4, parent_cancel=lead_cancel, grace_s=1.0)
    jobs = [Job(i, fn) for i, fn in enumerate(fns)]      # fn(job) runs one session
    sup.run(jobs)          # returns when every job is done; KeyboardInterrupt after stopping them

A job's function creates its session log as a `SupervisedWriter` (`job.writer`) and reports
progress through a `Monitor` (`job.monitor`); it passes `sup.cancel` to `run_agent`, which checks
it before every model call and tool call. On Ctrl-C in the waiting thread, or when `parent_cancel`
is set (a lead being stopped), `interrupt()` sets `cancel`, drops queued jobs, waits up to
`grace_s` for running sessions to end by themselves (status `interrupted`), then ends the logs of
those still blocked (in a slow model call or a long command) with `seal("interrupted")`: the log
gets its session.end now and the blocked thread's later writes fail. Then it closes the toolset of
every session still running (the Monitor keeps it: `Toolset` reports itself through the
`on_toolset` callback), which stops each bash shell's whole process group -- a command in flight
included -- so nothing a session started outlives the run. Workers are daemon threads, so a
blocked one never keeps the process alive. `stop` names what stopped them (`interrupted by SIGTERM`
and exit 143 for that signal in the waiting thread, else `interrupted by the user` and 130): the sealed
logs say it, and so does the session.end of a session that stopped by itself at the cancel (its loop
only saw the event, so its writer puts the supervisor's words in place of the user's).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dreamcli.agent.callbacks import RunCallbacks
from dreamcli.agent.usage import Totals
from dreamcli.errors import EXIT_INTERRUPTED
from dreamcli.interrupts import interrupt_reason
from dreamcli.orchestration.tally import SubagentTally
from dreamcli.sessions import schema
from dreamcli.sessions.writer import SessionWriter

if TYPE_CHECKING:
    from dreamcli.agent.results import RunResult, StartInfo
    from dreamcli.agent.tools.result import ToolResult

INTERRUPTED_ERROR = "interrupted by the user"


def sealed_error(reason: str) -> str:
    """The session.end error of a log the supervisor sealed, stopped for `reason` (`interrupted by SIGTERM`)."""
    return f"{reason} (stopped while waiting for the model or a tool)"


SEALED_ERROR = sealed_error(INTERRUPTED_ERROR)


class SupervisedWriter(SessionWriter):
    """A SessionWriter that a supervisor may end from another thread (`seal`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._gate = threading.Lock()
        self._sealed = False
        self.sealed_as: str | None = None  # the status seal() wrote in session.end (it then wins)
        self.lines = 0
        self.supervisor: Supervisor | None = None  # whose `stop` an interrupted session.end names

    def write(self, type_: str, ts: str | None = None, **fields: Any) -> dict[str, Any]:
        stop = self.supervisor.stop if self.supervisor is not None else None
        if (stop is not None and type_ == schema.SESSION_END and fields.get("status") == "interrupted"
                and fields.get("error") == INTERRUPTED_ERROR):
            fields["error"] = stop[0]  # the loop saw only the cancel event: say the signal that set it
        with self._gate:
            if self._sealed:
                raise RuntimeError(f"session {self.session_id} was ended by its supervisor")
            event = super().write(type_, ts, **fields)
            self.lines += 1
            return event

    def seal(self, status: str, *, error: str | None, totals: dict[str, Any]) -> bool:
        """End the session now (unless it has ended): write session.end and close. A log that got no
        line yet (the session had not started) is removed instead. True if session.end was written."""
        with self._gate:
            if self._sealed or self.ended:
                return False
            self._sealed = True
            if self.lines == 0:
                self.discard()  # the file, and its dated folder when that leaves it empty
                return False
            super().write(schema.SESSION_END, status=status, error=error, totals=totals)
            self.sealed_as = status
        self.close()
        return True

    def discard_if_empty(self) -> None:
        """Close and remove the file when nothing was written (the run failed before session.start)."""
        if self.lines == 0:
            self.seal("error", error=None, totals={})


class Monitor(RunCallbacks):
    """Counts what a session did (turns, tokens, tools; `subagents`: what its sub-agents spent, in all)
    and forwards every callback to `inner` (each of RunCallbacks' by name: its no-op defaults would
    otherwise answer in the inner view's place)."""

    def __init__(self, inner: RunCallbacks | None = None) -> None:
        self.inner = inner or RunCallbacks()
        self.totals = Totals()
        self.subagents = SubagentTally()
        self.started = False
        self.session_id: str | None = None
        self.toolset: Any = None  # the session's Toolset, closed by Supervisor.interrupt()
        self._t0 = time.perf_counter()

    def totals_json(self) -> dict[str, Any]:
        self.totals.duration_ms = (time.perf_counter() - self._t0) * 1000
        return self.totals.to_json()

    def on_toolset(self, toolset: Any) -> None:
        self.toolset = toolset

    def on_start(self, info: StartInfo) -> None:
        self.started, self.session_id = True, info.session_id
        self.inner.on_start(info)

    def on_text(self, text: str) -> None:
        self.inner.on_text(text)

    def on_thinking(self, text: str) -> None:
        self.inner.on_thinking(text)

    def on_message(self, turn: int, stop_reason: str | None, usage: dict[str, Any], cost_usd: float) -> None:
        self.totals.add_turn(usage, cost_usd)
        self.inner.on_message(turn, stop_reason, usage, cost_usd)

    def on_tool_start(self, name: str, key_argument: str) -> None:
        self.inner.on_tool_start(name, key_argument)

    def on_tool_end(self, name: str, key_argument: str, result: ToolResult, duration_ms: float) -> None:
        self.totals.add_tool(result.is_error)
        self.inner.on_tool_end(name, key_argument, result, duration_ms)

    def on_retry(self, attempt: int, reason: str, delay_s: float) -> None:
        self.inner.on_retry(attempt, reason, delay_s)

    def on_notice(self, message: str) -> None:
        self.inner.on_notice(message)

    def on_store_wait(self, waiting: bool) -> None:
        self.inner.on_store_wait(waiting)

    def on_turn_review(self, reviewing: bool) -> None:
        self.inner.on_turn_review(reviewing)

    def on_end(self, result: RunResult) -> None:
        self.inner.on_end(result)

    def on_subagent_totals(self, totals: Totals) -> None:
        self.subagents.add(totals)
        hook = getattr(self.inner, "on_subagent_totals", None)
        if hook is not None:
            hook(totals)

    def __getattr__(self, name: str) -> Any:  # optional hooks of the inner callbacks (on_subagent)
        if name.startswith("on_"):
            return getattr(self.inner, name)
        raise AttributeError(name)


@dataclass
class Job:
    """One session to run. `fn(job)` returns the job's result; it sets `writer`/`monitor` early."""

    index: int
    fn: Callable[[Job], Any]
    state: str = "queued"  # queued, running, done, skipped (never started: interrupted first)
    writer: SupervisedWriter | None = None
    monitor: Monitor | None = None
    result: Any = None
    error: BaseException | None = None
    sealed: bool = False  # its log was ended by interrupt()
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    flags: set[str] = field(default_factory=set, repr=False)

    def once(self, flag: str) -> bool:
        """True the first time `flag` is asked for (e.g. log `finished` once, from either thread)."""
        with self.lock:
            if flag in self.flags:
                return False
            self.flags.add(flag)
            return True


class Cancel(threading.Event):
    """A supervisor's cancel event, with what set it (`interrupt_reason`'s words and exit code): the
    sub-agents' supervisor of a lead it stops takes the reason from it, since all that reaches their
    thread is the event (a batch stopped by SIGTERM: their logs say SIGTERM, not the user)."""

    def __init__(self) -> None:
        super().__init__()
        self.reason: tuple[str, int] | None = None


class Supervisor:
    def __init__(self, limit: int, *, parent_cancel: threading.Event | None = None, grace_s: float = 1.0,
                 name: str = "dreamcli-session") -> None:
        self.limit = max(1, int(limit))
        self.parent_cancel = parent_cancel
        self.grace_s = grace_s
        self.name = name
        self.cancel = Cancel()
        self.stop: tuple[str, int] | None = None  # once interrupted: its words and exit code (interrupt_reason)
        self._lock = threading.Lock()
        self._queue: deque[Job] = deque()
        self._jobs: list[Job] = []
        self._pending = 0
        self._all_done = threading.Event()

    def run(self, jobs: list[Job]) -> None:
        """Run every job and wait for all of them (see the module docstring for interruption)."""
        self._jobs = list(jobs)
        self._queue = deque(self._jobs)
        self._pending = len(self._jobs)
        if not self._jobs:
            return
        self._all_done.clear()
        for n in range(min(self.limit, len(self._jobs))):
            threading.Thread(target=self._work, name=f"{self.name}-{n}", daemon=True).start()
        try:
            while not self._all_done.wait(0.05):
                if self.parent_cancel is not None and self.parent_cancel.is_set():
                    raise KeyboardInterrupt
        except KeyboardInterrupt as e:
            parent = self.parent_cancel.reason if isinstance(self.parent_cancel, Cancel) else None
            # named before the cancel the sessions see: the signal, or what stopped the parent
            self.stop = parent if parent is not None and type(e) is KeyboardInterrupt else interrupt_reason(e)
            self.interrupt()
            raise

    def _work(self) -> None:
        while True:
            with self._lock:
                if self.cancel.is_set():
                    self._skip_queued()
                if not self._queue:
                    return
                job = self._queue.popleft()
                job.state = "running"
            try:
                job.result = job.fn(job)
            except BaseException as e:  # reported by the caller; a worker never dies silently
                job.error = e
            finally:
                with self._lock:
                    job.state = "done"
                    self._finish_one()

    def _skip_queued(self) -> None:
        while self._queue:
            self._queue.popleft().state = "skipped"
            self._finish_one()

    def _finish_one(self) -> None:
        self._pending -= 1
        if self._pending <= 0:
            self._all_done.set()

    def interrupt(self) -> list[Job]:
        """Stop everything: cancel, drop queued jobs, wait `grace_s`, seal the logs of sessions still
        running, then close their toolsets (killing their commands). Returns the jobs sealed."""
        self.stop = self.stop or (INTERRUPTED_ERROR, EXIT_INTERRUPTED)  # the user's, unless `run` named a signal
        self.cancel.reason = self.stop
        self.cancel.set()
        with self._lock:
            self._skip_queued()
        deadline = time.monotonic() + self.grace_s
        try:
            while not self._all_done.is_set() and time.monotonic() < deadline:
                self._all_done.wait(0.02)
        except KeyboardInterrupt:  # a second Ctrl-C: stop waiting, close the logs now
            pass
        sealed, running = [], [job for job in self._jobs if job.state == "running"]
        for job in running:
            if job.writer is None:
                continue
            totals = job.monitor.totals_json() if job.monitor is not None else {}
            if job.writer.seal("interrupted", error=sealed_error(self.stop[0]), totals=totals):
                job.sealed = True
                sealed.append(job)
        close_toolsets([job.monitor.toolset for job in running if job.monitor is not None])
        return sealed


def close_toolsets(toolsets: list[Any], timeout_s: float = 10.0) -> None:
    """Close toolsets at once (each stops its shell's processes: SIGTERM, a grace, SIGKILL)."""
    threads = [threading.Thread(target=ts.close, name="dreamcli-close", daemon=True)
               for ts in toolsets if ts is not None]
    for th in threads:
        th.start()
    deadline = time.monotonic() + timeout_s
    for th in threads:
        th.join(max(0.0, deadline - time.monotonic()))
