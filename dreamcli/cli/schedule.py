"""`dreamcli schedule install|show|remove`: a nightly dream under cron or a systemd user timer
(the work is dreamcli.workspace.schedule)."""

from __future__ import annotations

from typing import Any

import typer

from dreamcli.cli.common import open_workspace, print_json
from dreamcli.cli.group import Group
from dreamcli.errors import UsageError

HELP = "Dream every night: a crontab line (or a systemd user timer) that works under cron."
EPILOG = """Examples:

\b
  dreamcli schedule install                 every night at 03:00
  dreamcli schedule install --at 22:30 --with systemd
  dreamcli schedule show                    the line, the log and the lock
  dreamcli schedule remove

The scheduled command names everything by absolute path (cron has a bare PATH
and starts in your home): the Python and dreamcli executables, the workspace,
the log file (state/logs/schedule.log). Each line of the log starts with its
time (UTC); each night ends with a line saying how the dream ended, or with its
error. It waits for the workspace's dream lock instead of failing when a dream
still runs (`schedule show`: whether the lock is held, and by whom). A job does
not get your shell's environment: unless the crontab (or the systemd user
manager's environment) sets ANTHROPIC_API_KEY, ANTHROPIC_AUTH_TOKEN or
ANTHROPIC_BASE_URL, it dreams offline; install and the log say so. Installing
again replaces the line; other lines of your crontab are kept. A line an
earlier dreamcli installed (without --timestamps) runs as it was until you
install again: `schedule show` and `doctor` say so, and never rewrite it.
Your own edits of the line (a variable, nice, @daily) are kept by them, and
dropped by install, which rewrites the whole line (a warning names them first;
without --at, its time too), as it names your edits of a systemd service or
timer (an OnCalendar, an added line) before it rewrites them. A line you
commented out is said to be disabled (doctor warns), never out of date, unless
the line also runs uncommented: install drops such a copy (its warning says
so) and leaves one line; remove takes both (show notes such a copy). `show
--json` reports what is installed (`at`, `schedule`; `installed: false` when
nothing is; `commented_copies`) and what install would write (under
`install`, with its time). A `crontab` that does
not answer in 5 s is an error, not a wait. No `crontab` here (with --with
cron or auto), or no working `systemctl --user` (systemd), is exit 2.
"""

schedule_group = Group(help=HELP, epilog=EPILOG, no_args_is_help=True,
                       short_help="Dream every night (cron or a systemd timer).")

_WITH = typer.Option("auto", "--with", metavar="SCHEDULER", help="cron, systemd (a user timer) or auto: cron "
                     "when `crontab` exists, else systemd when `systemctl --user` works.")


def _backend(choice: str) -> str:
    from dreamcli.workspace import schedule as sch

    if choice not in ("auto", "cron", "systemd"):
        raise UsageError(f"--with {choice!r}: cron, systemd or auto")
    if choice != "auto":
        return choice
    import shutil

    if shutil.which("crontab"):
        return "cron"
    if sch.systemd_user_works():
        return "systemd"
    raise UsageError("neither `crontab` nor `systemctl --user` works here; run `dreamcli schedule show` "
                     "and add its line to your scheduler")


def _info(plan: Any) -> dict[str, Any]:
    return {"workspace": str(plan.workspace), "python": str(plan.python),
            "dreamcli": str(plan.dreamcli) if plan.dreamcli else None, "log": str(plan.log),
            "lock": str(plan.lock), "command": plan.argv, "cron_line": plan.cron_line,
            "at": f"{plan.hour:02d}:{plan.minute:02d}"}


def _written(plan: Any) -> dict[str, Any]:
    """What `install` would write for `plan` (`show --json`'s "install"): the time, the crontab line, the command
    and its executables."""
    info = _info(plan)
    return {name: info[name] for name in ("at", "cron_line", "command", "python", "dreamcli")}


def _drops_warning(drops: list[str], copies: list[str]) -> str:
    """The one line `install` says before it rewrites a crontab line that holds what it would not write, or drops
    the other marked lines (a commented-out copy) to leave one (the built-in redaction rules over it too: a
    variable's value is never named, the other words may hold a secret)."""
    from dreamcli.redaction import default_redactor

    head = ("the installed crontab line differs from what `schedule install` writes: it rewrites the whole line"
            if drops else "the crontab holds more than one line of this workspace: `schedule install` writes one")
    return default_redactor().redact_text(f"{head} and drops: {'; '.join(drops + copies)}")


def _warn_units(drops: list[str]) -> None:
    """The one line `install --with systemd` says before it rewrites a service or timer edited by hand (nothing
    for units as it writes them; redacted as the crontab line is)."""
    from dreamcli.redaction import default_redactor
    from dreamcli.ui.console import warn

    if drops:
        warn(default_redactor().redact_text("the installed systemd units differ from what `schedule install` writes: "
                                            f"it rewrites them and drops: {'; '.join(drops)}"))


@schedule_group.command("install", short_help="Install the nightly dream (cron or systemd).",
                        epilog="Examples:\n\n\b\n  dreamcli schedule install\n"
                               "  dreamcli schedule install --at 22:30 --with systemd --json")
def install_cmd(
    ctx: typer.Context,
    at: str = typer.Option(None, "--at", metavar="HH:MM", help="Time of day, 24-hour, local time (default: 03:00).",
                           show_default=False),
    backend: str = _WITH,
    as_json: bool = typer.Option(False, "--json", help="Print what was installed as JSON."),
) -> None:
    """Install (or replace) the nightly dream of this workspace."""
    from dreamcli.ui.console import info, warn
    from dreamcli.workspace import schedule as sch
    from dreamcli.workspace.schedule_drift import copies_dropped, install_drops
    from dreamcli.workspace.schedule_units import installed_units, unit_drops

    ws = open_workspace(ctx, create=False)
    plan = sch.plan_for(ws, at=at) if at is not None else sch.plan_for(ws)
    sch.check_paths(plan)  # a newline in a path would add a crontab job of its own
    plan.log.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    kind = _backend(backend)
    files: list[str] = []
    if kind == "cron":
        current = sch.read_crontab()
        lines = sch.find_lines(current, plan)
        line = sch.chosen_line(lines)
        drops, copies = install_drops(plan, line, time_given=at is not None), copies_dropped(lines, line)
        if drops or copies:  # said before the line is rewritten: the crontab is the user's
            warn(_drops_warning(drops, copies))
        sch.write_crontab(sch.with_line(current, plan))
        offline = not sch.sets_model(current)
    else:
        said = unit_drops(plan, installed_units(plan), time_given=at is not None)
        files = [str(p) for p in sch.install_systemd(plan, lambda: _warn_units(said))]
        offline = not sch.sets_model(sch.systemd_environment() or "")
    if offline:  # under cron a key in your shell only looks like a model dream that never comes
        warn(sch.offline_warning(kind))
    if as_json:
        print_json({"version": 1, "installed": kind, "files": files, **_info(plan), "runs_offline": offline})
        return
    info(f"installed ({kind}): dream every day at {plan.hour:02d}:{plan.minute:02d}; log: {plan.log}")
    if kind == "cron":
        info(plan.cron_line)
    for f in files:
        info(f"wrote {f}")


@schedule_group.command("show", short_help="What is installed for this workspace.",
                        epilog="Examples:\n\n\b\n  dreamcli schedule show\n"
                               "  dreamcli schedule show --json")
def show_cmd(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """What is installed for this workspace: the crontab line or the timer, the log file and the lock (free,
    or held and by whom); a warning when what is installed is out of date (an earlier dreamcli's line), a note
    when the crontab also holds a commented-out copy of the line (which `install` drops)."""
    import shutil

    from dreamcli.ui.console import note, warn
    from dreamcli.workspace import schedule as sch
    from dreamcli.workspace.lockholder import lock_state, state_words
    from dreamcli.workspace.schedule_drift import (
        DISABLED,
        commented_copies,
        disabled,
        enable_advice,
        installed_schedule,
        outdated,
    )

    ws = open_workspace(ctx, create=False)
    plan = sch.plan_for(ws)
    lines = sch.find_lines(sch.read_crontab(), plan) if shutil.which("crontab") else []
    line = sch.chosen_line(lines)
    copies = commented_copies(lines, line)  # never run; said, as `install` drops them
    units = [str(p) for p in sch.installed_systemd(plan)]
    held, holder = lock_state(plan.lock)
    home = str(ws.root) if ws.source == "option" else None
    stale, off = outdated(plan, line), line is not None and disabled(line)
    if line is not None and off:  # installed, and never runs: said, never uncommented here
        warn(f"{DISABLED}; {enable_advice(line, home)}")
    for old in stale:  # said, never fixed here: the crontab is the user's
        warn(old.message(home))
    if as_json:  # what is installed; what `install` would write now under "install" (and, as before, at the top)
        at, schedule = installed_schedule(plan, line)
        print_json({"version": 1, **_info(plan),  # its "at" is what install would use: the installed one below
                    "installed": line is not None or bool(units), "at": at, "schedule": schedule,
                    "cron": line, "cron_disabled": off, "systemd": units, "lock_held": held,
                    "lock_holder": holder.to_json() if holder else None,
                    "out_of_date": [old.to_json(home) for old in stale], "install": _written(plan),
                    "commented_copies": copies})
        return
    cron = f"installed but commented out (disabled): {line}" if off else line or "not installed"
    out = [f"cron:    {cron}", f"systemd: {', '.join(units) or 'not installed'}",
           f"log:     {plan.log}", f"lock:    {plan.lock}: {state_words(held, holder)}"]
    if line is None and not units:
        try:
            sch.check_paths(plan)
        except UsageError as e:
            out.append(f"install: {e}")
        else:
            out.append(f"install: {plan.cron_line.split(sch.MARKER)[0].rstrip()}")
    from dreamcli.ui.workspace_view import print_lines

    print_lines(out)
    if copies:
        said = "a commented-out copy" if copies == 1 else f"{copies} commented-out copies"
        note(f"cron: also {said} of the line (`schedule install` drops {'it' if copies == 1 else 'them'})")


@schedule_group.command("remove", short_help="Remove this workspace's nightly dream.",
                        epilog="Examples:\n\n\b\n  dreamcli schedule remove\n"
                               "  dreamcli --home ~/agents/.dreamcli schedule remove --json")
def remove_cmd(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Remove this workspace's nightly dream (only its own line or timer)."""
    import shutil

    from dreamcli.ui.console import info, warn
    from dreamcli.workspace import schedule as sch
    from dreamcli.workspace.schedule_drift import copies_dropped

    ws = open_workspace(ctx, create=False)
    plan = sch.plan_for(ws)
    removed_line, lines = None, []
    if shutil.which("crontab"):
        current = sch.read_crontab()
        lines = sch.find_lines(current, plan)  # every marked line: a commented-out copy left would read "disabled"
        removed_line = sch.chosen_line(lines)
        if removed_line is not None:
            sch.write_crontab(sch.without_line(current, plan))
    copies = list(lines)
    if removed_line is not None:
        copies.remove(removed_line)
    removed, problem = sch.remove_systemd(plan)
    units = [str(p) for p in removed]
    if problem is not None:  # the unit files are gone all the same; systemd forgets them at its next reload
        warn(f"{problem}; the unit files were deleted anyway (run `systemctl --user daemon-reload` later)")
    if as_json:
        print_json({"version": 1, "cron": removed_line, "cron_copies": copies, "systemd": units,
                    "systemctl_error": problem})
        return
    said = (["the crontab line"] if removed_line else []) + copies_dropped(lines, removed_line) + (
        [f"the systemd timer {plan.unit_name}"] if units else [])
    if not said:
        info("nothing was scheduled for this workspace")
    else:
        info("removed: " + (f"{', '.join(said[:-1])} and {said[-1]}" if len(said) > 1 else said[0]))


def register(app: typer.Typer, sub: str | None = None) -> None:
    app.add_typer(schedule_group.build(sub), name="schedule")
