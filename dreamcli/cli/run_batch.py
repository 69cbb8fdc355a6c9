"""`dreamcli run TASK... --parallel N`: many task files at once (called by dreamcli.cli.run).

Parsing and rendering only; the work is `dreamcli.orchestration.batch`. Every task file is loaded
(and its outcome spec validated) before anything runs, so bad input is exit 2 with nothing started; so
is a --with-proposal no run could use, refused once with the line of a single `run` (`_check_trial`),
and a `copy_workdir` task whose workdir is the workspace (`_check_copies`; the copy itself is made when
the task starts). A file given twice (by name, or by globs that overlap) runs once, and a warning says so.
Approval prompts are off (there is no single conversation to ask in): use --allow or --yes.
Exit 0 when every run completed (and its outcome, if any, was satisfied), 4 when any run could not reach
the model endpoint or had no credentials it accepts (wins over 74, 3 and 1: nothing runs until it is fixed),
74 when any run could not store its files (a full or read-only disk: the line a single `run` prints, ending
the summary; wins over 3 and 1 for the same reason), 3 when any run ended on a grader or model error
(unscored; wins over 1, as in `dreamcli grade`), 1 when any other run failed, 130 when interrupted (every
log, sub-agents' too, ends with status interrupted; 143 or 129 for SIGTERM or SIGHUP). An interrupted batch
still prints its summary (or `--json`): the tasks that ran, the ones stopped as interrupted, and a line
counting those never started.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from dreamcli.cli.common import config as load_config
from dreamcli.cli.common import open_workspace, print_json
from dreamcli.errors import EXIT_CREDENTIALS, EXIT_FAILED, EXIT_INFRA, EXIT_IOERR, DreamError, Interrupted, UsageError

if TYPE_CHECKING:
    from dreamcli.redaction import Redactor


def run_many(ctx: typer.Context, args: list[Path], *, parallel: int | None, options: Any, outcome: Path | None,
             as_json: bool, quiet: bool) -> None:
    from dreamcli.agent import load_task_file
    from dreamcli.agent.tools.credentials import run_redactor
    from dreamcli.orchestration.batch import expand_task_args, prepare_batch, run_batch
    from dreamcli.ui.console import warn
    from dreamcli.ui.parallel_view import ParallelView, render_batch_summary, repeated_files_line

    files = expand_task_args(args, on_repeat=lambda repeated: warn(repeated_files_line(repeated)))
    if not files:
        raise UsageError("no task files given")
    specs = [load_task_file(f) for f in files]
    if outcome is not None:
        specs = [s.with_overrides(outcome=outcome.expanduser().resolve()) for s in specs]
    ws = open_workspace(ctx)
    cfg = load_config(ctx)
    _check_trial(ws, options)
    if options.workdir is None:
        _check_copies(ws, specs)
    tasks = prepare_batch(ws, cfg, specs, on_warning=warn)  # a grade cache not written: through the console
    n = parallel or min(len(tasks), cfg.limits.concurrency)
    view = ParallelView(tasks, quiet=quiet)
    try:
        with view:
            runs = run_batch(ws, cfg, tasks, options, parallel=n, callbacks_for=view.callbacks_for, on_done=view.done)
    except Interrupted as e:
        partial = getattr(e, "runs", None)
        if partial is not None and as_json:
            print_json(_json(partial, run_redactor(cfg)))
        elif partial is not None:  # what ran, what was stopped, what never started; then the error line
            render_batch_summary(partial)
        _pending_uploads(ctx, partial or [])
        raise
    if as_json:
        print_json(_json(runs, run_redactor(cfg)))
    else:
        render_batch_summary(runs)
    _pending_uploads(ctx, runs)
    code = exit_code_for(runs)
    if code:
        raise DreamError(failed_line(runs), exit_code=code)


def _pending_uploads(ctx: typer.Context, runs: list[Any]) -> None:
    """After the summary, also with --quiet or --json: the sessions not all in the session store, and the command
    that sends them, as a single `run` says it (docs/scaling.md)."""
    from dreamcli.cli.common import command_prefix
    from dreamcli.ui.console import warn
    from dreamcli.ui.parallel_view import pending_upload_lines

    for line in pending_upload_lines(runs, f"{command_prefix(ctx)} doctor --fix"):
        warn(line)


def _check_trial(ws: Any, options: Any) -> None:
    """Refuse --with-proposal up front (UsageError, exit 2: the one line a single `run` prints) when no run
    of the batch could use it: no such dream, nothing of it left to place, --no-playbooks, another
    --playbook. None of that depends on the task (the trial is the dream's playbook, whatever playbook the
    task names), so this is checked once, before any workdir is copied or any session exists. Each run
    still builds its own trial when it starts (a decision made meanwhile can refuse a later run alone)."""
    if not options.with_proposal:
        return
    from dreamcli.agent.context import select_for_run

    select_for_run(ws, task_name=None, tags=(), primary=None, explicit=options.playbook,
                   enabled=options.use_playbooks, loader=options.playbook_loader,
                   with_proposal=options.with_proposal)


def _check_copies(ws: Any, specs: list[Any]) -> None:
    """Refuse (exit 2, before anything runs) a `copy_workdir` task whose workdir is the workspace or its
    `workdirs/`, as a single `run` does when it copies; in a batch each copy is made when its task starts."""
    from dreamcli.agent.scratch import check_copyable

    for spec in specs:
        check_copyable(ws, spec)


def failed_line(runs: list[Any]) -> str:
    """The one line of a batch in which a run failed: how many, why when it was the environment or the
    grader, and the first storage error's own line (the file, what to do) when a run could not store its files."""
    failed = [r for r in runs if not r.ok]
    infra = sum(r.exit_code == EXIT_INFRA for r in failed)
    unreachable = sum(r.exit_code == EXIT_CREDENTIALS for r in failed)
    stored = [r for r in failed if r.exit_code == EXIT_IOERR]
    why = ", ".join(([f"{unreachable} could not reach the model endpoint or had no credentials it accepts"]
                     if unreachable else [])
                    + ([f"{len(stored)} could not store {'its' if len(stored) == 1 else 'their'} files"]
                       if stored else [])
                    + ([f"{infra} on a grader or model error"] if infra else []))
    line = f"{len(failed)} of {len(runs)} runs failed" + (f" ({why})" if why else "")
    return line + (f": {stored[0].error}" if stored and stored[0].error else "")


def exit_code_for(runs: list[Any]) -> int:
    """0 when every run is ok; 4 when any failed run could not reach the model endpoint or had no
    credentials it accepts (the environment: wins over the rest); 74 when any could not store its files (the
    machine: a full or read-only disk, which every run needs); 3 when any failed run ended on a grader/model
    error (unscored: it says nothing about the work, and wins over 1 as in `dreamcli grade`); else 1."""
    failed = [r for r in runs if not r.ok]
    if not failed:
        return 0
    for code in (EXIT_CREDENTIALS, EXIT_IOERR, EXIT_INFRA):
        if any(r.exit_code == code for r in failed):
            return code
    return EXIT_FAILED


def _json(runs: list[Any], redactor: Redactor) -> dict[str, Any]:
    """The `--json` document, every string redacted as the runs' logs are (answers, errors, paths, the API
    key's own value). `counts`: total = ok + failed (ran and failed) + interrupted + not_started."""
    counts = {"total": len(runs)} | {k: sum(r.state == k for r in runs)
                                     for k in ("ok", "failed", "interrupted", "not_started")}
    return {"version": 1, "counts": counts, "runs": [redactor.redact_obj(r.to_json()) for r in runs]}
