"""`dreamcli playbooks`: read what the agent learned (list, show, history, lint, audit); the review
commands (diff, approve, reject, edit, revert) are in dreamcli/cli/playbooks_review.py."""

from __future__ import annotations

from typing import Any

import typer

from dreamcli.cli.common import open_workspace, print_data, print_json
from dreamcli.cli.group import Group
from dreamcli.errors import UsageError, WorkFailed
from dreamcli.workspace.home import Workspace

HELP = "Review, approve, reject and revert what the agent learned; history and audit trail."
EPILOG = """Examples:

\b
  dreamcli playbooks list                       playbooks, pending proposals
  dreamcli playbooks diff                       every pending change
  dreamcli playbooks approve 01JD3Z --entry pb-3f9k2xab --yes
  dreamcli playbooks reject 01JD3Z --all --reason "off policy" --yes
  dreamcli playbooks history legal              every approved version
  dreamcli playbooks revert legal 3 --yes       a new version equal to v3
  dreamcli playbooks revert legal 0 --yes       undo the first approval
  dreamcli playbooks audit --since 30d --json   who approved what, when

Without a terminal, approve, reject and revert never prompt: name entries (or
--all) and add --yes.
"""

playbooks_group = Group(help=HELP, epilog=EPILOG, no_args_is_help=True,
                        short_help="Review, approve and revert what the agent learned.")


@playbooks_group.command("list", short_help="Playbooks with versions, entries and tokens.",
                         epilog="Examples:\n\n\b\n  dreamcli playbooks list\n  dreamcli playbooks list --json")
def list_cmd(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Playbooks: name, version, entries, estimated tokens, last update, pending proposals."""
    from dreamcli.playbooks.proposals import UnreadableDream
    from dreamcli.playbooks.review import summaries
    from dreamcli.ui.console import warn

    ws = open_workspace(ctx, create=False)
    problems: list[str] = []
    unreadable: list[UnreadableDream] = []
    rows = summaries(ws, problems, unreadable)
    for p in problems:
        warn(p)
    if as_json:  # `unreadable` as `playbooks diff --json` has it; `problems`: every warning line, kept as it was
        print_json({"version": 1, "playbooks": rows, "unreadable": [u.to_json() for u in unreadable],
                    "problems": problems})
        return
    from dreamcli.ui.playbooks_view import render_list

    render_list(rows)


_SHOW_EPILOG = """Examples:

\b
  dreamcli playbooks show legal
  dreamcli playbooks show legal --raw > legal.md
  dreamcli playbooks show legal --version 2
"""


@playbooks_group.command("show", short_help="Show a playbook, rendered for reading.", epilog=_SHOW_EPILOG)
def show_cmd(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Playbook name."),
    raw: bool = typer.Option(False, "--raw", help="Print the markdown file exactly as stored."),
    version: str = typer.Option(None, "--version", metavar="N", help="Show a kept version (2 or v2) instead of "
                                "the live one."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (front matter and entries)."),
) -> None:
    """Show a playbook, rendered for reading (or the raw markdown, or JSON)."""
    from dreamcli.playbooks.format import parse_playbook
    from dreamcli.playbooks.review import no_playbook, playbook_json
    from dreamcli.playbooks.store import (
        history_path,
        history_versions,
        parse_live,
        playbook_path,
        read_text,
        version_number,
    )

    number = None if version is None else version_number(version, name)
    ws = open_workspace(ctx, create=False)
    path = playbook_path(ws, name) if number is None else history_path(ws, name, number)
    text = read_text(path)
    if text is None:
        if number is not None:
            known = ", ".join(f"v{v}" for v in history_versions(ws, name)) or "none"
            raise UsageError(f"playbook {name!r} has no version {number} (kept: {known})")
        raise no_playbook(ws, name)
    if raw:
        print_data(text)
        return
    pb = parse_live(ws, name, text) if number is None else parse_playbook(text, file=str(path))
    if as_json:
        print_json({"version": 1, "playbook": playbook_json(pb)})
        return
    from dreamcli.ui.playbooks_view import render_playbook_view

    render_playbook_view(playbook_json(pb))


@playbooks_group.command("history", short_help="Every approved version, with who and why.",
                         epilog="Examples:\n\n\b\n  dreamcli playbooks history legal\n"
                                "  dreamcli playbooks history legal --json")
def history_cmd(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Playbook name."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Every approved version of a playbook, oldest first, with who made it and how."""
    from dreamcli.playbooks.history import history
    from dreamcli.ui.console import warn

    ws = open_workspace(ctx, create=False)
    problems: list[str] = []  # a live file that does not parse: warned, its kept versions still listed
    versions = [v.to_json() for v in history(ws, name, problems)]
    for p in problems:
        warn(p)
    if as_json:
        print_json({"version": 1, "playbook": name, "versions": versions, "problems": problems})
        return
    from dreamcli.ui.playbook_trail_view import render_history

    render_history(name, versions)


@playbooks_group.command("lint", short_help="Check a live playbook's entries, description and headings.",
                         epilog="Examples:\n\n\b\n  dreamcli playbooks lint legal\n"
                                "  dreamcli playbooks lint legal --json")
def lint_cmd(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Playbook name."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Check every entry of a live playbook, its description and its section headings (a run's system
    prompt holds them all) with the dream's lint rules (secrets, forbidden phrases, injected instructions,
    unknown hosts, ...; configured under `lint:` in config.yaml). Exit 1 on a blocking finding."""
    from dreamcli.cli.common import config
    from dreamcli.playbooks.lint import lint_entry_text, prompt_parts
    from dreamcli.playbooks.review import no_playbook
    from dreamcli.playbooks.store import load_playbook

    ws = open_workspace(ctx, create=False)
    pb = load_playbook(ws, name)
    if pb is None:
        raise no_playbook(ws, name)
    cfg = config(ctx)
    findings: list[dict[str, Any]] = []
    for part, text in prompt_parts(pb):
        where = {"section": text} if part == "section" else {}
        findings += [{"entry_id": None, "part": part, **where, **f.to_json()} for f in lint_entry_text(text, cfg)]
    for entry in pb.entries():
        for f in lint_entry_text(entry.text, cfg):
            findings.append({"entry_id": entry.id, "part": "entry", **f.to_json()})
    from dreamcli.playbooks.duplicates import duplicate_entries

    for dup, first in duplicate_entries(pb):
        findings.append({"entry_id": dup.id, "part": "entry", "severity": "warn", "rule": "duplicate",
                         "message": f"says the same as {first.id} (keep one: edit the playbook and approve)"})
    blocking = [f for f in findings if f.get("severity") == "block"]
    if as_json:
        print_json({"version": 1, "playbook": name, "playbook_version": pb.version,
                    "entries": len(pb.entries()), "findings": findings})
    else:
        from dreamcli.ui.playbooks_view import render_lint

        render_lint(name, findings, len(pb.entries()))
    if blocking:
        raise WorkFailed(f"{len(blocking)} blocking lint finding{'s' if len(blocking) > 1 else ''} in {name}")


# every action an audit record can have (dreamcli.audit.append_audit callers; docs/audit.md)
AUDIT_ACTIONS = ("approve", "reject", "edit", "revert", "import", "export", "reconciled", "sessions-import",
                 "cloud-push", "cloud-pull")


@playbooks_group.command("audit", short_help="The audit trail; --verify checks it.",
                         epilog="Examples:\n\n\b\n  dreamcli playbooks audit --playbook legal --since 30d\n"
                                "  dreamcli playbooks audit --action approve --actor alice --json")
def audit_cmd(
    ctx: typer.Context,
    action: list[str] = typer.Option(None, "--action", help=f"{', '.join(AUDIT_ACTIONS)} (repeatable)."),
    actor: str = typer.Option(None, "--actor", help="Only records by this person."),
    since: str = typer.Option(None, "--since", help="Only records after this (7d, 12h, 2026-11-01)."),
    playbook: str = typer.Option(None, "--playbook", help="Only records about this playbook."),
    dream: str = typer.Option(None, "--dream", help="Only records about this dream (id or prefix)."),
    limit: int = typer.Option(None, "--limit", min=1, help="Only the newest N records."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    verify: bool = typer.Option(False, "--verify", help="Check the hash chain, the signatures (with "
                                "audit.allowed_signers) and that each live playbook is what its last audited "
                                "change made; exit 1 naming the first line that breaks."),
    anchor: str = typer.Option(None, "--anchor", metavar="LINE:HASH", help="With --verify: the head an "
                               "earlier --verify printed, kept elsewhere; fails unless line LINE still has "
                               "that hash (catches a rewrite of the whole trail)."),
    signed_from: int = typer.Option(None, "--signed-from", metavar="LINE", min=1, help="With --verify and "
                                    "audit.allowed_signers: every chained record from line LINE on must carry a "
                                    "valid signature (catches signatures stripped from the whole trail)."),
) -> None:
    """The audit trail: every approval, rejection, edit, revert, import and export, oldest first."""
    from dreamcli.audit import iter_audit
    from dreamcli.timeutil import parse_since, parse_ts

    if anchor is not None and not verify:
        raise UsageError("--anchor checks the trail: use it with --verify")
    if signed_from is not None and not verify:
        raise UsageError("--signed-from checks the trail's signatures: use it with --verify")
    for a in action or []:
        if a not in AUDIT_ACTIONS:
            raise UsageError(f"--action: {a!r} is not one of {', '.join(AUDIT_ACTIONS)}")
    ws = open_workspace(ctx, create=False)
    if verify:
        _verify(ctx, ws, as_json, anchor, signed_from)
        return
    from dreamcli.textnorm import same_name

    after = parse_since(since) if since else None
    records = []
    for rec in iter_audit(ws):
        if action and rec.get("action") not in action:
            continue
        if actor and not same_name(rec.get("actor") if isinstance(rec.get("actor"), str) else None, actor):
            continue
        if playbook and rec.get("playbook") != playbook:
            continue
        if dream and not str(rec.get("dream_id") or "").lower().startswith(dream.lower()):
            continue
        if after is not None:
            try:
                if parse_ts(str(rec.get("ts"))) < after:
                    continue
            except ValueError:
                continue
        records.append(rec)
    if limit:
        records = records[-limit:]
    if as_json:
        print_json({"version": 1, "records": records})
        return
    from dreamcli.ui.playbook_trail_view import render_audit

    render_audit(records)


def _verify(ctx: typer.Context, ws: Workspace, as_json: bool, anchor: str | None, signed_from: int | None) -> None:
    from dreamcli.cli.common import config
    from dreamcli.playbooks.audit_verify import parse_anchor, verify_audit

    try:
        given = parse_anchor(anchor) if anchor is not None else None
    except ValueError as e:
        raise UsageError(f"--anchor: {e}") from None
    allowed = config(ctx).audit.allowed_signers
    if signed_from is not None and not allowed:
        raise UsageError("--signed-from needs audit.allowed_signers in config.yaml to check the signatures "
                         "(docs/audit.md, \"Signing\")")
    result = verify_audit(ws, allowed_signers=allowed, anchor=given, signed_from=signed_from)
    if as_json:
        print_json({"version": 1, **result.to_json()})
    else:
        from dreamcli.ui.audit_view import render_verify

        render_verify(result.to_json())
    if not result.ok:
        raise WorkFailed(f"audit trail does not verify: {result.first_problem()}")


def register(app: typer.Typer, sub: str | None = None) -> None:
    from dreamcli.cli import playbooks_review

    group = playbooks_group.copy()
    playbooks_review.register(group)  # diff, approve, reject, edit, revert
    app.add_typer(group.build(sub), name="playbooks")
