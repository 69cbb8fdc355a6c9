"""Rendering for `dreamcli dream`: progress on stderr while it reads sessions and while the model
proposes entries, and the result: the proposed operations on stdout, where to review them on stderr."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

from dreamcli.dream.report import deferred_line, not_proposed_line
from dreamcli.ui.console import err, live_view, neutralise_controls, out, safe_markup
from dreamcli.ui.waiting import Waiting

_OP_STYLE = {"add": "green", "update": "yellow", "merge": "cyan", "retire": "red", "counts": "dim",
             "create": "green"}


class DreamProgress:
    """On a terminal a bar over the bytes of session logs read, then a seconds counter while the model
    proposes entries (`… dreaming: proposing entries (model): 12s`); off a terminal (a cron log) a line
    when the model's turn starts and one now and then while it lasts (the reading prints nothing)."""

    def __init__(self, *, wait_after_s: float | None = None, wait_every_s: float | None = None) -> None:
        self.live = live_view()
        self._progress: Any = None
        self._task: Any = None
        self._lock = threading.Lock()
        # on a terminal the counter takes the bar's place at once; off one the first line says the stage
        after = wait_after_s if wait_after_s is not None else (0.0 if self.live else None)
        self._waiting = Waiting(self._write, tty=self.live, after_s=after, every_s=wait_every_s)
        self._model_since: float | None = None  # when the model's first batch was asked for
        if not self.live:
            return
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

        self._progress = Progress(TextColumn("dreaming: reading sessions"), BarColumn(), DownloadColumn(),
                                  TransferSpeedColumn(), console=err(), transient=True)
        self._progress.start()

    def update(self, phase: str, done: int, total: int) -> None:
        if phase == "propose":
            self._propose(done, total)
            return
        if self._progress is None:
            return
        if self._task is None:
            self._task = self._progress.add_task(phase, total=max(total, 1))
        self._progress.update(self._task, completed=done, total=max(total, 1))

    def _propose(self, done: int, total: int) -> None:
        """The model is asked for batch `done + 1` of `total` (or has answered them all: the counter goes)."""
        if done >= total:
            self._waiting.disarm()
            return
        self._stop_bar()  # the sessions are read: the bar (transient) leaves the line to the counter
        label = "dreaming: proposing entries (model" + (f", batch {done + 1} of {total}" if total > 1 else "") + ")"
        if self._model_since is None:
            self._model_since = time.monotonic()
            if not self.live:
                self._write(label + "\n")
            self._waiting.arm(label)
        else:  # the next batch: the counter counts on from the first
            self._waiting.arm(label, since=self._model_since)

    def _write(self, text: str) -> None:
        with self._lock:
            sys.stderr.write(text)
            sys.stderr.flush()

    def _stop_bar(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def close(self) -> None:
        self._waiting.close()
        self._stop_bar()


def _support(op: dict[str, Any]) -> str:
    s = op.get("support") or {}
    n = s.get("sessions")
    if not n:
        return ""
    if s.get("successes") is not None and op.get("kind") == "error_recovery":
        return f"{s['successes']}/{n} sessions"
    return f"{n} sessions"


def _names_an_entry(op: dict[str, Any]) -> bool:
    """Whether an operation's id is an entry's that exists already (a playbook update, merge, retire or counts); an
    added entry and a memory operation get a new id each time a dream runs."""
    return op.get("target", "playbook") == "playbook" and op["op"] != "add"


def render_result(result: Any, approved: dict[str, Any] | None = None, *, cmd: str = "dreamcli") -> None:
    """The proposed operations on stdout, the summary and next steps on stderr; every line wrapped
    between words to the terminal's width (COLUMNS, else 80, when not a terminal)."""
    from dreamcli.ui.prose import say

    def note(text: str) -> None:
        say(err(), text, hanging="  ")

    def command(label: str, cmd_line: str) -> None:  # a command to copy stays on one line, whole
        err().print(neutralise_controls(f"{label} {cmd_line}", one_line=True), markup=False, highlight=False,
                    soft_wrap=True)  # the workspace path in `--home PATH` is untrusted

    inputs = result.dream.get("inputs") or {}
    deferred = deferred_line(inputs)  # a killed or running session: not lost, read later (says when)
    if result.status == "nothing_new":
        note(f"Nothing new to dream about for playbook '{result.playbook}' (no new sessions or grades).")
        if deferred:
            note(deferred)
        return
    usage = result.dream.get("usage", {})
    how = "offline" if result.dream.get("offline") else f"{usage.get('model_calls', 0)} model calls"
    note(f"Read {inputs.get('sessions', 0)} sessions ({inputs.get('episodes', 0)} episodes, "
         f"{inputs.get('graded', 0)} graded) for playbook '{result.playbook}', {how}.")
    if deferred:
        note(deferred)
    ops = [op.to_json() for op in result.operations]  # rendered in their stored form
    console = out()
    for flaky in result.dream.get("flaky") or []:
        say(console, f"flaky   {flaky['text']}", hanging="    ",
            markup=f"[yellow]flaky[/]   {safe_markup(flaky['text'], one_line=True)}")
    held = not_proposed_line((result.dream.get("stats") or {}).get("not_proposed") or {})
    if not ops:  # say so when patterns recurred but were held back (the report lists them), not "nothing"
        note(held or "Nothing recurred often enough to propose.")
        if result.path:
            note(f"Report: {result.path / 'report.md'}")
        return
    for op in ops:
        style = _OP_STYLE.get(op["op"], "")
        where = op.get("section") or op.get("path") or ""
        sup = _support(op)
        blocking = [f for f in op.get("lint") or [] if f.get("severity") == "block"]
        warns = [f for f in op.get("lint") or [] if f.get("severity") != "block"]
        tail = f"{where}{' · ' + sup if sup else ''}"
        if result.status == "dry_run" and not _names_an_entry(op):  # its id would not be the real dream's
            say(console, f"{op['op']:<7} {tail}", hanging="    ",
                markup=f"[{style}]{op['op']:<7}[/] [dim]{safe_markup(tail, one_line=True)}[/]")
        else:
            say(console, f"{op['op']:<7} {op['entry_id']}  {tail}", hanging="    ", markup=f"[{style}]{op['op']:<7}[/] "
                f"[bold]{op['entry_id']}[/]  [dim]{safe_markup(tail, one_line=True)}[/]")
        text = op.get("text") if op["op"] != "retire" else f"(retire) {op.get('reason', '')}"
        if op.get("target") == "memory" and op["op"] != "retire":
            text = op.get("reason", "")
        for line in (text or "").splitlines()[:6]:
            say(console, line, indent="    ")
        for f in blocking:
            plain = f"BLOCK {f['rule']}: {f['message']}"
            say(console, plain, indent="    ", hanging="      ",
                markup=f"    [bold red]BLOCK[/] {safe_markup(plain.removeprefix('BLOCK '), one_line=True)}")
        for f in warns:
            plain = f"warn {f['rule']}: {f['message']}"
            say(console, plain, indent="    ", hanging="      ",
                markup=f"    [yellow]warn[/] {safe_markup(plain.removeprefix('warn '), one_line=True)}")
        if op.get("taint"):
            plain = (f"TAINTED evidence only from untrusted content ({', '.join(op['taint'])}); approve --all "
                     "leaves it out")
            say(console, plain, indent="    ", hanging="      ",
                markup=f"    [bold yellow]TAINTED[/] {safe_markup(plain.removeprefix('TAINTED '), one_line=True)}")
    if result.status == "dry_run":
        note(f"Dry run: {len(ops)} operations would be proposed; nothing was written.")
        if held:  # what recurred but was held back, as when nothing is proposed
            note(held)
        return
    note(f"Proposed {len(ops)} operations in dream {result.dream_id} (pending review). Nothing is live yet.")
    if held:
        note(held)
    note(f"Report: {result.path / 'report.md'}")
    if approved is not None:
        lift = len(approved.get("held_for_lift", []))
        hand = len((approved.get("held_for_hand_edit") or {}).get("entry_ids", []))
        note(f"Auto-approved: {len(approved.get('approved', []))}; held for review (blocking lint or tainted "
             f"evidence): {len(approved.get('held_for_review', []))}" + (f"; waiting for a pilot: {lift}" if lift
                                                                       else "")
             + (f"; held for the playbook's hand edit: {hand}." if hand else "."))
        return
    command("Review:", f"{cmd} playbooks diff {result.dream_id}")
    command("Approve:", f"{cmd} playbooks approve {result.dream_id} --all --yes   (or --entry ID)")
