"""`dreamcli run TASK... --parallel N`: many task files at once (called by dreamcli.cli.run).

Parsing and rendering only; the work is `dreamcli.orchestration.batch`. Every task file is loaded
(and its outcome spec validated) before anything runs, so bad input is exit 2 with nothing started.
Approval prompts are off (there is no single conversation to ask in): use --allow or --yes.
Exit 0 when every run completed (and its outcome, if any, was satisfied), 1 when any failed, 130
when interrupted (every log, sub-agents' too, ends with status interrupted).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from dreamcli.cli.common import config as load_config
from dreamcli.cli.common import open_workspace, print_json
from dreamcli.errors import EXIT_FAILED, DreamError, Interrupted, UsageError


def run_many(ctx: typer.Context, args: list[Path], *, parallel: int | None, options: Any, outcome: Path | None,
             as_json: bool, quiet: bool) -> None:
    from dreamcli.agent import load_task_file
    from dreamcli.orchestration.batch import expand_task_args, prepare_batch, run_batch
    from dreamcli.ui.parallel_view import ParallelView, render_batch_summary

    files = expand_task_args(args)
    if not files:
        raise UsageError("no task files given")
    specs = [load_task_file(f) for f in files]
    if outcome is not None:
        specs = [s.with_overrides(outcome=outcome.expanduser().resolve()) for s in specs]
    ws = open_workspace(ctx)
    cfg = load_config(ctx)
    tasks = prepare_batch(ws, cfg, specs)
    n = parallel or min(len(tasks), cfg.limits.concurrency)
    view = ParallelView(tasks, quiet=quiet)
    try:
        with view:
            runs = run_batch(ws, cfg, tasks, options, parallel=n, callbacks_for=view.callbacks_for, on_done=view.done)
    except Interrupted as e:
        partial = getattr(e, "runs", None)
        if as_json and partial is not None:
            print_json(_json(partial))
        raise
    if as_json:
        print_json(_json(runs))
    else:
        render_batch_summary(runs)
    failed = [r for r in runs if not r.ok]
    if failed:
        raise DreamError(f"{len(failed)} of {len(runs)} runs failed", exit_code=EXIT_FAILED)


def _json(runs: list[Any]) -> dict[str, Any]:
    counts = {"total": len(runs), "ok": sum(r.ok for r in runs), "failed": sum(not r.ok for r in runs)}
    return {"version": 1, "counts": counts, "runs": [r.to_json() for r in runs]}
