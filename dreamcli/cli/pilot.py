"""`dreamcli pilot`: measure a proposal's lift on your own tasks before approving it (parsing and
rendering only; the work is `dreamcli.pilot.api`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from dreamcli.cli.common import config as load_config
from dreamcli.cli.common import open_workspace, print_json
from dreamcli.cli.waits import check_wait
from dreamcli.errors import UsageError

HELP = "Measure a proposal's lift: run tasks with and without its pending entries, with statistics."
EPILOG = """Examples:

\b
  dreamcli pilot sample_tasks/contract-review.yaml --proposal 01JD3Z
  dreamcli pilot 'tasks/*.yaml' --proposal 01JD3Z --entry pb-3f9k2xab \\
      --trials 10 --parallel 8
  dreamcli pilot task.yaml --proposal 01JD3Z --per-entry --max-cost 5 \\
      --yes --json

Every task runs K times (--trials, default 5) in two arms: baseline (the live playbooks) and
candidate (the same plus the chosen pending entries; all of them without --entry), interleaved,
each trial in a fresh copy of the task's workdir, graded with the task's outcome spec and logged as
an ordinary session tagged with the pilot. --per-entry adds a leave-one-out arm per entry.

Output: per arm the pass rate with a Wilson 95% interval; the lift (candidate - baseline) with a
paired bootstrap 95% interval and an exact McNemar p-value; score, cost, tokens, turns and wall
time deltas. The result is appended to dreams/<id>/pilot.json and shown by `playbooks diff`.
Live playbooks never change. Ctrl-C keeps finished trials; the same command resumes.

One pilot of the same plan at a time: another one running is exit 75 (--wait SECONDS queues, then
resumes what that one ran).

Exit codes: 0 the pilot ran, 2 bad input (or no terminal to confirm on: add --yes), 3 model error,
4 no credentials, or the endpoint cannot be reached (the pilot stops; finished trials are kept and the
same command resumes), 75 the same pilot is running, 130 interrupted. See docs/pilot.md.
"""


def register(app: typer.Typer, sub: str | None = None) -> None:
    """Add the command to `app` (`sub`, the word after it, only matters to a group)."""
    @app.command("pilot", help=HELP, epilog=EPILOG, short_help="Measure a proposal's lift before approving it.")
    def pilot_cmd(
        ctx: typer.Context,
        tasks: list[Path] = typer.Argument(..., metavar="TASK.yaml...", help="Task files with an outcome (globs "
                                           "too).", show_default=False),
        proposal: str = typer.Option(..., "--proposal", metavar="DREAM_ID", help="The dream whose pending "
                                     "entries to measure (id or unique prefix)."),
        entry: list[str] = typer.Option(None, "--entry", "-e", metavar="ID", help="Only these pending entries "
                                        "(repeatable; default: all of them)."),
        trials: int = typer.Option(5, "--trials", "-k", min=1, max=1000, help="Runs of every task in each arm."),
        parallel: int = typer.Option(None, "--parallel", min=1, max=256, help="Trials at once (default: config "
                                     "limits.concurrency)."),
        max_cost: float = typer.Option(None, "--max-cost", metavar="USD", help="Start no trial once this run "
                                       "has spent this much (agent and grader; a finite number, 0 or more)."),
        per_entry: bool = typer.Option(False, "--per-entry", help="Also leave each entry out in turn, to see "
                                       "which one carries the lift."),
        allow: list[str] = typer.Option(None, "--allow", metavar="PATTERN", help="Allow bash commands and writes "
                                        "matching this glob in every trial (repeatable)."),
        approve_tools: bool = typer.Option(False, "--approve-tools", help="Approve every tool call in every trial "
                                           "(each runs in a throwaway copy of the workdir; recorded)."),
        new: bool = typer.Option(False, "--new", help="Start over instead of resuming an earlier run of the same "
                                 "pilot."),
        wait: float = typer.Option(None, "--wait", metavar="SECONDS", callback=check_wait, help="Wait this long "
                                   "for another pilot of the same plan to finish, then resume what it ran (-1: as "
                                   "long as it takes; default: exit 75 at once)."),
        yes: bool = typer.Option(False, "--yes", "-y", help="Start without asking (required without a terminal)."),
        as_json: bool = typer.Option(False, "--json", help="Print the result as JSON on stdout."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress on stderr."),
    ) -> None:
        from dreamcli.orchestration import register_delegate
        from dreamcli.orchestration.batch import expand_task_args
        from dreamcli.pilot.api import execute, prepare
        from dreamcli.ui.console import is_interactive
        from dreamcli.ui.pilot_view import PilotView, confirm_start, render_plan, render_result

        budget = _budget(max_cost)
        if any(not e.strip() for e in entry or []):
            raise UsageError("--entry: empty; give a pending entry id (`dreamcli playbooks diff` lists them)")
        register_delegate()  # a task may name the `delegate` tool
        files = expand_task_args(tasks)
        ws = open_workspace(ctx, create=False)
        cfg = load_config(ctx)
        prep = prepare(ws, cfg, files, proposal, entry_ids=list(entry or []) or None, trials=trials,
                       per_entry=per_entry, allow=tuple(allow or ()), yes_tools=approve_tools, fresh=new, wait=wait)
        n = parallel or cfg.limits.concurrency
        if not (quiet and yes):
            render_plan(prep, parallel=n, max_cost=budget)
        else:  # --quiet hides the plan, not that earlier trials will not be resumed
            from dreamcli.ui.console import warn

            for w in prep.warnings:
                warn(w)
        if not yes:  # also with no trial left to run: storing the result is still a write
            if not is_interactive():
                raise UsageError(_no_terminal_why(prep.todo, prep.resumed))
            if prep.todo and not confirm_start():
                raise typer.Exit(0)
        from dreamcli.ui.console import warn

        with PilotView(prep, quiet=quiet) as view:  # a grade cache not written: warned through the console
            result = execute(ws, cfg, prep, parallel=n, max_cost=budget, progress=view,  # type: ignore[arg-type]
                             wait=wait, on_warning=warn)
        if as_json:
            print_json(result)
        else:
            render_result(result)
        _measured_something(result)


def _measured_something(result: dict[str, Any]) -> None:
    """Exit 3 when no pair was scored because trials failed (model, grader or run errors): the pilot
    ran and is recorded, but a CI step must not pass on it. A pilot its budget stopped exits 0. (A trial
    that could not reach the endpoint, or whose credentials it refused, already ended the pilot with exit
    4 in `run_pilot`, before any result.)"""
    from dreamcli.errors import ModelError
    from dreamcli.playbooks.lift import no_pairs_why
    from dreamcli.playbooks.pilot_file import no_pair_scored

    if no_pair_scored(result.get("lift")) and result.get("status") != "stopped" and result.get("unscored"):
        raise ModelError(f"the pilot measured nothing: {no_pairs_why(result)}")


def _no_terminal_why(todo: list[Any], resumed: int) -> str:
    """The refusal without a terminal and without --yes (exit 2): nothing runs and nothing is written."""
    if todo:
        return "no terminal to confirm the estimated cost on: add --yes to start the pilot (nothing was run)"
    return (f"no terminal to confirm on: add --yes to record the result of the {resumed} trial(s) already recorded "
            "(nothing was run or written)")


def _budget(max_cost: float | None) -> float | None:
    """--max-cost in dollars: finite, 0 or more (NaN, infinities and -1 are refused; -0 is 0)."""
    import math

    if max_cost is None:
        return None
    if not math.isfinite(max_cost) or max_cost < 0:
        raise UsageError(f"--max-cost: {max_cost} is not a budget; give a finite number of dollars, 0 or more")
    return max_cost + 0.0  # -0.0 + 0.0 is 0.0: "stops at $0.00", not "$-0.00"
