"""What `dreamcli playbooks approve` and `reject` act on, how they ask, and how they report
(dreamcli/cli/playbooks_review.py holds the commands):

- `pending_targets`: the (dream id, entry ids) pairs named by DREAM_ID, `--entry` or `--all`;
- `confirm_targets`: the diff of those entries, then one yes/no question;
- `review_each_entry`: on a terminal without `--entry`/`--all`, a question per pending entry
  (approve, edit then approve, reject, skip, quit);
- `finish_decisions`: the results printed (or as JSON, with the dreams left out as unreadable), exit 1
  when an entry was refused;
- `warn_unreadable`: a warning per pending dream that cannot be read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dreamcli.cli.common import print_json
from dreamcli.errors import UsageError, WorkFailed
from dreamcli.workspace.home import Workspace

if TYPE_CHECKING:
    from dreamcli.playbooks.proposals import UnreadableDream


def pending_targets(ws: Workspace, dream_id: str | None, entry_ids: list[str], all_: bool,
                    unreadable: list[UnreadableDream]) -> list[tuple[str, list[str]]]:
    """(dream id, entry ids) pairs to act on. Without DREAM_ID: the pending dream(s) holding the entries,
    or with --all every pending dream; the dreams left out because they cannot be read are added to
    `unreadable` (and warned about), for the JSON."""
    from dreamcli.playbooks.proposals import pending_dreams, resolve_dream_id

    if dream_id:
        return [(resolve_dream_id(ws, dream_id), entry_ids)]
    pending = pending_dreams(ws, unreadable=unreadable)
    left_out = warn_unreadable(unreadable)
    if all_:
        if not pending:
            raise UsageError(f"no pending proposals{left_out or ' (see: dreamcli playbooks list)'}")
        return [(d.dream_id, []) for d in pending]
    if not entry_ids:
        if len(pending) == 1:
            return [(pending[0].dream_id, [])]
        raise UsageError("name the dream: DREAM_ID (pending: "
                         + (", ".join(d.dream_id for d in pending[:5]) or "none") + f"){left_out}")
    out: dict[str, list[str]] = {}
    for entry_id in entry_ids:
        holders = [d for d in pending if d.proposal.find(entry_id) is not None]
        if not holders:
            raise UsageError(f"no pending proposal has entry {entry_id}{left_out or ' (see: dreamcli playbooks diff)'}")
        if len(holders) > 1:
            raise UsageError(f"entry {entry_id} is in several dreams ({', '.join(d.dream_id for d in holders)}); "
                             "name the DREAM_ID")
        out.setdefault(holders[0].dream_id, []).append(entry_id)
    return list(out.items())


def warn_hand_edit(playbook: str, hand: dict[str, Any] | None, version_after: int | None, action: str,
                   kept: str | None = None) -> None:
    """A warning that the live playbook was edited by hand (what changed, whether the new version keeps
    it, where the text of an edit it drops was `kept`), then one per lint finding on what the edit added
    (`dreamcli.playbooks.hand_edit`)."""
    if not hand:
        return
    from dreamcli.playbooks.hand_edit import describe, lint_lines
    from dreamcli.ui.console import warn

    warn(describe(playbook, hand, version_after, action, kept))
    for line in lint_lines(playbook, hand):
        warn(line)


def warn_unreadable(unreadable: list[UnreadableDream]) -> str:
    """One warning line per dream left out as unreadable; the note for a message that follows."""
    if not unreadable:
        return ""
    from dreamcli.ui.console import warn

    for bad in unreadable:
        warn(bad.message())
    n = len(unreadable)
    return (f"; {n} dream{' was' if n == 1 else 's were'} left out because {'it' if n == 1 else 'they'} cannot be "
            "read (warning above)")


def confirm_targets(ws: Workspace, action: str, targets: list[tuple[str, list[str]]]) -> bool:
    from dreamcli.playbooks.proposals import load_dream
    from dreamcli.playbooks.review import describe_dream
    from dreamcli.ui.playbooks_view import confirm, render_diff

    described = []
    count = 0
    for did, ids in targets:
        d = describe_dream(ws, load_dream(ws, did))
        if ids:
            d["operations"] = [o for o in d["operations"] if o["entry_id"] in ids]
        count += len(d["operations"])
        described.append(d)
    render_diff(described)
    return confirm(f"{action} {count} entr{'y' if count == 1 else 'ies'}?")


def review_each_entry(ws: Workspace, targets: list[tuple[str, list[str]]], actor: str | None,
                      wait: float | None) -> list[tuple[str, list[str]]]:
    """On a terminal without --entry/--all: ask about each pending entry in turn."""
    from dreamcli.playbooks.approval import reject
    from dreamcli.playbooks.proposals import load_dream
    from dreamcli.playbooks.review import describe_dream
    from dreamcli.ui.playbooks_view import ask_text, choose, show_item

    chosen: list[tuple[str, list[str]]] = []
    quit_ = False
    for did, _ in targets:
        d = describe_dream(ws, load_dream(ws, did))
        ids: list[str] = []
        for item in d["operations"]:
            show_item(d, item)
            # Ctrl-D quits, as q does: what was answered so far still counts
            answer = choose("approve, edit (then approve), reject, skip or quit?", ["a", "e", "r", "s", "q"], "s",
                            on_eof="q")
            if answer == "q":
                quit_ = True
                break
            if answer == "a" or (answer == "e" and _edit_entry(ws, did, item, actor, wait)):
                ids.append(item["entry_id"])
            elif answer == "r":
                reason = ask_text("reason")
                if reason is None:
                    continue  # Ctrl-D at the reason: not rejected, still pending
                reject(ws, did, entry_ids=[item["entry_id"]], reason=reason, actor=actor, wait=wait)
        if ids:
            chosen.append((did, ids))
        if quit_:
            break
    return chosen


def _edit_entry(ws: Workspace, did: str, item: dict[str, Any], actor: str | None, wait: float | None) -> bool:
    """Open $EDITOR on a proposed entry's text and record the edit (audited); False when unchanged."""
    from dreamcli.playbooks.approval import edit
    from dreamcli.ui.console import info, warn
    from dreamcli.ui.editor import edit_text

    text = edit_text(item.get("new_text") or "")
    if text is None or not text.strip():
        info("no change; the entry stays pending")
        return False
    _, findings = edit(ws, did, item["entry_id"], text, actor=actor, wait=wait)
    for f in findings:
        warn(f"{f.severity}: {f.rule}: {f.message}")
    return True


def finish_decisions(results: list[dict[str, Any]], as_json: bool, unreadable: list[UnreadableDream]) -> None:
    """The results; with --json also the dreams left out as unreadable, as `playbooks diff --json` has them.
    A hand edit of the live file that an approval took in is a warning on stderr either way."""
    for r in results:
        warn_hand_edit(r["playbook"], r.get("hand_edit"), r.get("version_after"), r["action"])
    if as_json:
        print_json({"version": 1, "results": results, "unreadable": [u.to_json() for u in unreadable],
                    "problems": [u.message() for u in unreadable]})
    else:
        from dreamcli.ui.playbooks_view import render_review

        for r in results:
            render_review(r)
    refused = [o for r in results for o in r["outcomes"] if o["result"] == "conflict"]
    if refused:
        first = refused[0]
        raise WorkFailed(f"{len(refused)} entr{'y' if len(refused) == 1 else 'ies'} refused: {first['entry_id']}: "
                         f"{first['reason']}" + (" (and more, see above)" if len(refused) > 1 else ""))
