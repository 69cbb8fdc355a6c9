"""`dreamcli run`: run an agent on a task file or a prompt (parsing and rendering only; the loop is
`dreamcli.agent.run_agent`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from dreamcli.cli.common import command_prefix, open_workspace, print_json, signals_exit
from dreamcli.cli.common import config as load_config
from dreamcli.errors import DreamError, Interrupted, UsageError

if TYPE_CHECKING:
    from dreamcli.redaction import Redactor

HELP = "Run an agent on a task in a working directory, with tools, memory and playbooks."
EPILOG = """Examples:

\b
  dreamcli run sample_tasks/contract-review.yaml
  dreamcli run -p "summarise the failing tests" --workdir .
  git diff | dreamcli run -p - --allow "git *" --json
  dreamcli run task.yaml --yes --quiet            trusted: approve every call
  dreamcli run task.yaml --with-proposal 01JD3Z   try proposed entries first
  dreamcli run 'sample_tasks/*.yaml' --parallel 4 --yes
                                                  many tasks, then a summary

The model's text streams to stderr with one line per tool call; the final answer goes to stdout
(with --json, a machine-readable result instead). Bash commands outside --allow patterns and config
approvals.allow_commands are asked about on a terminal (y, n, a: always that program this session,
or w: always in this workspace, kept in state/approvals.json for later runs) and refused without one.
A workspace config.yaml's own approvals.allow_commands counts once trusted (dreamcli config trust).
File writes stay inside the working directory and are allowed by default (config
approvals.allow_writes: ["**"]); set that list narrower to be asked about the rest.

Several task files (or a glob) run at once with --parallel N (default: config limits.concurrency),
one session each, with live progress and a summary table (also when interrupted: then a line counts the
tasks never started); approval prompts are off there (use --allow or --yes) and the exit code is non-zero
if any run failed (as below; 74 when one could not store its files).

Exit codes: 0 completed, 1 the run failed (turn limit, refusal), 2 bad input, 3 model error (also a
reply cut off mid-stream), 4 no credentials, 74 the disk (full, read-only: one line naming the file),
130 interrupted (Ctrl-C); SIGTERM and SIGHUP stop the run as Ctrl-C does and exit 128 + the signal
(143, 129).
"""


def _read_prompt(prompt: str) -> str:
    if prompt != "-":
        return prompt
    if sys.stdin.isatty():
        raise UsageError("-p - reads the prompt from stdin, but stdin is a terminal (pipe the prompt in)")
    text = sys.stdin.read()
    if not text.strip():
        raise UsageError("no prompt on stdin")
    return text




def register(app: typer.Typer, sub: str | None = None) -> None:
    """Add the command to `app` (`sub`, the word after it, only matters to a group)."""
    @app.command("run", help=HELP, epilog=EPILOG, short_help="Run an agent on a task, with tools and playbooks.")
    def run_cmd(
        ctx: typer.Context,
        tasks: list[Path] = typer.Argument(None, metavar="TASK.yaml...", help="Task file(s) (name, prompt, "
                                           "workdir, ...); several, or a glob, run at once.", show_default=False),
        parallel: int = typer.Option(None, "--parallel", min=1, max=256, help="Run the task files N at a time "
                                     "(one session each, progress and a summary table)."),
        prompt: str = typer.Option(None, "--prompt", "-p", help="Run this prompt instead of a task file "
                                   "('-' reads it from stdin)."),
        workdir: Path = typer.Option(None, "--workdir", "-C", help="Working directory (default: the task's, "
                                     "else the current one).", show_default=False),
        model: str = typer.Option(None, "--model", "-m", help="Model id (default: the task's, then config "
                                  "models.agent)."),
        max_turns: int = typer.Option(None, "--max-turns", min=1, max=1000, help="Turn limit (default: the "
                                      "task's, then config limits.max_turns)."),
        playbook: str = typer.Option(None, "--playbook", help="Playbook to place in context (default: the "
                                     "task's, then config playbooks.default)."),
        no_playbooks: bool = typer.Option(False, "--no-playbooks", help="Place no playbooks in context."),
        with_proposal: str = typer.Option(None, "--with-proposal", metavar="DREAM_ID", help="Try a dream's "
                                          "pending playbook entries in this run, before approving them."),
        allow: list[str] = typer.Option(None, "--allow", metavar="PATTERN", help="Allow bash commands and "
                                        "writes matching this glob without asking (repeatable)."),
        yes: bool = typer.Option(False, "--yes", "-y", help="Approve every tool call (recorded in the session)."),
        as_json: bool = typer.Option(False, "--json", help="Print a machine-readable result on stdout."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No live output on stderr (errors only)."),
        outcome: Path = typer.Option(None, "--outcome", metavar="SPEC", help="Grade each finished turn against "
                                     "this outcome spec and send failures back for revision (default: the "
                                     "task's outcome)."),
    ) -> None:
        from dreamcli.agent import RunOptions, load_task_file, prompt_spec, run_agent
        from dreamcli.agent.spec import check_playbook_name
        from dreamcli.orchestration import register_delegate
        from dreamcli.ui.console import is_interactive, warn
        from dreamcli.ui.run_view import RunView, print_final

        register_delegate()  # a task may name the `delegate` tool (multi-agent lives in dreamcli.orchestration)
        tasks = list(tasks or [])
        task = tasks[0] if tasks else None
        if (task is None) == (prompt is None):
            raise UsageError("give a task file or -p PROMPT (one of them)")
        if playbook is not None:
            check_playbook_name(playbook)
            if no_playbooks:
                raise UsageError("--playbook and --no-playbooks exclude each other")
        if task is None and parallel is not None:
            raise UsageError("--parallel runs task files; it does not apply to -p PROMPT")
        if task is not None and (parallel is not None or len(tasks) > 1 or any(c in str(task) for c in "*?[")):
            from dreamcli.cli.run_batch import run_many

            many = RunOptions(model=model, max_turns=max_turns, workdir=workdir, playbook=playbook,
                              use_playbooks=not no_playbooks, allow=tuple(allow or ()), yes=yes,
                              with_proposal=with_proposal)
            with signals_exit():
                run_many(ctx, tasks, parallel=parallel, options=many, outcome=outcome, as_json=as_json, quiet=quiet)
            return
        spec = load_task_file(task) if task is not None else prompt_spec(_read_prompt(prompt))
        if outcome is not None:
            spec = spec.with_overrides(outcome=outcome.expanduser().resolve())
        ws = open_workspace(ctx)
        cfg = load_config(ctx)
        if workdir is None:
            from dreamcli.agent.scratch import with_fresh_workdir

            spec = with_fresh_workdir(ws, spec)
        from dreamcli.outcomes.revision import failure_message, grader_error_line, revision_loop_for

        loop = revision_loop_for(ws, cfg, spec.outcome)
        if loop is not None:
            loop.grader.on_warning = warn  # on a line of its own, after the agent's streamed words
        hooks = {"on_end_turn": loop.on_end_turn, "before_end": loop.before_end} if loop else {}
        from dreamcli.agent.tools.credentials import run_redactor
        from dreamcli.orchestration.tally import spend_json

        redactor = run_redactor(cfg)  # what the model wrote is shown redacted, as the log keeps it
        view = RunView(quiet=quiet, redactor=redactor)
        view.threshold = loop.spec.pass_threshold if loop is not None else None
        view.fix_uploads = f"{command_prefix(ctx)} doctor --fix"
        options = RunOptions(
            model=model, max_turns=max_turns, workdir=workdir, playbook=playbook,
            use_playbooks=not no_playbooks, allow=tuple(allow or ()), yes=yes, with_proposal=with_proposal,
            ask=view.ask_approval if is_interactive() else None,
        )
        try:
            with signals_exit():  # SIGTERM, SIGHUP: as Ctrl-C (the commands stopped, the log ended)
                result = run_agent(ws, cfg, spec, options, callbacks=view, **hooks)
        except Interrupted as e:
            partial = getattr(e, "result", None)
            if as_json and partial is not None:  # also when the signal cut the upload at the end short
                data = _redacted_answer({**partial.to_json(), **spend_json(partial.totals, view.subagents)}, redactor)
                data["exit_code"] = e.exit_code  # the process's: 128 + the signal
                print_json(data)
            raise
        if as_json:
            answer = result.to_json()
            answer["error"] = answer["error"] or grader_error_line(loop)  # why a completed run exits 3
            data = _redacted_answer({**answer, **spend_json(result.totals, view.subagents)}, redactor)
            # the process exit code: a completed run whose outcome was not met still exits non-zero
            data["exit_code"] = result.exit_code or (loop.exit_code if loop is not None else 0)
            print_json(data)
        elif not (view.streamed and sys.stdout.isatty() and sys.stderr.isatty()):
            print_final(redactor.redact_text(result.final_text))  # on a terminal it was already shown live
        if result.exit_code:
            why = redactor.redact_text(result.error or "failed")  # may quote the model (a refusal)
            raise DreamError(f"run {result.status}: {why} (session {result.session_id})",
                             exit_code=result.exit_code)
        if loop is not None and loop.exit_code:
            raise DreamError(failure_message(loop, result.session_id), exit_code=loop.exit_code)


def _redacted_answer(data: dict[str, Any], redactor: Redactor) -> dict[str, Any]:
    """`run --json`'s document with every string redacted (the model's answer, an error that echoes the API
    key or quotes the model, paths), as the log and stderr show them."""
    return dict(redactor.redact_obj(data))
