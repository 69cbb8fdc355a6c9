"""`dreamcli playbooks diff/approve/reject/edit/revert`: the human review step.

Without a terminal nothing prompts: approve and reject need `--entry ID` (repeatable) or `--all`,
plus `--yes`; revert needs `--yes`. Which entries approve and reject act on, their questions on a terminal
and their report are dreamcli/cli/playbooks_decide.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from dreamcli.cli.common import open_workspace, print_json
from dreamcli.cli.group import Group
from dreamcli.cli.playbooks_help import APPROVE_EPILOG, DIFF_EPILOG, EDIT_EPILOG, REJECT_EPILOG, REVERT_EPILOG
from dreamcli.cli.waits import check_wait
from dreamcli.errors import DreamError, UsageError

if TYPE_CHECKING:
    from dreamcli.playbooks.proposals import UnreadableDream


def _reviewer_default(ctx: typer.Context, value: str | None) -> str | None:
    """--reviewer, else $DREAMCLI_ACTOR (applied later), else config playbooks.reviewer; checked (check_actor)."""
    import os

    from dreamcli.audit import check_actor, current_actor

    if ctx.resilient_parsing:
        return value
    if value or os.environ.get("DREAMCLI_ACTOR"):
        current_actor(value)  # --reviewer, else $DREAMCLI_ACTOR
        return value
    from dreamcli.cli.common import state
    from dreamcli.config import load_config
    from dreamcli.workspace.home import resolve_home

    try:
        configured = load_config(resolve_home(state(ctx).home).config_path).playbooks.reviewer
    except DreamError:
        return value
    return check_actor(configured, "config playbooks.reviewer") if configured else value


_ACTOR = typer.Option(None, "--reviewer", "--actor", callback=_reviewer_default, help="Who is deciding (default: "
                      "$DREAMCLI_ACTOR, else config playbooks.reviewer, else the login name).")
_WAIT = typer.Option(None, "--wait", metavar="SECONDS", callback=check_wait, help="Wait this long for another "
                     "approval to finish (-1: forever; default: fail at once with exit 75).")
_ENTRY = typer.Option(None, "--entry", "-e", metavar="ID", help="A proposed entry id (repeatable).")


def _interactive() -> bool:
    from dreamcli.ui.console import is_interactive

    return is_interactive()

def register(app: Group) -> None:
    @app.command("diff", short_help="Each proposed change, with its evidence.", epilog=DIFF_EPILOG)
    def diff_cmd(
        ctx: typer.Context,
        dream_id: str = typer.Argument(None, metavar="[DREAM_ID]", help="A dream id or unique prefix "
                                       "(default: every pending dream)."),
        playbook: str = typer.Option(None, "--playbook", help="Only proposals for this playbook."),
        decided: bool = typer.Option(False, "--all-entries", help="Also show entries already approved/rejected."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON (every evidence excerpt included)."),
        html: str = typer.Option(None, "--html", metavar="FILE", help="Write one self-contained HTML review page "
                                 "(- for stdout): diffs, evidence, lint, pilot lift, the commands to approve."),
        with_transcripts: bool = typer.Option(False, "--with-transcripts", help="With --html: also write each "
                                              "evidence session as a page, linked, in NAME-transcripts/ beside FILE "
                                              "(NAME: FILE's name without its extension, e.g. review-transcripts/ "
                                              "for review.html)."),
        reviewer: str = _ACTOR,
    ) -> None:
        """Each proposed change: added, changed, merged or retired, old and new text side by side, with
        support, evidence excerpts (session ids), lint findings and whether it still fits."""
        from dreamcli.cli.playbooks_decide import warn_unreadable
        from dreamcli.playbooks.proposals import load_dream, pending_dreams
        from dreamcli.playbooks.review import describe_dream

        ws = open_workspace(ctx, create=False)
        unreadable: list[UnreadableDream] = []
        # a named dream that does not read is exit 2 (load_dream); in the listing it is left out, with a warning
        dreams = [load_dream(ws, dream_id)] if dream_id else pending_dreams(ws, playbook, unreadable=unreadable)
        left_out = warn_unreadable(unreadable)
        if with_transcripts and not html:
            raise UsageError("--with-transcripts goes with --html FILE")
        if html:
            from dreamcli.cli.common import command_prefix, config
            from dreamcli.cli.html_out import refuse_json, write_review_html
            from dreamcli.config import workspace_redactor
            from dreamcli.identity import reviewer as reviewer_of
            from dreamcli.ui.console import info

            refuse_json(html, as_json)
            # a name someone typed (or git's): redacted as the audit record's actor is (dreamcli.audit)
            who = workspace_redactor(ws.config_path).redact_obj(reviewer_of(reviewer, config(ctx).playbooks.reviewer))
            written = write_review_html(ws, dreams, html, with_transcripts=with_transcripts, reviewer=who,
                                        prefix=command_prefix(ctx))
            if html != "-":
                info(f"wrote {written[0]}" + (f" and {len(written) - 1} transcript pages" if len(written) > 1 else ""))
            return
        described = [describe_dream(ws, d, include_decided=decided or bool(dream_id)) for d in dreams]
        if as_json:
            if dream_id:
                from dreamcli.cli.playbooks_json import with_evidence
                from dreamcli.config import workspace_redactor

                with_evidence(dreams[0], described[0], workspace_redactor(ws.config_path).redact_obj)
            print_json({"version": 1, "dreams": described, "unreadable": [u.to_json() for u in unreadable],
                        "problems": [u.message() for u in unreadable]})
            return
        if not described and left_out:
            from dreamcli.ui.console import note

            note(f"nothing to review: no pending proposals{left_out}")
            return
        from dreamcli.ui.playbooks_view import render_diff

        render_diff(described)

    @app.command("approve", short_help="Apply proposed entries as a new version.", epilog=APPROVE_EPILOG)
    def approve_cmd(
        ctx: typer.Context,
        dream_id: str = typer.Argument(None, metavar="[DREAM_ID]", help="Dream id or unique prefix."),
        entry: list[str] = _ENTRY,
        all_: bool = typer.Option(False, "--all", help="Every pending entry of the dream (or of every "
                                  "pending dream without DREAM_ID)."),
        edit_text: str = typer.Option(None, "--edit-text", help="Approve one --entry with this text instead."),
        yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask (required without a terminal)."),
        force: bool = typer.Option(False, "--force", help="Approve entries despite blocking lint findings "
                                   "(or, with --reason, without the pilot lift approval.require_lift asks for)."),
        reason: str = typer.Option(None, "--reason", help="Why --force overrides approval.require_lift (audited)."),
        include_tainted: bool = typer.Option(False, "--include-tainted", help="With --all, also approve tainted "
                                             "entries (evidence only from untrusted content); audited."),
        actor: str = _ACTOR,
        wait: float = _WAIT,
        as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    ) -> None:
        """Apply proposed entries to the live playbook as a new version (audited). Approving again is
        a no-op; entries that no longer fit the live playbook are refused (exit 1) and stay pending."""
        from dreamcli.cli.playbooks_decide import confirm_targets, finish_decisions, pending_targets, review_each_entry
        from dreamcli.playbooks.approval import approve

        ws = open_workspace(ctx, create=False)
        entry = list(entry or [])
        if edit_text is not None and len(entry) != 1:
            raise UsageError("--edit-text needs exactly one --entry ID")
        if not _interactive() and (not (entry or all_) or not yes):
            raise UsageError("no terminal to ask on: approve needs --entry ID (repeatable) or --all, plus --yes "
                             "(nothing was approved)")
        if entry and all_:
            raise UsageError("use --entry ID or --all, not both")
        unreadable: list[UnreadableDream] = []
        targets = pending_targets(ws, dream_id, entry, all_, unreadable)
        if not entry and not all_:
            targets = review_each_entry(ws, targets, actor, wait)
            if not targets:
                return
        elif not yes and not confirm_targets(ws, "approve", targets):
            raise typer.Exit(0)
        results = []
        for did, ids in targets:
            edits = {ids[0]: edit_text} if edit_text is not None else None
            results.append(approve(ws, did, entry_ids=ids or None, all_=not ids, edits=edits, force=force,
                                   actor=actor, wait=wait, reason=reason,
                                   include_tainted=include_tainted).to_json())
        finish_decisions(results, as_json, unreadable)

    @app.command("reject", short_help="Record that proposed entries are refused.", epilog=REJECT_EPILOG)
    def reject_cmd(
        ctx: typer.Context,
        dream_id: str = typer.Argument(None, metavar="[DREAM_ID]", help="Dream id or unique prefix."),
        entry: list[str] = _ENTRY,
        all_: bool = typer.Option(False, "--all", help="Every pending entry of the dream."),
        reason: str = typer.Option(None, "--reason", help="Why (recorded in the audit trail)."),
        yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask (required without a terminal)."),
        actor: str = _ACTOR,
        wait: float = _WAIT,
        as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    ) -> None:
        """Record that proposed entries will not be applied, with the reason (audited)."""
        from dreamcli.cli.playbooks_decide import confirm_targets, finish_decisions, pending_targets
        from dreamcli.playbooks.approval import reject

        ws = open_workspace(ctx, create=False)
        entry = list(entry or [])
        if not _interactive() and (not (entry or all_) or not yes or not reason):
            raise UsageError("no terminal to ask on: reject needs --entry ID (repeatable) or --all, --reason TEXT "
                             "and --yes (nothing was rejected)")
        if entry and all_:
            raise UsageError("use --entry ID or --all, not both")
        if not entry and not all_:
            raise UsageError("name the entries with --entry ID or pass --all")
        unreadable: list[UnreadableDream] = []
        targets = pending_targets(ws, dream_id, entry, all_, unreadable)
        if not reason:
            from dreamcli.ui.playbooks_view import ask_text

            answer = ask_text("reason for rejecting")
            if answer is None:  # Ctrl-D: nothing is rejected
                raise typer.Exit(0)
            reason = answer
        if not yes and not confirm_targets(ws, "reject", targets):
            raise typer.Exit(0)
        results = [reject(ws, did, entry_ids=ids or None, all_=not ids, reason=reason, actor=actor,
                          wait=wait).to_json() for did, ids in targets]
        finish_decisions(results, as_json, unreadable)

    @app.command("edit", short_help="Change a pending entry's text (audited).", epilog=EDIT_EPILOG)
    def edit_cmd(
        ctx: typer.Context,
        dream_id: str = typer.Argument(..., help="Dream id or unique prefix."),
        entry_id: str = typer.Argument(..., help="The proposed entry to edit."),
        text: str | None = typer.Option(None, "--text", help="The new text."),
        editor: bool = typer.Option(False, "--editor", help="Edit the text in $EDITOR (terminal only)."),
        actor: str = _ACTOR,
        wait: float = _WAIT,
    ) -> None:
        """Change a pending entry's text before approving it (audited; the proposal file is kept as the
        dream wrote it)."""
        from dreamcli.playbooks.approval import edit
        from dreamcli.playbooks.proposals import load_dream
        from dreamcli.ui.console import info, warn

        ws = open_workspace(ctx, create=False)
        if (text is None) == (not editor):
            raise UsageError("give the new text with --text TEXT or --editor (one of them)")
        if editor:
            if not _interactive():
                raise UsageError("--editor needs a terminal; use --text TEXT")
            dream = load_dream(ws, dream_id)
            op = dream.proposal.find(entry_id)
            if op is None:
                raise UsageError(f"dream {dream.dream_id} proposes no entry {entry_id}")
            from dreamcli.playbooks.vetting import Vetting
            from dreamcli.ui.editor import edit_text

            text = edit_text(Vetting.of(ws).text(dream, op) or "")  # what diff shows: never the file's secrets
            if text is None:
                info("no change")
                return
        _, findings = edit(ws, dream_id, entry_id, text or "", actor=actor, wait=wait)
        from dreamcli.cli.common import command_prefix

        info(f"edited {entry_id}; approve it with: {command_prefix(ctx)} playbooks approve {dream_id} --entry "
             f"{entry_id}")
        for f in findings:
            warn(f"{f.severity}: {f.rule}: {f.message}")

    @app.command("revert", short_help="Make a new version equal to an old one.", epilog=REVERT_EPILOG)
    def revert_cmd(
        ctx: typer.Context,
        name: str = typer.Argument(..., help="Playbook name."),
        version: str = typer.Argument(..., metavar="VERSION", help="The kept version to restore, 3 or v3 (0: the "
                                      "empty playbook before its first approval, to undo that approval)."),
        yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask (required without a terminal)."),
        force: bool = typer.Option(False, "--force", help="Restore text with blocking lint findings (injected "
                                   "instructions, control characters, ...) anyway; audited as forced."),
        actor: str = _ACTOR,
        wait: float = _WAIT,
        as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    ) -> None:
        """Make a new version equal to an old one, redacted and linted with today's rules (history is never
        rewritten; audited)."""
        from dreamcli.playbooks.history import revert
        from dreamcli.playbooks.store import version_number
        from dreamcli.ui.playbook_trail_view import render_revert

        number = version_number(version, name)
        ws = open_workspace(ctx, create=False)
        if not yes:
            if not _interactive():
                raise UsageError("no terminal to ask on: revert needs --yes (nothing was changed)")
            from dreamcli.ui.playbooks_view import confirm

            if not confirm(f"make a new version of {name} equal to v{number}?"):
                raise typer.Exit(0)
        result = revert(ws, name, number, actor=actor, wait=wait, force=force)
        if result.hand_edit is not None and result.commit is not None:
            from dreamcli.cli.playbooks_decide import warn_hand_edit

            kept = str(ws.root / result.hand_edit_kept) if result.hand_edit_kept else None
            warn_hand_edit(name, result.hand_edit.to_json(), result.commit.version_after, "revert", kept)
        if as_json:
            print_json({"version": 1, **result.to_json()})
        else:
            render_revert(result)
        if result.live_damaged:
            from dreamcli.ui.console import note

            note(f"the live file of {name} did not parse; the revert replaced it and kept its text in "
                 f"{ws.root / (result.damaged_kept or '')} (the audit record has its hash and live_damaged: true)")
