"""Rendering for `dreamcli dream`: progress while reading sessions (stderr, only on a terminal) and
the result: the proposed operations on stdout, where to review them on stderr."""

from __future__ import annotations

from typing import Any

from dreamcli.ui.console import err, info, out

_OP_STYLE = {"add": "green", "update": "yellow", "merge": "cyan", "retire": "red", "counts": "dim",
             "create": "green"}


class DreamProgress:
    """A progress bar over the bytes of session logs read; silent when stderr is not a terminal."""

    def __init__(self) -> None:
        self._progress: Any = None
        self._task: Any = None
        console = err()
        if not console.is_terminal:
            return
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

        self._progress = Progress(TextColumn("dreaming: reading sessions"), BarColumn(), DownloadColumn(),
                                  TransferSpeedColumn(), console=console, transient=True)
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
    from rich.markup import escape

    if result.status == "nothing_new":
        info(f"Nothing new to dream about for playbook '{result.playbook}' (no new sessions or grades).")
        return
    inputs = result.dream.get("inputs", {})
    usage = result.dream.get("usage", {})
    how = "offline" if result.dream.get("offline") else f"{usage.get('model_calls', 0)} model calls"
    info(f"Read {inputs.get('sessions', 0)} sessions ({inputs.get('episodes', 0)} episodes, "
         f"{inputs.get('graded', 0)} graded) for playbook '{result.playbook}', {how}.")
    ops = [op.to_json() for op in result.operations]  # rendered in their stored form
    for flaky in result.dream.get("flaky") or []:
        out().print(f"[yellow]flaky[/]   {escape(flaky['text'])}", markup=True, highlight=False, soft_wrap=True)
    if not ops:
        info("Nothing recurred often enough to propose.")
        if result.path:
            info(f"Report: {result.path / 'report.md'}")
        return
    console = out()
    for op in ops:
        style = _OP_STYLE.get(op["op"], "")
        head = f"[{style}]{op['op']:<7}[/] [bold]{op['entry_id']}[/]"
        where = op.get("section") or op.get("path") or ""
        sup = _support(op)
        blocking = [f for f in op.get("lint") or [] if f.get("severity") == "block"]
        warns = [f for f in op.get("lint") or [] if f.get("severity") != "block"]
        tail = f"  [dim]{escape(where)}{' · ' + sup if sup else ''}[/]"
        console.print(head + tail, markup=True, highlight=False)
        text = op.get("text") if op["op"] != "retire" else f"(retire) {op.get('reason', '')}"
        if op.get("target") == "memory" and op["op"] != "retire":
            text = op.get("reason", "")
        for line in (text or "").splitlines()[:6]:
            console.print("    " + escape(line), markup=True, highlight=False, soft_wrap=True)
        for f in blocking:
            console.print(f"    [bold red]BLOCK[/] {escape(f['rule'])}: {escape(f['message'])}", markup=True)
        for f in warns:
            console.print(f"    [yellow]warn[/] {escape(f['rule'])}: {escape(f['message'])}", markup=True)
        if op.get("taint"):
            console.print(f"    [bold yellow]TAINTED[/] evidence only from untrusted content "
                          f"({escape(', '.join(op['taint']))}); approve --all leaves it out", markup=True)
    if result.status == "dry_run":
        info(f"Dry run: {len(ops)} operations would be proposed; nothing was written.")
        return
    info(f"Proposed {len(ops)} operations in dream {result.dream_id} (pending review). Nothing is live yet.")
    info(f"Report: {result.path / 'report.md'}")
    if approved is not None:
        info(f"Auto-approved: {len(approved.get('approved', []))}; held for review (blocking lint): "
             f"{len(approved.get('held_for_review', []))}.")
        return
    info(f"Review: {cmd} playbooks diff {result.dream_id}")
    info(f"Approve: {cmd} playbooks approve {result.dream_id} --all --yes   (or --entry ID)")
