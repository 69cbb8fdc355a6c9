"""`dreamcli grade`: grade sessions against an outcome spec (deterministic checks + a grader model)."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from dreamcli.cli.common import config, named_stop, open_workspace, print_json
from dreamcli.errors import UsageError

if TYPE_CHECKING:
    from dreamcli.outcomes.grading import Grader, GradeResult, Job
    from dreamcli.outcomes.report import JsonStream, Totals
    from dreamcli.outcomes.selection import JobSource, Selection
    from dreamcli.outcomes.spec import OutcomeSpec
    from dreamcli.workspace.home import Workspace

HELP = """Grade sessions against an outcome spec (deterministic checks + a grader model); a CI step.

Exit codes: 0 every session satisfied, 1 a graded failure, 2 a bad spec or usage, 3 a grader error
(unscored), 4 no model credentials."""
EPILOG = """Examples:

\b
  dreamcli grade --last 20 --outcome sample_outcomes/contract-review.yaml
  dreamcli grade 01JD3 --junit grades.xml --summary "$GITHUB_STEP_SUMMARY"
  dreamcli grade --task contract-review --since 7d --trials 3 --json
  dreamcli grade --outcome sample_outcomes/contract-review.yaml --calibrate
  dreamcli grade --since 30d --batch     Batches API: half price, resumable

Details: docs/outcomes.md.
"""


def register(app: typer.Typer, sub: str | None = None) -> None:
    """Add the command to `app` (`sub`, the word after it, only matters to a group)."""
    @app.command("grade", help=HELP, epilog=EPILOG, short_help="Grade sessions against an outcome spec (CI).")
    def grade_cmd(
        ctx: typer.Context,
        sessions: list[str] = typer.Argument(None, metavar="SESSION_ID", help="Session ids or unique prefixes.",
                                       show_default=False),
        last: int = typer.Option(None, "--last", min=1, metavar="N", help="The N most recent sessions."),
        since: str = typer.Option(None, "--since", metavar="WHEN",
                                  help="Sessions started after this (7d, 12h, 2026-11-01)."),
        task: str = typer.Option(None, "--task", metavar="TASK", help="Sessions of this task name."),
        include_pilot: bool = typer.Option(False, "--include-pilot", help="--last/--since/--task also take "
                                           "`dreamcli pilot` trials (left out by default: their pilot grades them)."),
        outcome: Path = typer.Option(None, "--outcome", metavar="SPEC",
                                     help="Outcome spec (YAML or markdown rubric); default: the spec the "
                                     "session's task named."),
        parallel: int = typer.Option(None, "--parallel", min=1, max=256, metavar="N",
                                     help="Grade N sessions at a time (default: config limits.concurrency)."),
        concurrency: int = typer.Option(None, "--concurrency", min=1, max=256, metavar="N", hidden=True,
                                        help="Old name of --parallel (kept for scripts)."),
        trials: int = typer.Option(1, "--trials", min=1, max=15, metavar="N",
                                   help="Grader calls per session; majority vote, disagreements flagged flaky."),
        no_cache: bool = typer.Option(False, "--no-cache", help="Call the grader even for cached verdicts."),
        checks_only: bool = typer.Option(False, "--checks-only",
                                         help="Only deterministic checks: no model, grader criteria skipped."),
        grader_model: str = typer.Option(None, "--grader", metavar="MODEL",
                                         help="Grader model (default: the spec's, then config models.grader)."),
        as_json: bool = typer.Option(False, "--json", help="Print the versioned JSON report on stdout."),
        junit: Path = typer.Option(None, "--junit", metavar="FILE", help="Write a JUnit XML report."),
        summary: Path = typer.Option(None, "--summary", metavar="FILE",
                                     help="Append a markdown summary to FILE (kept < 1 MiB with what it "
                                     "held; its mode kept), e.g. $GITHUB_STEP_SUMMARY."),
        calibrate: bool = typer.Option(False, "--calibrate",
                                       help="Grade the spec's own examples and report agreement with their "
                                       "labels (TPR, TNR, Cohen's kappa); exit 1 below the threshold."),
        batch: bool = typer.Option(False, "--batch", help="Send grader calls through the Message Batches API "
                                   "(half price); an interrupted run resumes its batch."),
        poll_interval: float = typer.Option(10.0, "--poll-interval", min=0.0, metavar="SECONDS",
                                            help="Seconds between batch polls."),
    ) -> None:
        from dreamcli.outcomes.grading import GradeOptions, Grader
        from dreamcli.outcomes.report import JsonStream, Totals
        from dreamcli.outcomes.selection import Selection
        from dreamcli.outcomes.spec import load_spec
        from dreamcli.ui.console import warn

        # --json (grading, not --calibrate): one document on stdout whatever happens once the command line
        # has parsed, a refusal included (exit 2, 4): started now, ended with `error` by _end_report
        totals = Totals()
        stream = JsonStream(sys.stdout) if as_json and not calibrate else None
        ws: Workspace | None = None
        try:
            ws = open_workspace(ctx, create=False)
            cfg = config(ctx)
            _check_options(since, task, junit, summary)
            options = GradeOptions(trials=trials, use_cache=not no_cache, checks_only=checks_only,
                                   model_override=grader_model)
            spec = load_spec(outcome) if outcome is not None else None
            grader = Grader(ws, cfg, options, on_warning=warn)  # a grade cache it cannot write: said once
            if stream is not None:
                stream.redactor = grader.redactor
            if calibrate:
                if spec is None:
                    raise UsageError("--calibrate needs --outcome SPEC (it grades the spec's own examples)")
                if sessions or last or since or task:
                    raise UsageError("--calibrate grades the spec's examples, not sessions: drop the session "
                                     "selection")
                _calibrate(grader, spec, as_json)
                return
            _grade(ws, grader, spec, Selection(ids=sessions or [], last=last, since=since, task=task,
                                               include_pilot=include_pilot),
                   parallel or concurrency or cfg.limits.concurrency, stream=stream, totals=totals, junit=junit,
                   summary=summary, batch=batch, poll_interval=poll_interval)
        except (BrokenPipeError, typer.Exit):
            raise
        except BaseException as e:
            _end_report(stream, totals, e, None, ws)
            raise


def _check_options(since: str | None, task: str | None, junit: Path | None, summary: Path | None) -> None:
    """Everything that can be refused before any session is read or any model called (exit 2)."""
    from dreamcli.timeutil import parse_since
    from dreamcli.workspace.fsutil import check_output_file

    if since is not None:
        if not since.strip():
            raise UsageError("--since: give a time such as 7d, 12h or 2026-11-01")
        parse_since(since)  # a UsageError for what it cannot read, or what is out of range
    if task is not None and not task.strip():
        raise UsageError("--task: give a task name")
    for flag, path in (("--junit", junit), ("--summary", summary)):
        if path is not None:
            check_output_file(path, flag)


def _grade(ws: Workspace, grader: Grader, spec: OutcomeSpec | None, selection: Selection, concurrency: int, *,
           stream: JsonStream | None, totals: Totals, junit: Path | None, summary: Path | None, batch: bool,
           poll_interval: float) -> None:
    from dreamcli.outcomes.selection import JobSource
    from dreamcli.sessions.running import RULE
    from dreamcli.ui import grade_view
    from dreamcli.ui.console import warn

    source = JobSource(ws, selection, spec)
    for sid in source.running_named():  # named by id: graded all the same, but say so
        warn(f"session {sid} looks still running ({RULE}): graded as it stands")
    try:
        jobs: Iterable[Job] = source
        if batch:
            from dreamcli.outcomes.batch import run_batch

            jobs = list(source)
            run_batch(grader, jobs, poll_interval=poll_interval, on_status=grade_view.batch_status,
                      on_warning=warn)
            grader.options.allow_model_calls = False
        _run(grader, source, jobs, totals, stream, concurrency, junit=junit, summary=summary)
    except (BrokenPipeError, typer.Exit):
        raise
    except BaseException as e:
        _end_report(stream, totals, e, source, ws)
        raise


def _left_out(source: JobSource | None) -> dict[str, list[str]]:
    """What `--json` reports a filter left out: sessions whose task names no spec, pilot trials, sessions still
    running."""
    if source is None:
        return {"skipped_no_spec": [], "skipped_pilot": [], "skipped_running": []}
    return {"skipped_no_spec": source.skipped_no_spec[:1000], "skipped_pilot": source.skipped_pilot[:1000],
            "skipped_running": source.skipped_running[:1000]}


def _end_report(stream: JsonStream | None, totals: Totals, e: BaseException, source: JobSource | None,
                ws: Workspace | None) -> None:
    """The command failed (refused, interrupted) with the `--json` document open: end it with the error
    and the exit code the process exits with (as dreamcli.cli.root says them)."""
    if stream is not None and not stream.closed:
        totals.failure = _failure(e, ws)
        stream.close(totals, _left_out(source))


def _failure(e: BaseException, ws: Workspace | None) -> tuple[str, int]:
    from dreamcli.errors import EXIT_FAILED, DreamError, Interrupted, storage_error
    from dreamcli.interrupts import stop_line

    if isinstance(e, Interrupted):
        named_stop(e)  # stopped by SIGTERM: `interrupted by SIGTERM: …` and 143, as the process exits
    if isinstance(e, DreamError):
        return str(e), e.exit_code
    if isinstance(e, KeyboardInterrupt):
        return stop_line(e)
    stored = storage_error(e, workspace=ws.root if ws is not None else None) if isinstance(e, OSError) else None
    if stored is not None:  # a full or read-only disk: exit 74, as the error line says
        return str(stored), stored.exit_code
    return f"internal error: {type(e).__name__}: {e}", EXIT_FAILED


def _run(grader: Grader, source: JobSource, jobs: Iterable[Job], totals: Totals, stream: JsonStream | None,
         concurrency: int, *, junit: Path | None, summary: Path | None) -> None:
    from dreamcli.outcomes.grading import grade_sessions
    from dreamcli.outcomes.report import JUnitWriter, SummaryWriter
    from dreamcli.sessions.running import RULE
    from dreamcli.ui import grade_view
    from dreamcli.ui.console import warn

    as_json = stream is not None
    junit_w = JUnitWriter(junit, grader.redactor) if junit else None
    summary_w = SummaryWriter(summary, redactor=grader.redactor) if summary else None
    shown: list[GradeResult] = []
    hidden = 0
    with grade_view.progress("grading") as bar:
        for res in grade_sessions(grader, jobs, concurrency=concurrency):
            totals.add(res)
            bar.advance()
            for sink in (stream, junit_w, summary_w):
                if sink is not None:
                    sink.add(res)
            if not as_json:
                if len(shown) < grade_view.TABLE_LIMIT or res.result != "satisfied":
                    shown.append(res)
                else:
                    hidden += 1
    if source.skipped_no_spec:
        n = len(source.skipped_no_spec)
        warn(f"skipped {n} session(s) whose task names no outcome spec (pass --outcome to grade them)")
    pilots, running = len(source.skipped_pilot), len(source.skipped_running)
    if totals.sessions == 0:
        why = ([f"{pilots} pilot trial(s) left out: --include-pilot grades them"] if pilots else []) + (
            [f"{running} session(s) still running left out: name one by id to grade it"] if running else [])
        raise UsageError("no sessions to grade match the selection" + (f" ({'; '.join(why)})" if why else ""))
    if pilots:
        warn(f"left out {pilots} pilot trial(s): their pilot grades them (--include-pilot grades them too)")
    if running:
        warn(f"left out {running} session(s) still running ({RULE}): grade them once they end, or name one by id")
    if junit_w is not None:
        junit_w.close()
    if summary_w is not None and (full := summary_w.close(totals)) is not None:
        warn(full)
    if stream is not None:
        stream.close(totals, _left_out(source))
    if not as_json:
        grade_view.render_results(shown, totals, hidden=hidden)
    if totals.exit_code:
        raise typer.Exit(totals.exit_code)


def _calibrate(grader: Grader, spec: OutcomeSpec, as_json: bool) -> None:
    from dreamcli.outcomes.calibrate import calibrate

    report = calibrate(grader, spec)
    if as_json:
        print_json(report.to_json())
    else:
        from dreamcli.ui.grade_view import render_calibration

        render_calibration(report)
    if report.exit_code:
        raise typer.Exit(report.exit_code)
