"""`dreamcli dream`: review past sessions and propose playbook entries with their evidence."""

from __future__ import annotations

from typing import Any

import typer

from dreamcli.cli.common import command_prefix, open_workspace, print_json
from dreamcli.cli.common import config as load_config
from dreamcli.cli.waits import check_wait
from dreamcli.errors import DreamError, UsageError

MAX_WORKERS = 256  # as `pilot --parallel`: --workers 100000 made one process per session

HELP = ("Review past sessions and propose playbook entries with their evidence (never live until approved).\n\n"
        "Reads the sessions not dreamed yet for the playbook (or --since/--session/--task/--all), their grades and "
        "the memory store; writes dreams/<id>/ (proposal.json, report.md, dream.json) for `dreamcli playbooks "
        "diff/approve`. Without a model configured (or with --offline) entries are written from the evidence by "
        "templates. Safe under cron: one dream at a time (exit 75 when another runs, --wait SECONDS to queue), "
        "a rerun "
        "with nothing new does nothing and exits 0, and a killed dream leaves no partial proposal.")
EPILOG = """Examples:

\b
  dreamcli dream --offline
  dreamcli dream --playbook legal --since 7d --json
  dreamcli dream --instructions "Focus on file-type workarounds" --dry-run
  0 * * * *  dreamcli --home ~/agents/.dreamcli dream --quiet --wait 600

The last is a crontab line (every hour); `dreamcli schedule install` writes a
nightly one for you.
"""


def register(app: typer.Typer, sub: str | None = None) -> None:
    """Add the command to `app` (`sub`, the word after it, only matters to a group)."""
    @app.command("dream", help=HELP, epilog=EPILOG, short_help="Propose playbook entries from past sessions.")
    def dream_cmd(
        ctx: typer.Context,
        playbook: str = typer.Option(
            None, "--playbook", metavar="NAME", help="Playbook to propose for (default: config "
            "playbooks.default)."),
        since: str = typer.Option(
            None, "--since", metavar="WHEN", help="Dream over sessions started after this (7d, 2026-11-01) instead of "
            "the new ones."),
        session: list[str] = typer.Option(
            None, "--session", metavar="ID", help="Dream over this session (id or prefix); repeatable."),
        task: str = typer.Option(None, "--task", metavar="TASK", help="Only sessions of this task."),
        all_: bool = typer.Option(False, "--all", help="Re-dream every session from scratch."),
        offline: bool = typer.Option(False, "--offline", help="No model: write entries from templates."),
        instructions: str = typer.Option(
            None, "--instructions", metavar="TEXT", help="Steer the model (at most 4,096 characters; @FILE reads a "
            "file)."),
        memory_store: str = typer.Option(
            "default", "--memory-store", metavar="NAME", help="Memory store to read and tidy (memory/NAME/, "
            "which must exist unless it is default)."),
        min_support: int = typer.Option(
            None, "--min-support", metavar="N", min=1, help="Distinct sessions a pattern needs (default: config "
            "dream.min_support, 2)."),
        max_candidates: int = typer.Option(
            None, "--max-candidates", metavar="N", min=1, help="At most this many candidates."),
        model: str = typer.Option(
            None, "--model", metavar="MODEL", help="Dreamer model id (default: config models.dreamer)."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be proposed; write nothing."),
        auto_approve: bool = typer.Option(
            False, "--auto-approve", help="Approve the proposal at once (only when config dream.auto_approve is "
            "true; audit logged)."),
        wait: float = typer.Option(None, "--wait", metavar="SECONDS", help="Wait this long for another dream to "
                                   "finish (-1: as long as it takes; default: exit 75 at once)."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress or summary; errors only."),
        timestamps: bool = typer.Option(
            False, "--timestamps", help="Start each line on stderr with the time (UTC), errors included, and end "
            "with a line saying how the dream ended, even with --quiet: for a log (`schedule install` uses it)."),
        as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
        workers: int = typer.Option(None, "--workers", min=1, max=MAX_WORKERS, metavar="N", help="Scan sessions in "
                                    "this many processes, at most 256 (default: the machine's cores once the corpus "
                                    "is large; 1: in this process)."),
        executor: str = typer.Option(None, "--executor", metavar="local|ray", help="Who runs the scan: a local "
                                     "process pool, or Ray (dreamcli[ray]; RAY_ADDRESS or --ray-address joins a "
                                     "cluster). Proposals are the same either way (docs/scaling.md)."),
        ray_address: str = typer.Option(None, "--ray-address", metavar="ADDRESS",
                                        help="ray.init(address=…) for --executor ray (default: local Ray)."),
    ) -> None:
        import contextlib

        from dreamcli.dream import quick
        from dreamcli.timeutil import parse_since
        from dreamcli.workspace.lock import workspace_lock

        if timestamps:  # first: what opening the workspace says is dated too, and the error line at the end
            from dreamcli.cli.timestamps import dated_stderr

            ctx.find_root().call_on_close(dated_stderr())
        ws = open_workspace(ctx, create=False)
        cfg = load_config(ctx)
        if auto_approve and not cfg.dream.auto_approve:
            raise UsageError("--auto-approve is refused: config dream.auto_approve is false (a person must review "
                             "with `dreamcli playbooks diff/approve`)")
        if auto_approve and dry_run:
            raise UsageError("--auto-approve and --dry-run cannot be combined")
        _check_given(playbook=playbook, since=since, task=task, memory_store=memory_store, session=session)
        check_wait(wait)
        if all_ and (session or since is not None or task is not None):
            raise UsageError("--all cannot be combined with --since, --session or --task")
        if memory_store != "default":  # as approve checks it; the cron fast path loads no pydantic for the default
            from dreamcli.dream.memory import check_store_name

            check_store_name(ws, memory_store)
        since_dt = parse_since(since) if since is not None else None
        text = _instructions(instructions)
        name = playbook or cfg.playbooks.default
        # the cron fast path looks at local files only: with sessions in an object store (other machines
        # upload there), only the full dream, which lists the bucket after the watermark, can tell
        only_new = not (all_ or since is not None or session or task is not None) and not cfg.sessions.url
        from dreamcli.dream.executors import make_executor
        from dreamcli.dream.ray_stdout import running

        # checked now (a usage error waits for no lock); Ray itself starts only when there is something to scan
        map_executor = make_executor(executor, workers, ray_address)
        lock = contextlib.nullcontext() if dry_run else workspace_lock(ws, "dream", wait=wait)
        with lock:
            if only_new and quick.nothing_new(ws, name):  # the cron case: done without loading the dreamer
                if not dry_run:
                    quick.log_nothing_new(ws, name)
                _nothing_new(name, as_json, quiet)
                if timestamps:
                    _ended(name, "nothing_new")
                return
            from dreamcli.dream.engine import DreamOptions, run_dream

            opts = DreamOptions(
                playbook=playbook, since=since_dt, session_ids=list(session or []), task=task, all=all_,
                offline=offline, instructions=text, dry_run=dry_run, min_support=min_support,
                max_candidates=max_candidates, memory_store=memory_store, model=model,
            )
            from dreamcli.ui.console import warn

            view = None
            if not quiet and not as_json:
                from dreamcli.ui.dream_view import DreamProgress

                view = DreamProgress()
            try:
                # Ray's lines kept off stdout, Ray closed before the result is printed; a session file it cannot
                # read: a warning, even with -q or --json
                with running(map_executor):
                    result = run_dream(ws, cfg, opts, progress=view.update if view else None, on_warning=warn)
            except (DreamError, KeyboardInterrupt) as e:
                if as_json:
                    _failed_json(name, e)
                raise
            finally:
                if view is not None:
                    view.close()
        if result.set_aside:
            from dreamcli.ui.console import warn

            # a copied or edited workspace: the dream is not what the user thinks (an incremental one)
            for problem in result.set_aside:
                warn(f"dream state set aside ({problem[:200]}): every session was read again")
        if result.rebuilt is not None:
            from dreamcli.ui.console import warn

            # read once, by the first dream after an upgrade (or a change of redaction.patterns): say why
            warn(f"dream state {result.rebuilt}: {_rebuilt_words(opts)}")
        if opts.mode == "explicit" and not (result.dream.get("inputs") or {}).get("sessions"):
            from dreamcli.dream.stages import selection_words
            from dreamcli.ui.console import warn

            # a misspelt --task read nothing: say so, not only "nothing new"
            warn(f"no finished session of playbook '{result.playbook}' matched the selection "
                 f"({selection_words(opts)})")
        if (quiet or as_json) and not offline and not dry_run and (result.dream or {}).get("offline"):
            from dreamcli.ui.console import warn

            # under cron a silent fallback looks like a model dream: say it, on stderr, even with -q
            warn("no model configured (none of ANTHROPIC_API_KEY, ANTHROPIC_AUTH_TOKEN or ANTHROPIC_BASE_URL is set "
                 "in this process's environment): dreamed offline, entries written from templates")
        from dreamcli.dream.report import fallback_line

        if (fell_back := fallback_line((result.dream or {}).get("stats") or {})) is not None:
            from dreamcli.ui.console import warn

            # template text that reads as the model's (a cron log, a reviewer): say it, even with -q or --json
            warn(fell_back)
        approved: Any = None
        if auto_approve and result.dream_id and result.status == "pending":
            approved = _auto_approve(ws, result)
        if timestamps:
            _ended(result.playbook, result.status, result.dream_id, len(result.operations))
        if as_json:
            data = result.to_json()
            data["report_path"] = str(result.path / "report.md") if result.path else None
            if approved is not None:
                data["auto_approved"] = approved
            print_json(data)
            return
        if quiet:
            return
        from dreamcli.ui.dream_view import render_result

        render_result(result, approved, cmd=command_prefix(ctx))


def _failed_json(name: str, e: BaseException) -> None:
    """A dream that started and then failed (the model's error, exit 3) or was stopped (Ctrl-C, SIGTERM)
    still prints its document, as `run --json` does: `status: "error"` with the error line and the exit code
    the process ends with. A refusal (a usage error, no credentials) prints nothing, as docs/cli.md says."""
    from dreamcli.cli.common import named_stop
    from dreamcli.errors import EXIT_INFRA, Interrupted
    from dreamcli.interrupts import stop_line

    if isinstance(e, KeyboardInterrupt):
        line, code = stop_line(e)
    elif isinstance(e, Interrupted):
        named_stop(e)
        line, code = str(e), e.exit_code
    elif isinstance(e, DreamError) and e.exit_code == EXIT_INFRA:
        line, code = str(e), e.exit_code
    else:
        return
    print_json({"status": "error", "playbook": name, "dream_id": None, "path": None, "operations": [],
                "error": line, "exit_code": code})


def _nothing_new(name: str, as_json: bool, quiet: bool) -> None:
    if as_json:
        print_json({"status": "nothing_new", "playbook": name, "dream_id": None, "path": None, "operations": [],
                    "usage": None, "inputs": None, "stats": None, "report_path": None,
                    "state_set_aside": None,  # not read: the fast path checks the watermark only
                    "state_rebuilt": None})
    elif not quiet:
        from dreamcli.ui.console import info

        info(f"Nothing new to dream about for playbook '{name}' (no new sessions or grades).")


def _ended(name: str, status: str, dream_id: str | None = None, ops: int = 0) -> None:
    """The last line of a dream with --timestamps (a failed one ends with its `error:` line instead)."""
    from dreamcli.ui.console import info

    info(f"dream ended: playbook={name} status={status}" + (f" dream={dream_id} ops={ops}" if dream_id else ""))


def _rebuilt_words(opts: Any) -> str:
    """What a dream did of a stored state it did not trust (dreamcli.dream.older_state)."""
    if opts.dry_run:
        return "every session was read again; a dream without --dry-run rebuilds it from the sessions (once)"
    if opts.mode == "explicit":
        return "set aside; the next `dreamcli dream` rebuilds it from the sessions (once)"
    return "rebuilt from the sessions (once)"


def _check_given(*, session: list[str] | None, **values: str | None) -> None:
    """An empty selector is a mistake, never "no filter": `--task ''` read nothing and still moved the
    watermark past every session."""
    for name, value in values.items():
        if value is not None and not value.strip():
            raise UsageError(f"--{name.replace('_', '-')}: empty; give a value or leave the option out")
    if any(not s.strip() for s in session or []):
        raise UsageError("--session: empty; give a session id or prefix")


def _instructions(value: str | None) -> str | None:
    """--instructions TEXT, or @FILE: at most MAX_INSTRUCTIONS characters, of UTF-8 from a regular file read
    without blocking (a FIFO hung, /dev/zero filled memory) and never more than that many characters' bytes."""
    from dreamcli.dream.options import MAX_INSTRUCTIONS, check_instructions

    if value is None or not value.startswith("@"):
        return check_instructions(value)
    import os
    import stat
    from pathlib import Path

    path = Path(value[1:]).expanduser()
    limit = 4 * MAX_INSTRUCTIONS  # a UTF-8 character takes at most 4 bytes
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        raise UsageError(f"--instructions: cannot read {path}: {e.strerror}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # checked before a file object is made of a directory
        os.close(fd)
        raise UsageError(f"--instructions: {path} is not a regular file")
    with os.fdopen(fd, "rb") as f:
        try:
            data = f.read(limit + 1)
        except OSError as e:
            raise UsageError(f"--instructions: cannot read {path}: {e.strerror}") from None
    if len(data) > limit:
        raise UsageError(f"--instructions: {path} holds more than {MAX_INSTRUCTIONS} characters; at most "
                         f"{MAX_INSTRUCTIONS}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"--instructions: {path} is not UTF-8 text") from None
    return check_instructions(text, str(path))


def _auto_approve(ws: Any, result: Any) -> dict[str, Any]:
    """Approve what no policy holds (dreamcli.playbooks.auto); say on stderr why entries stay pending."""
    from dreamcli.playbooks.auto import auto_approve, held_for_hand_edit_message, held_for_lift_message
    from dreamcli.ui.console import warn

    approved = auto_approve(ws, result.dream_id)
    for message in (held_for_hand_edit_message(result.dream_id, result.playbook, approved["held_for_hand_edit"]),
                    held_for_lift_message(result.dream_id, approved["held_for_lift"])):
        if message is not None:
            warn(message)
    return approved
