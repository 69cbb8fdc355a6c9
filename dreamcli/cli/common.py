"""Shared CLI plumbing: the per-invocation state, workspace opening, JSON output."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import typer

from dreamcli.errors import Interrupted, UsageError
from dreamcli.workspace.home import Workspace, resolve_home

if TYPE_CHECKING:
    from dreamcli.config import Config


@dataclass
class AppState:
    home: str | None = None
    debug: bool = False
    _workspace: Workspace | None = None
    _config: Config | None = None


def state(ctx: typer.Context) -> AppState:
    root = ctx.find_root()
    if not isinstance(root.obj, AppState):
        root.obj = AppState(debug=bool(os.environ.get("DREAMCLI_DEBUG")))
    return root.obj


def open_workspace(ctx: typer.Context, *, create: bool = True) -> Workspace:
    """The resolved workspace. With `create`, the root is created (0700) when missing; without it, an
    explicitly named workspace that does not exist is an error (a typo must not look like 'empty').
    A folder named by --home or DREAMCLI_HOME that exists, is not empty and has no workspace's layout (a
    project folder named by mistake) is an error: nothing there is swept or created."""
    st = state(ctx)
    if st._workspace is None:
        from dreamcli.workspace.lockholder import set_command

        set_command(command_words(ctx))  # named in the record of each lock it takes (who holds the lock)
        ws = resolve_home(st.home)
        from dreamcli.ui.console import offer_commands_with

        typed = getattr(ctx.find_root().command, "argv", ())  # the command line's words (DreamGroup.main)
        offer_commands_with(home_prefix(ws.root) if ws.source == "option" else None, typed)  # as `command_prefix`
        dry_run = bool(ctx.params.get("dry_run"))  # a dry run writes and deletes nothing: the next real command
        from dreamcli.workspace import live  # recovers, and it leaves no mark in state/live/

        if ws.exists() and ws.source in ("option", "env") and not ws.has_layout():
            if not ws.is_empty():  # an empty folder holds nothing to lose: it becomes the workspace
                import shlex

                raise UsageError(f"not a dreamcli workspace: {ws.root} (run `dreamcli --home "
                                 f"{shlex.quote(str(ws.root))} init` to make it one)")
            ws.ensure()
            if not dry_run:
                live.swept(ws, [])  # a new workspace holds nothing of a dead process
        elif not ws.exists():
            if create or ws.source == "default":
                ws.ensure()
                if not dry_run:
                    live.swept(ws, [])  # a new workspace holds nothing of a dead process
            else:
                raise UsageError(f"no workspace at {ws.root} (create it with: {home_prefix(ws.root)} init)")
        else:
            ws.ensure()  # checks permissions
            if not dry_run:
                from dreamcli.recovery import recover_workspace

                problems: list[str] = []
                recover_workspace(ws, problems)  # what a killed command left half done (docs/reliability.md)
                if problems:
                    from dreamcli.ui.console import warn

                    for line in problems:
                        warn(line)
        if not dry_run:
            ctx.find_root().call_on_close(live.register(ws))  # state/live/<pid> while this command runs
        st._workspace = ws
    return st._workspace


def config(ctx: typer.Context) -> Config:
    from dreamcli.config import load_config  # pydantic is imported only when a command needs config

    st = state(ctx)
    if st._config is None:
        st._config = load_config(open_workspace(ctx).config_path)
    return st._config


def print_data(text: str) -> None:
    """Text a script reads (a page, a playbook's file) on stdout, in one piece: through `write_fully`, so a
    reader that leaves early ends the command with exit 141 rather than exit 0 and a cut output."""
    import sys

    from dreamcli.workspace.fsutil import write_fully

    out = sys.stdout
    buffer = getattr(out, "buffer", None)
    if buffer is None:
        out.write(text)
        out.flush()
        return
    out.flush()
    write_fully(buffer, text.encode(out.encoding or "utf-8", out.errors or "strict"))


def print_json(data: Any) -> None:
    """Machine output on stdout (plain print, no Rich), as `json.dumps(data, indent=2,
    ensure_ascii=False, default=str)` writes it. json's C encoder only runs without `indent`, so the
    compact text is encoded there and indented by msgspec, which copies every token as it is: the
    same bytes, 3-4x faster on a 10k-session listing (tests/cli/test_print_json.py)."""
    import json

    import msgspec

    from dreamcli.numbers import finite_json

    compact = json.dumps(data, ensure_ascii=False, default=str, separators=(",", ":"))
    try:
        print(msgspec.json.format(compact, indent=2))
    except msgspec.DecodeError:  # NaN or Infinity (read from a log by the standard library): not JSON
        clean = json.dumps(finite_json(data), ensure_ascii=False, default=str, separators=(",", ":"),
                           allow_nan=False)
        print(msgspec.json.format(clean, indent=2))


def not_available(feature: str) -> None:
    raise UsageError(f"{feature} is not available yet in this version of dreamcli")


def command_words(ctx: typer.Context) -> str:
    """`dreamcli` and the command's words (`dreamcli playbooks approve`), without arguments or options."""
    words: list[str] = []
    at: Any = ctx
    while at.parent is not None:
        words.append(at.info_name or "")
        at = at.parent
    return " ".join(["dreamcli", *reversed(words)])


def command_prefix(ctx: typer.Context) -> str:
    """`dreamcli` plus `--home ROOT` when the workspace came from --home, so printed hints work when copied."""
    ws = state(ctx)._workspace
    if ws is not None and ws.source == "option":
        return home_prefix(ws.root)
    return "dreamcli"


def home_prefix(root: str | os.PathLike[str]) -> str:
    """`dreamcli --home ROOT`, ROOT quoted for a shell (a space, a quote), for a hint to copy."""
    import shlex

    return f"dreamcli --home {shlex.quote(os.fspath(root))}"


@contextlib.contextmanager
def signals_exit() -> Iterator[None]:
    """SIGTERM and SIGHUP stop the command as Ctrl-C does, with exit 128 + the signal (`run` and
    the cloud commands); one that arrives before the work started (or after it ended), or that a
    `--parallel` batch reports as its own Interrupted, exits the same way."""
    from dreamcli.agent.signals import Terminated, interrupt_reason, signals_as_interrupt
    from dreamcli.errors import Interrupted

    with signals_as_interrupt() as caught:
        try:
            yield
        except Terminated as e:
            reason, code = interrupt_reason(e)
            raise Interrupted(reason, exit_code=code) from None
        except Interrupted as e:
            if caught.signum is not None:
                e.exit_code = 128 + caught.signum
            raise


def named_stop(e: Interrupted) -> Interrupted:
    """`e` as the signal that stopped the command says it, when the work turned SIGTERM's or SIGHUP's
    KeyboardInterrupt into its own Interrupted (`interrupted: grades finished so far are stored`, exit 130):
    `interrupted by SIGTERM: …` and exit 143, as the `error:` line and a --json document must say (docs/cli.md,
    "exit codes"). Ctrl-C's, and one that names its signal already, are left as they are."""
    from dreamcli.errors import EXIT_INTERRUPTED
    from dreamcli.interrupts import stop_line, stopped_by

    if e.exit_code != EXIT_INTERRUPTED or stopped_by() is None:
        return e
    line, e.exit_code = stop_line()
    said = str(e)
    if said.startswith("interrupted") and not said.startswith("interrupted by"):
        e.args = (line + said[len("interrupted"):],)
    return e
