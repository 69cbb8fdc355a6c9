"""Rendering for `dreamcli grade`: the results table, progress, calibration and batch status."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

from dreamcli.outcomes.scoretext import score_text
from dreamcli.ui.console import err, neutralise_controls, note, out, print_block, safe_markup

_STYLE = {"satisfied": "green", "needs_revision": "yellow", "failed": "red", "partial": "cyan", "error": "bold red"}
TABLE_LIMIT = 200


def render_results(rows: Sequence[Any], totals: Any, *, hidden: int = 0) -> None:
    """Table of graded sessions (session, result, score, failing criteria), then the totals line."""
    from dreamcli.ui.tables import Col, print_table

    if rows:
        cols = [Col("session", kind="id"), Col("task", priority=2), Col("outcome", priority=3), Col("result"),
                Col("score", kind="num", justify="right", priority=1), Col("failing criteria")]
        table_rows = []
        for r in rows:
            style = _STYLE.get(r.result, "")
            result = safe_markup(r.result, one_line=True)
            failing = safe_markup(", ".join(r.failing), one_line=True) or "-"
            note = f"[red]{safe_markup(r.error or '', one_line=True)}[/]" if r.result == "error" else failing
            if r.result == "partial":  # which, and why: once per kind below the table
                note += f" [cyan]({len(r.skipped)} not judged)[/]"
            if r.flaky:
                note += f" [yellow](flaky: {safe_markup(', '.join(r.flaky), one_line=True)})[/]"
            table_rows.append([
                safe_markup(r.session_id, one_line=True), safe_markup(r.task or "-", one_line=True),
                safe_markup(r.outcome, one_line=True),
                f"[{style}]{result}[/]" if style else result,
                score_text(r.score, getattr(r, "threshold", None)), note,
            ])
        print_table(cols, table_rows)
    _not_judged(rows)
    if hidden:
        err().print(f"{hidden} more satisfied session(s) not shown (use --json for all)", style="dim")
    err().print(neutralise_controls(totals.line(), one_line=True), markup=False, highlight=False)


def _not_judged(rows: Sequence[Any]) -> None:
    """One line per set of criteria left unjudged in partial grades: which, and why, from the first such grade's
    explanation (a workdir that is not here names that session's; --json has each grade's own)."""
    groups: dict[tuple[str, ...], list[Any]] = {}
    for r in rows:
        if r.result == "partial" and r.skipped:
            groups.setdefault(tuple(r.skipped), []).append(r)
    for same in groups.values():
        head = (same[0].explanation or "").splitlines()[0] if same[0].explanation else ""
        why = head.split("; ", 1)[1] if "; " in head else head.removeprefix("partial: ")
        line = (f"{len(same)} partial session(s): {why}" + (f" (e.g. {same[0].session_id})" if len(same) > 1 else ""))
        note(neutralise_controls(line, one_line=True))


@contextlib.contextmanager
def progress(label: str, total: int | None = None) -> Iterator[Any]:
    """A progress display on stderr when it is a terminal (uncoloured with NO_COLOR); otherwise a silent counter."""
    from dreamcli.ui.console import live_view

    if not live_view():
        yield _Silent()
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err(), transient=True) as p:
        task = p.add_task(label, total=total)
        yield _Live(p, task)


class _Silent:
    def advance(self, n: int = 1) -> None:
        pass

    def update(self, **kwargs: Any) -> None:
        pass


class _Live:
    def __init__(self, p: Any, task: Any) -> None:
        self.p = p
        self.task = task

    def advance(self, n: int = 1) -> None:
        self.p.advance(self.task, n)

    def update(self, **kwargs: Any) -> None:
        self.p.update(self.task, **kwargs)


def batch_status(batch_id: str, status: str, counts: dict[str, int]) -> None:
    done = sum(v for k, v in counts.items() if k != "processing")
    total = done + counts.get("processing", 0)
    err().print(neutralise_controls(f"batch {batch_id}: {status}, {done}/{total} answered"
                                    + (f" ({counts.get('errored', 0)} errored)" if counts.get("errored") else ""),
                                    one_line=True),
                markup=False, highlight=False)


def render_calibration(report: Any) -> None:
    from rich.table import Table

    table = Table(box=None, header_style="bold", pad_edge=False)
    for col in ("example", "label", "predicted", "score", "failing criteria"):
        table.add_column(col)
    for row in report.rows:
        agree = row.predicted == row.label
        pred = row.predicted or "error"
        table.add_row(str(row.index), safe_markup(row.label, one_line=True),
                      f"[{'green' if agree else 'red'}]{safe_markup(pred, one_line=True)}[/]",
                      "-" if row.score is None else f"{row.score:.2f}",
                      safe_markup(row.error or ", ".join(row.failing) or "-", one_line=True))
    print_block(out(), table)
    kappa = "n/a" if report.kappa is None else f"{report.kappa:.2f}"
    verdict = "[green]agrees[/]" if report.ok else "[red]below threshold[/]"
    err().print(f"TPR {report.tpr:.2f} (>= {report.min_tpr}), TNR {report.tnr:.2f} (>= {report.min_tnr}), "
                f"Cohen's kappa {kappa} (>= {report.min_kappa}): {verdict}")
