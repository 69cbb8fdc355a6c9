"""Live progress of `dreamcli run TASK... --parallel N` on stderr, and its summary table on stdout.

On a terminal (with NO_COLOR too, uncoloured; not --quiet) a Rich Live table shows every task's state (queued,
running, done, failed, interrupted), turns, tool calls, sub-agents and elapsed time under a counts line; with
many tasks only the running and the latest finished ones are listed. Without a terminal it prints
one plain line when a task starts and one when it ends. Thread-safe: tasks report from workers.
The summary is the same after an interrupted batch (the live table gives way to it): the tasks that ran,
those stopped as interrupted, then a line counting (and, when few, naming) the tasks never started.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dreamcli.agent.callbacks import RunCallbacks
from dreamcli.ui.console import _color_allowed, err, live_view, neutralise_controls, safe_markup
from dreamcli.ui.prose import print_hanging
from dreamcli.ui.tables import Col

if TYPE_CHECKING:
    from dreamcli.agent.results import StartInfo
    from dreamcli.agent.tools.base import ToolResult
    from dreamcli.orchestration.batch import BatchRun, BatchTask

_STYLE = {"queued": "dim", "running": "cyan", "done": "green", "failed": "red", "interrupted": "yellow"}
_MAX_LIVE_ROWS = 20
_NAMED_NOT_STARTED = 10  # never-started tasks named in the summary's line when there are no more
_LIVE_COLS = [Col("#", kind="num", justify="right"), Col("task", cut=2), Col("state"),
              Col("turns", kind="num", priority=3, justify="right"), Col("tools", kind="num", priority=4,
                                                                         justify="right"),
              Col("sub-agents", priority=2), Col("time", kind="num", priority=1, justify="right"),
              Col("session", kind="id")]


def _duration(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 60 else f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


def _tokens(n: int | None) -> str:
    if n is None:
        return "-"
    return f"{n / 1000:.1f}k" if n >= 10_000 else str(n)


@dataclass
class _Row:
    index: int
    label: str
    state: str = "queued"
    session_id: str = ""
    turns: int = 0
    tools: int = 0
    tool_errors: int = 0
    children_running: int = 0
    children_done: int = 0
    t0: float = 0.0
    t1: float = 0.0
    detail: str = ""

    def elapsed(self) -> float:
        if not self.t0:
            return 0.0
        return (self.t1 or time.monotonic()) - self.t0


class _RowCallbacks(RunCallbacks):
    def __init__(self, view: ParallelView, row: _Row) -> None:
        self.view, self.row = view, row

    def on_start(self, info: StartInfo) -> None:
        with self.view.lock:
            self.row.state, self.row.session_id, self.row.t0 = "running", info.session_id, time.monotonic()
        self.view.started(self.row)

    def on_message(self, turn: int, stop_reason: str | None, usage: dict[str, Any], cost_usd: float) -> None:
        with self.view.lock:
            self.row.turns = turn

    def on_tool_end(self, name: str, key_argument: str, result: ToolResult, duration_ms: float) -> None:
        with self.view.lock:
            self.row.tools += 1
            self.row.tool_errors += int(result.is_error)

    def on_subagent(self, event: str, child_session_id: str, brief: str, status: str | None) -> None:
        with self.view.lock:
            if event == "started":
                self.row.children_running += 1
            else:
                self.row.children_running = max(0, self.row.children_running - 1)
                self.row.children_done += 1


class ParallelView:
    """Progress of a batch; use as a context manager around `run_batch`."""

    def __init__(self, tasks: list[BatchTask], *, quiet: bool = False) -> None:
        self.rows = [_Row(t.index, t.label) for t in tasks]
        self.quiet = quiet
        self.live_mode = not quiet and live_view()
        self.lock = threading.Lock()
        self._live: Any = None

    # --- hooks for run_batch ---------------------------------------------------------------------
    def callbacks_for(self, task: BatchTask) -> RunCallbacks:
        return _RowCallbacks(self, self.rows[task.index])

    def started(self, row: _Row) -> None:
        if self.quiet or self.live_mode:
            return
        self._plain(f"> [{row.index + 1}/{len(self.rows)}] {row.label} started (session {row.session_id})")

    def done(self, run: BatchRun) -> None:
        row = self.rows[run.index]
        with self.lock:
            row.state = "done" if run.ok else "interrupted" if run.status == "interrupted" else "failed"
            row.t1 = time.monotonic()
            if not row.t0:
                row.t0 = row.t1 - run.duration_s
            outcome = (run.outcome or {}).get("result")
            row.detail = run.status + (f", outcome {outcome}" if outcome else "")
            if run.error and not run.ok:
                row.detail += f": {run.error}"
            counts = self._counts()
        if self.quiet or self.live_mode:
            return
        turns = f"{row.turns} turn{'s' if row.turns != 1 else ''}"
        self._plain(f"{'ok' if run.ok else 'x'} [{run.index + 1}/{len(self.rows)}] {row.label} {row.detail} · "
                    f"{turns} · {_duration(row.elapsed())}  ({counts})")

    # --- rendering -------------------------------------------------------------------------------
    def _counts(self) -> str:
        n = {s: 0 for s in _STYLE}
        for r in self.rows:
            n[r.state] += 1
        shown = [("running", n["running"]), ("done", n["done"]), ("failed", n["failed"]), ("queued", n["queued"])]
        return " · ".join(f"{k} {v}" for k, v in shown + ([("interrupted", n["interrupted"])]
                                                           if n["interrupted"] else []))

    def _plain(self, line: str) -> None:
        with self.lock:
            sys.stderr.write(neutralise_controls(line, one_line=True) + "\n")
            sys.stderr.flush()

    def __rich_console__(self, console: Any, options: Any) -> Any:
        """The counts line and the table at the width Live gives it, fitted as every table is (tables.py):
        the less useful columns go first (tool calls, turns, sub-agents), the task is cut at a word boundary
        before the time goes, and the session id is never cut (two ids differ only in their last letters)."""
        from rich.console import Group

        from dreamcli.ui.tables import build_table

        with self.lock:
            rows = list(self.rows)
            counts = self._counts()
        shown = rows
        if len(rows) > _MAX_LIVE_ROWS:
            running = [r for r in rows if r.state == "running"]
            finished = sorted((r for r in rows if r.state in ("done", "failed", "interrupted")), key=lambda r: r.t1)
            room = max(0, _MAX_LIVE_ROWS - len(running))
            shown = sorted(running[:_MAX_LIVE_ROWS] + (finished[-room:] if room else []), key=lambda r: r.index)
        cells = []
        for r in shown:
            subs = f"{r.children_running} running, {r.children_done} done" if (r.children_running or
                                                                                 r.children_done) else ""
            tools = f"{r.tools}" + (f" ({r.tool_errors} err)" if r.tool_errors else "")
            cells.append([str(r.index + 1), safe_markup(r.label, one_line=True), f"[{_STYLE[r.state]}]{r.state}[/]",
                          str(r.turns or ""), tools if r.tools else "", subs,
                          _duration(r.elapsed()) if r.t0 else "", r.session_id])
        yield Group(f"[bold]{len(rows)} tasks[/] · {counts}", build_table(_LIVE_COLS, cells, options.max_width))

    def __enter__(self) -> ParallelView:
        if self.live_mode:
            from rich.live import Live

            self._live = Live(self, console=err(), refresh_per_second=4, transient=True)
            self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None


def _state(run: BatchRun) -> str:
    """ok, failed (ran and failed), interrupted or not_started (as `BatchRun.state`)."""
    if run.ok:
        return "ok"
    return run.status if run.status in ("interrupted", "not_started") else "failed"


def repeated_files_line(files: list[Path]) -> str:
    """The warning for task files given more than once (each runs once)."""
    if len(files) == 1:
        return f"{files[0]} given more than once; it runs once"
    named = ", ".join(str(f) for f in files[:3]) + (", …" if len(files) > 3 else "")
    return f"{len(files)} task files given more than once ({named}); each runs once"


def render_batch_summary(runs: list[BatchRun]) -> None:
    """The summary table on stdout (one row per task that started; its tokens and cost are the run's in all:
    the lead's and its sub-agents') and a counts line on stderr; after an interrupt, the failed ones listed
    are those that ran and failed, and a last line counts the tasks never started (naming up to 10)."""
    from dreamcli.ui.tables import print_table

    cols = [Col("#", kind="num", justify="right"), Col("task", cut=3), Col("status"), Col("outcome", priority=1),
            Col("turns", kind="num", priority=5, justify="right"), Col("tokens", kind="num", priority=4,
                                                                       justify="right"),
            Col("cost", kind="num", priority=3, justify="right"), Col("time", kind="num", priority=6,
                                                                      justify="right"),
            Col("session", kind="id", priority=2)]
    rows = []
    started = [r for r in runs if r.status != "not_started"]
    for r in started:
        res = r.result
        t = res.totals if res is not None else None
        subs = getattr(r, "subagents", None)
        kids: dict[str, Any] = subs.to_json() if subs is not None else {"input_tokens": 0, "output_tokens": 0,
                                                                         "cost_usd": 0.0}
        outcome = (r.outcome or {}).get("result") or "-"
        score = (r.outcome or {}).get("score")
        if score is not None:
            outcome += f" ({score:.2f})"
        style = "green" if r.ok else "yellow" if r.status == "interrupted" else "red"
        rows.append([str(r.index + 1), safe_markup(r.task, one_line=True),
                     f"[{style}]{safe_markup(r.status, one_line=True)}[/]", safe_markup(outcome, one_line=True),
                     str(t.turns) if t else "-",
                     _tokens(t.input_tokens + t.output_tokens + kids["input_tokens"] + kids["output_tokens"])
                     if t else "-", f"${t.cost_usd + kids['cost_usd']:.4f}" if t else "-", _duration(r.duration_s),
                     r.session_id or "-"])
    print_table(cols, rows)
    states = [_state(r) for r in started]
    failed = [r for r, state in zip(started, states, strict=True) if state == "failed"]
    stopped = states.count("interrupted")
    line = (f"{len(started)} run{'s' if len(started) != 1 else ''}: {states.count('ok')} ok, {len(failed)} failed"
            + (f", {stopped} interrupted" if stopped else ""))
    if _color_allowed(sys.stderr):
        err().print(f"[{'red' if failed or stopped else 'green'}]■[/] {line}", highlight=False)
    else:
        sys.stderr.write(line + "\n")
    for r in failed:
        why = r.error or ((r.outcome or {}).get("result") and f"outcome {(r.outcome or {}).get('result')}") or r.status
        msg = f"  {r.task}: {why}"
        if _color_allowed(sys.stderr):
            print_hanging(err(), f"  [red]✗[/] {safe_markup(f'{r.task}: {why}', one_line=True)}")
        else:
            sys.stderr.write(neutralise_controls(msg, one_line=True) + "\n")
    never = [r for r in runs if r.status == "not_started"]
    if never:
        line = f"{len(never)} of {len(runs)} task{'s' if len(runs) != 1 else ''} never started"
        if len(never) <= _NAMED_NOT_STARTED:
            line += ": " + ", ".join(_file_shown(r) for r in never)
        if _color_allowed(sys.stderr):
            print_hanging(err(), safe_markup(line, one_line=True))
        else:
            sys.stderr.write(neutralise_controls(line, one_line=True) + "\n")
    sys.stderr.flush()


def pending_upload_lines(runs: list[BatchRun], fix: str) -> list[str]:
    """The warnings of the runs whose session is not all in the session store (`upload` "pending"), as a single
    `run` says it: one per session, or one counting them past _NAMED_NOT_STARTED. `fix` sends them (`doctor --fix`)."""
    pending = [r.session_id for r in runs if r.result is not None and r.result.upload == "pending" and r.session_id]
    if len(pending) <= _NAMED_NOT_STARTED:
        return [f"upload of session {sid} pending: `{fix}` sends it to the session store" for sid in pending]
    return [f"upload of {len(pending)} sessions pending ({', '.join(pending[:3])}, …): `{fix}` sends them to the "
            "session store"]


def _file_shown(run: BatchRun) -> str:
    """A task's file as a rerun would name it: relative to the current folder when inside it, else as is
    (the task's name when it has no file)."""
    file = getattr(run, "file", None)
    if not file:
        return run.task
    try:
        rel = os.path.relpath(file)
    except ValueError:  # another drive
        return str(file)
    return str(file) if rel == ".." or rel.startswith(".." + os.sep) else rel
