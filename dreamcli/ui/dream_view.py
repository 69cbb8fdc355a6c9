"""Rendering for `dreamcli dream`: progress while reading sessions (stderr, only on a terminal) and
the result: the proposed operations on stdout, where to review them on stderr."""

from __future__ import annotations

from typing import Any

from dreamcli.dream.report import not_proposed_line
from dreamcli.ui.console import err, live_view, neutralise_controls, out, safe_markup

_OP_STYLE = {"add": "green", "update": "yellow", "merge": "cyan", "retire": "red", "counts": "dim",
             "create": "green"}


class DreamProgress:
    """A progress bar over the bytes of session logs read; silent when stderr is not a terminal."""

    def __init__(self) -> None:
        self._progress: Any = None
        self._task: Any = None
        if not live_view():
            return
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

        self._progress = Progress(TextColumn("dreaming: reading sessions"), BarColumn(), DownloadColumn(),
                                  TransferSpeedColumn(), console=err(), transient=True)
        self._progress.start()

    def update(self, phase: str, done: int, total: int) -> None:
        if self._progress is None:
            return
        if self._task is None:
            self._task = self._progress.add_task(phase, total=max(total, 1))
        self._progress.update(self._task, completed=done, total=max(total, 1))

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def _support(op: dict[str, Any]) -> str:
    s = op.get("support") or {}
    n = s.get("sessions")
    if not n:
        return ""
    if s.get("successes") is not None and op.get("kind") == "error_recovery":
        return f"{s['successes']}/{n} sessions"
    return f"{n} sessions"


def render_result(result: Any, approved: dict[str, Any] | None = None, *, cmd: str = "dreamcli") -> None:
    """The proposed operations on stdout, the summary and next steps on stderr; every line wrapped
    between words to the terminal's width (COLUMNS, else 80, when not a terminal)."""
    from dreamcli.ui.prose import say

    def note(text: str) -> None:
        say(err(), text, hanging="  ")

    def command(label: str, cmd_line: str) -> None:  # a command to copy stays on one line, whole
        err().print(neutralise_controls(f"{label} {cmd_line}", one_line=True), markup=False, highlight=False,
                    soft_wrap=True)  # the workspace path in `--home PATH` is untrusted

    if result.status == "nothing_new":
        note(f"Nothing new to dream about for playbook '{result.playbook}' (no new sessions or grades).")
        return
    inputs = result.dream.get("inputs", {})
    usage = result.dream.get("usage", {})
    how = "offline" if result.dream.get("offline") else f"{usage.get('model_calls', 0)} model calls"
    note(f"Read {inputs.get('sessions', 0)} sessions ({inputs.get('episodes', 0)} episodes, "
         f"{inputs.get('graded', 0)} graded) for playbook '{result.playbook}', {how}.")
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
        say(console, f"{op['op']:<7} {op['entry_id']}  {tail}", hanging="    ",
            markup=f"[{style}]{op['op']:<7}[/] [bold]{op['entry_id']}[/]  [dim]{safe_markup(tail, one_line=True)}[/]")
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
        note(f"Auto-approved: {len(approved.get('approved', []))}; held for review (blocking lint or tainted "
             f"evidence): {len(approved.get('held_for_review', []))}" + (f"; waiting for a pilot: {lift}." if lift
                                                                       else "."))
        return
    command("Review:", f"{cmd} playbooks diff {result.dream_id}")
    command("Approve:", f"{cmd} playbooks approve {result.dream_id} --all --yes   (or --entry ID)")
