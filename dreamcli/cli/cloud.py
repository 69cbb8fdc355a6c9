"""`dreamcli cloud …`: the local review desk for Claude Managed Agents (docs/managed-agents.md)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import typer

from dreamcli.cli.common import command_prefix, config, open_workspace, print_json
from dreamcli.cli.group import Group
from dreamcli.workspace.home import Workspace

cloud_group = Group(
    help="Claude Managed Agents: pull cloud sessions and memory stores, push approved playbooks, and run cloud "
         "dreams whose result becomes a local proposal to review. Needs ANTHROPIC_API_KEY and the Managed "
         "Agents betas on the account.", no_args_is_help=True,
    short_help="Claude Managed Agents: sessions, memory, dreams.",
    epilog="Examples:\n\n\b\n  dreamcli cloud sessions pull --since 1d\n  dreamcli cloud memory pull memstore_01abc\n"
           "  dreamcli cloud dream --store memstore_01abc")
sessions_group = Group(help="Cloud sessions.", no_args_is_help=True, short_help="Cloud sessions.",
                       epilog="Examples:\n\n\b\n  dreamcli cloud sessions pull --since 1d")
memory_group = Group(help="Cloud memory stores.", no_args_is_help=True, short_help="Cloud memory stores.",
                     epilog="Examples:\n\n\b\n  dreamcli cloud memory pull memstore_01abc\n"
                            "  dreamcli cloud memory push legal --store memstore_01abc --dry-run")
_JSON = "Print the result as JSON."


@contextlib.contextmanager
def _desk(ws: Workspace) -> Iterator[None]:
    """Around a cloud command's work: SIGTERM and SIGHUP stop it as Ctrl-C does (a running cloud dream is
    cancelled) and exit 128 + the signal, as `run` does; an error's text (the API's own words) is
    redacted with the workspace's redactor (built-in rules plus config redaction.patterns)."""
    from dreamcli.cli.common import signals_exit
    from dreamcli.cloud.client import redacted
    from dreamcli.config import workspace_redactor
    from dreamcli.errors import DreamError

    with signals_exit():
        try:
            yield
        except DreamError as e:
            redacted(e, workspace_redactor(ws.config_path))
            raise


@sessions_group.command("pull", short_help="Import Managed Agents sessions as session logs.",
                        epilog="Examples:\n\n\b\n  dreamcli cloud sessions pull --since 1d\n"
                               "  dreamcli cloud sessions pull --agent agent_01abc --limit 200 --json")
def sessions_pull_cmd(
    ctx: typer.Context,
    agent: str = typer.Option(None, "--agent", metavar="ID", help="Only sessions of this agent."),
    since: str = typer.Option(None, "--since", metavar="WHEN",
                              help="Only sessions created after this (7d, 2026-11-01)."),
    limit: int = typer.Option(None, "--limit", metavar="N", min=1, help="Look at most at the N newest sessions."),
    as_json: bool = typer.Option(False, "--json", help=_JSON),
) -> None:
    """Import Managed Agents sessions and their events as session logs (source managed-agents), so dream,
    grade and pilot work on cloud history. Redacted on the way in; re-running skips what is imported. A
    session that cannot be imported is skipped with a warning on stderr as it comes (--json too)."""
    from dreamcli.cloud.client import cloud_client
    from dreamcli.cloud.sessions_pull import pull_sessions
    from dreamcli.timeutil import parse_since
    from dreamcli.ui.cloud_view import progress_line, render_sessions_pull, skip_warnings

    ws = open_workspace(ctx)
    after = parse_since(since).isoformat().replace("+00:00", "Z") if since else None
    with _desk(ws), progress_line("pulling cloud sessions") as progress, skip_warnings() as warned:
        client = cloud_client(config(ctx).limits)
        result = pull_sessions(ws, client, agent_id=agent, since=after, limit=limit, progress=progress,
                               warned=warned)
    if as_json:
        print_json({"version": 1, **result.to_json()})
        return
    render_sessions_pull(result, command_prefix(ctx))


@memory_group.command("pull", short_help="Mirror a memory store here (redacted).",
                      epilog="Examples:\n\n\b\n  dreamcli cloud memory pull memstore_01abc\n")
def memory_pull_cmd(
    ctx: typer.Context,
    store: str = typer.Argument(..., metavar="STORE_ID", help="The memory store (memstore_...)."),
    as_json: bool = typer.Option(False, "--json", help=_JSON),
) -> None:
    """Mirror a memory store into memory/STORE_ID/memories/ (redacted) and remember each memory's content
    hash, the precondition of the next push."""
    from dreamcli.cloud.client import cloud_client
    from dreamcli.cloud.memory_pull import pull_store
    from dreamcli.ui.cloud_view import progress_line, render_memory_pull, skip_warnings

    ws = open_workspace(ctx)
    with _desk(ws), progress_line(f"pulling memory store {store}") as progress, skip_warnings() as warned:
        client = cloud_client(config(ctx).limits)
        result = pull_store(ws, client, store, progress=progress, warned=warned)
    if as_json:
        print_json({"version": 1, **result.to_json()})
        return
    render_memory_pull(result)


@memory_group.command("push", short_help="Push approved content to a memory store.", epilog="Examples:\n\n\b\n"
                                   "  dreamcli cloud memory push default --store memstore_01abc --dry-run\n"
                                   "  dreamcli cloud memory push legal --store memstore_01abc --json")
def memory_push_cmd(
    ctx: typer.Context,
    playbook: str = typer.Argument(..., metavar="PLAYBOOK", help="The live (approved) playbook to push."),
    store: str = typer.Option(..., "--store", metavar="STORE_ID", help="The memory store (memstore_...)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would change; send nothing."),
    actor: str = typer.Option(None, "--actor", metavar="NAME",
                              help="Who pushes (for the audit; default: $DREAMCLI_ACTOR, else the login name)."),
    as_json: bool = typer.Option(False, "--json", help=_JSON),
) -> None:
    """Push approved content only: the live playbook as /playbooks/PLAYBOOK/*.md, and the approved entries
    of this store's cloud dreams. Each write carries the hash last pulled; a memory changed in the cloud
    since is a conflict (exit 1) shown with both sides, never overwritten. An approved entry whose memory
    path the redaction rules call secret is not sent: named on stderr, exit 1; later pushes count it in one
    note as still not pushed (exit 0) until it changes. Audited with version ids."""
    from dreamcli.cloud.client import Conflict, cloud_client
    from dreamcli.cloud.memory_push import push
    from dreamcli.errors import WorkFailed
    from dreamcli.ui.cloud_view import progress_line, render_push, warn_push_skipped

    ws = open_workspace(ctx)
    with _desk(ws), progress_line(f"pushing {playbook} to {store}") as progress:
        client = cloud_client(config(ctx).limits)
        result = push(ws, client, store, playbook, dry_run=dry_run, actor=actor, progress=progress)
    if as_json:
        print_json({"version": 1, **result.to_json()})
    else:
        render_push(result)
    warn_push_skipped(result)
    _note_still_skipped(len(result.still_skipped))
    n = len(result.skipped)
    skipped = f"{n} approved {'entry' if n == 1 else 'entries'} not pushed (named above)" if n else ""
    if result.conflicts:
        first = result.conflicts[0]
        raise Conflict(f"{len(result.conflicts)} conflict(s) in memory store {store} (first: {first.path}, "
                       f"{first.reason}); run: {command_prefix(ctx)} cloud memory pull {store}, review, push again"
                       + (f"; {skipped}" if skipped else ""))
    if skipped:
        raise WorkFailed(f"memory store {store}: {skipped}: the current redaction rules refuse "
                         f"{'it' if n == 1 else 'them'}; the rest {'would be' if dry_run else 'was'} pushed")


def _note_still_skipped(n: int) -> None:
    """One line for the approved entries an earlier push left out and named, left out again as they were."""
    from dreamcli.ui.console import note

    if n:
        one = n == 1
        note(f"note: {n} approved {'entry' if one else 'entries'} still not pushed (named by an earlier push; the "
             f"redaction rules still refuse {'it' if one else 'them'}; --json lists {'it' if one else 'them'} "
             "under still_skipped)")


def dream_cmd(
    ctx: typer.Context,
    store: str = typer.Option(None, "--store", metavar="STORE_ID", help="The memory store to dream over (required)."),
    sessions: list[str] = typer.Option(
        None, "--sessions", metavar="ID[,ID…]", help="Cloud sessions to read (repeatable or comma-separated); "
        "default: the store's most recent sessions."),
    limit: int = typer.Option(None, "--limit", metavar="N", min=1, help="Without --sessions: how many recent "
                              "sessions (default 100; more than 100 are split across dreams)."),
    instructions: str = typer.Option(None, "--instructions", metavar="TEXT", help="Steer the dream (1-4,096 chars)."),
    model: str = typer.Option(None, "--model", metavar="MODEL", help="Dream model (default: config models.dreamer)."),
    playbook: str = typer.Option(None, "--playbook", metavar="NAME", help="Playbook the proposal is filed under "
                                 "(default: config playbooks.default)."),
    as_json: bool = typer.Option(False, "--json", help=_JSON),
) -> None:
    """Run a cloud dream (output: a new memory store, never the input one), wait for it with a progress
    line, and turn the difference between the output and input stores into a local proposal for
    `dreamcli playbooks diff/approve`. Ctrl-C (or SIGTERM, SIGHUP) cancels the cloud dream. Each cloud
    dream is recorded here as soon as it is created: `dreamcli cloud dream list` shows them."""
    from dreamcli.errors import UsageError

    given = [flag for flag, value in (("--store", store), ("--sessions", sessions), ("--limit", limit),
                                      ("--instructions", instructions), ("--model", model),
                                      ("--playbook", playbook), ("--json", as_json)) if value]
    if ctx.invoked_subcommand is not None:
        if given:
            raise UsageError(f"{given[0]} belongs to `cloud dream --store STORE_ID`, not to `cloud dream "
                             f"{ctx.invoked_subcommand}`")
        return
    if store is None:
        raise UsageError("cloud dream: give --store STORE_ID (the memory store to dream over); "
                         "`cloud dream list` lists the cloud dreams recorded here")
    _run_dream(ctx, store, sessions, limit, instructions, model, playbook, as_json)


def _run_dream(ctx: typer.Context, store: str, sessions: list[str] | None, limit: int | None,
               instructions: str | None, model: str | None, playbook: str | None, as_json: bool) -> None:
    from dreamcli.cloud.client import cloud_client
    from dreamcli.cloud.dream_run import DEFAULT_LIMIT, run_cloud_dream
    from dreamcli.errors import UsageError
    from dreamcli.models import DEFAULT_DREAMER_MODEL
    from dreamcli.playbooks.store import check_name
    from dreamcli.ui.cloud_view import progress_line, render_cloud_dream

    if instructions is not None and not 1 <= len(instructions) <= 4096:
        raise UsageError("--instructions: give 1 to 4,096 characters")
    ids = [s.strip() for value in sessions or [] for s in value.split(",") if s.strip()]
    ws = open_workspace(ctx)
    name = check_name(playbook or config(ctx).playbooks.default)
    chosen = model or config(ctx).models.dreamer or DEFAULT_DREAMER_MODEL
    with _desk(ws), progress_line(f"cloud dream over {store}") as progress:
        client = cloud_client(config(ctx).limits)
        result = run_cloud_dream(ws, client, store, model=chosen, session_ids=ids or None,
                                 limit=limit or DEFAULT_LIMIT, instructions=instructions, playbook=name,
                                 progress=progress)
    if as_json:
        print_json({"version": 1, **result.to_json()})
        return
    render_cloud_dream(result, command_prefix(ctx))


dream_group = Group(
    callback=dream_cmd, invoke_without_command=True, subcommand_metavar="[list]",
    short_help="Run a cloud dream; review it as a proposal.",
    epilog="Examples:\n\n\b\n  dreamcli cloud dream --store memstore_01abc\n"
           "  dreamcli cloud dream --store memstore_01abc --sessions sesn_01a,sesn_01b \\\n"
           "      --instructions \"Keep it short\" --json\n  dreamcli cloud dream list")


@dream_group.command("list", short_help="The cloud dreams recorded here, newest first.",
                     epilog="Examples:\n\n\b\n  dreamcli cloud dream list\n"
                            "  dreamcli cloud dream list --refresh --json")
def dream_list_cmd(
    ctx: typer.Context,
    refresh: bool = typer.Option(False, "--refresh", help="Ask the API for the status of each unfinished dream "
                                 "and write the proposal of one that completed (needs ANTHROPIC_API_KEY)."),
    as_json: bool = typer.Option(False, "--json", help=_JSON),
) -> None:
    """The cloud dreams this workspace started, newest first: id, created, status, input store, and the
    local proposal each became. A dream is recorded as soon as its create returns; one a command left
    unfinished (a network error, a signal, a kill: no proposal written) is marked so. Without --refresh
    this is the local record only and nothing is asked of the API; --refresh asks it, by id, for the
    status of each unfinished dream, and writes the local proposal of one that completed, once (one the
    API no longer knows becomes `not found in the cloud`; one it cannot check is a warning, listed as last
    seen). A create whose id never came back is listed without one: find it in the console. A record file
    that cannot be read is a warning naming it, left as it is."""
    from dreamcli.cloud.dream_list import list_dreams
    from dreamcli.ui.cloud_view import render_cloud_dream_list, say_brought_in, warn_lines

    ws = open_workspace(ctx)
    with _desk(ws):
        client = None
        if refresh:
            from dreamcli.cloud.client import cloud_client

            client = cloud_client(config(ctx).limits)
        listing = list_dreams(ws, client=client)
    warn_lines(listing.unreadable_warnings + listing.warnings)
    if as_json:
        print_json({"version": 1, "dreams": listing.rows, "warnings": listing.warnings,
                    "unreadable": listing.unreadable})
    else:
        render_cloud_dream_list(listing.rows, command_prefix(ctx), refreshed=refresh)
    say_brought_in(listing.written, command_prefix(ctx))


cloud_group.add_group(sessions_group, "sessions")
cloud_group.add_group(memory_group, "memory")
cloud_group.add_group(dream_group, "dream")


def register(app: typer.Typer, sub: str | None = None) -> None:
    app.add_typer(cloud_group.build(sub), name="cloud")
