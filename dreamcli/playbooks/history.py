"""Playbook history (every approved version) and revert (a new version equal to an old one)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dreamcli.audit import append_audit, content_hash, current_actor, iter_audit
from dreamcli.errors import UsageError, WorkFailed
from dreamcli.playbooks import journal
from dreamcli.playbooks.audit_verify import Made, audit_lines, last_made, missing_kept, versions_made
from dreamcli.playbooks.format import parse_playbook, render_playbook
from dreamcli.playbooks.hand_edit import HandEdit, dropped
from dreamcli.playbooks.model import new_playbook
from dreamcli.playbooks.review import no_playbook
from dreamcli.playbooks.store import (
    Commit,
    commit_playbook,
    edited_since,
    history_path,
    history_versions,
    load_version_text,
    now_seconds,
    playbook_path,
    read_live_or_damage,
    read_text,
)
from dreamcli.workspace.fsutil import atomic_write_text
from dreamcli.workspace.home import Workspace
from dreamcli.workspace.lock import workspace_lock

if TYPE_CHECKING:
    from dreamcli.playbooks.revert_vetting import VettedVersion

LOCK_NAME = "playbooks"


@dataclass
class Version:
    version: int
    updated: str | None
    entries: int
    hash: str | None
    live: bool
    action: str | None = None  # from the audit trail: approve, revert, import ...
    actor: str | None = None
    dream_id: str | None = None
    ts: str | None = None
    unreadable: str | None = None  # why the kept file cannot be read (a directory, not UTF-8, malformed)
    missing: bool = False  # an audit record made this version, but its kept file is gone
    hand_edit: dict[str, Any] | None = None  # the record says the live file was edited by hand before it

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def history(ws: Workspace, name: str, problems: list[str] | None = None) -> list[Version]:
    """Every kept version, oldest first, with who made it (from the audit trail) where known. A live file
    that does not parse is reported in `problems` (with how to recover; raised without `problems`), and
    then no version is marked live: the kept ones are what a revert can restore."""
    live, live_text, damage = read_live_or_damage(ws, name)
    if damage is not None:
        if problems is None:
            raise damage
        problems.append(str(damage))
    versions = history_versions(ws, name)
    if live_text is None and not versions:
        raise no_playbook(ws, name)
    made: dict[int, dict[str, Any]] = {}
    for rec in iter_audit(ws):
        if rec.get("playbook") == name and isinstance(rec.get("version_after"), int) \
                and rec.get("version_after") != rec.get("version_before"):
            made[rec["version_after"]] = rec
    out = []
    for v in versions:
        rec = made.get(v, {})
        try:
            text = load_version_text(ws, name, v) or ""
        except (UsageError, OSError) as e:  # listed, marked: one bad file does not hide the others
            why = str(e) if isinstance(e, UsageError) else f"{history_path(ws, name, v)}: {e.strerror}"
            out.append(Version(version=v, updated=None, entries=0, hash=None, live=False, action=rec.get("action"),
                               actor=rec.get("actor"), dream_id=rec.get("dream_id"), ts=rec.get("ts"),
                               unreadable=why))
            continue
        problem: str | None = None
        try:
            pb = parse_playbook(text, file=str(history_path(ws, name, v)))
            updated, count = pb.updated, len(pb.entries())
        except UsageError as e:
            updated, count, problem = None, 0, str(e)
        out.append(Version(version=v, updated=updated, entries=count, hash=content_hash(text),
                           live=live is not None and live.version == v and text == live_text,
                           action=rec.get("action"), actor=rec.get("actor"), dream_id=rec.get("dream_id"),
                           ts=rec.get("ts"), unreadable=problem))
    out += [_missing(name, v, m, made.get(v, {})) for v, m in _recorded(ws, name).items() if v not in versions]
    out.sort(key=lambda v: v.version)
    for kept in out:
        kept.hand_edit = _hand_edit(made.get(kept.version, {}))
    if live is not None and not any(v.live for v in out):
        out.append(Version(version=live.version, updated=live.updated, entries=len(live.entries()),
                           hash=content_hash(live_text), live=True, action="hand edit (not yet recorded)"))
    return out


def _hand_edit(rec: dict[str, Any]) -> dict[str, Any] | None:
    """What the record that made a version says of a hand edit of the live file it was made on: its
    `hand_edit` (ids, `carried`), `{}` for a record that has only `hand_edited_before`, else None."""
    hand = rec.get("hand_edit")
    if isinstance(hand, dict):
        return hand
    return {} if rec.get("hand_edited_before") is True else None


def _recorded(ws: Workspace, name: str) -> dict[int, Made]:
    """The versions of `name` the audit trail says were made (by the rule `audit --verify` reads it by)."""
    return {v: m for (n, v), m in last_made(versions_made(audit_lines(ws))).items()
            if n == name and v is not None and m.malformed is None}


def _missing(name: str, version: int, m: Made, rec: dict[str, Any]) -> Version:
    """A version the audit trail says was made whose kept file is gone: listed, not dropped."""
    return Version(version=version, updated=None, entries=0, hash=None, live=False, action=m.action,
                   actor=m.actor, dream_id=rec.get("dream_id"), ts=rec.get("ts"),
                   unreadable=missing_kept(name, version, m.line), missing=True)


@dataclass(frozen=True)
class Reverted:
    """What a revert did: its commit (None: the live playbook already had that content) and how the kept
    version was vetted (`revert_vetting`)."""

    playbook: str
    to_version: int
    commit: Commit | None
    vetted: VettedVersion
    forced: bool = False  # blocked text made live with --force
    live_damaged: bool = False  # the live file it replaced did not parse
    damaged_kept: str | None = None  # where its text was kept (`state/damaged/…`, workspace-relative)
    hand_edit: HandEdit | None = None  # the live file it replaced was edited by hand (the revert drops that)
    hand_edit_kept: str | None = None  # where that hand-edited text was kept (`state/hand-edits/…`)

    def to_json(self) -> dict[str, Any]:
        c = self.commit
        return {"playbook": self.playbook, "to_version": self.to_version, "changed": c is not None,
                "version_before": c.version_before if c else None, "version_after": c.version_after if c else None,
                "secrets_redacted": self.vetted.secrets_redacted, "redacted": list(self.vetted.redacted),
                "forced": [f.to_json() for f in self.vetted.blocked] if self.forced else [],
                "live_damaged": self.live_damaged, "damaged_kept": self.damaged_kept,
                "hand_edit": self.hand_edit.to_json() if self.hand_edit else None,
                "hand_edit_kept": self.hand_edit_kept, "lint_warnings": [f.to_json() for f in self.vetted.warnings]}


def revert(ws: Workspace, name: str, version: int, *, actor: str | None = None, wait: float | None = None,
           force: bool = False) -> Reverted:
    """Make a new version whose content equals `version`, redacted and linted with the workspace's current
    rules (`revert_vetting`): a block finding on what it would make live raises WorkFailed (exit 1, nothing
    written) unless `force`, which the audit record lists."""
    from dreamcli.playbooks.revert_vetting import audit_fields, refusal, vet_version
    from dreamcli.playbooks.vetting import Vetting  # pydantic, config: not for `playbooks history`

    who = current_actor(actor)
    with workspace_lock(ws, LOCK_NAME, wait=wait):
        journal.recover(ws, name, who)
        if read_text(playbook_path(ws, name)) is None and not history_versions(ws, name):
            raise no_playbook(ws, name)
        # v0 is the playbook before its first approval (empty): reverting to it undoes that approval
        old_text = load_version_text(ws, name, version) if version else _empty_text(name)
        if old_text is None:
            known = ", ".join(f"v{v}" for v in history_versions(ws, name)) or "none"
            raise UsageError(f"playbook {name!r} has no version {version} (kept versions: {known})")
        if version:
            _check_kept(ws, name, version, old_text)
        # a live file that does not parse is replaced as it is: reverting is how it is recovered
        live, live_text, damage = read_live_or_damage(ws, name)
        vetted = vet_version(old_text, live, Vetting.of(ws), file=str(history_path(ws, name, version)))
        if vetted.blocked and not force:
            raise WorkFailed(refusal(name, version, vetted.blocked))
        old = vetted.playbook
        current = live if live is not None else new_playbook(name)
        if live is not None and _same_content(live_text or "", render_playbook(old)):
            return Reverted(name, version, None, vetted)
        # a damaged file's version cannot be read: it replaces the newest kept one (a hand edit of it)
        old.version = current.version if damage is None else max([0, *history_versions(ws, name)])
        old.name = name
        before_ids = {e.id for e in current.entries()}  # a damaged file's entries cannot be read: none
        after_ids = {e.id for e in old.entries()}
        # its text cannot be a kept version (it does not parse) and must not be lost: a copy beside the state
        kept = keep_damaged(ws, name, live_text or "") if damage is not None else None
        # nor is a hand edit of a good version, which the revert drops: the person's text, kept the same way
        edited = damage is None and bool(live_text) and edited_since(ws, name, current.version, live_text or "")
        hand_kept = keep_hand_edit(ws, name, live_text or "") if edited else None
        extra = {**({"live_damaged": True, "damaged_kept": kept} if kept else {}),
                 **({"hand_edit_kept": hand_kept} if hand_kept else {})}
        commit = commit_playbook(ws, old, expected_text=live_text, live_damaged=damage is not None,
                                 before_write=journal.begin(ws, "revert", who, entry_ids=sorted(before_ids ^ after_ids),
                                                            extra=extra))
        hand = dropped(commit.hand_edit)  # made live by hand since its version: the revert replaces it
        append_audit(ws, "revert", actor=who, playbook=name, to_version=version,
                     version_before=commit.version_before, version_after=commit.version_after,
                     hash_before=commit.hash_before, hash_after=commit.hash_after,
                     entry_ids=sorted(before_ids ^ after_ids),
                     removed=sorted(before_ids - after_ids), restored=sorted(after_ids - before_ids),
                     **audit_fields(vetted, force),
                     **({"hand_edited_before": True, "hand_edit": hand.record()} if hand is not None else {}),
                     **extra)
        journal.finish(ws, name)
        return Reverted(name, version, commit, vetted, forced=bool(vetted.blocked), live_damaged=damage is not None,
                        damaged_kept=kept, hand_edit=hand, hand_edit_kept=hand_kept)


def keep_damaged(ws: Workspace, name: str, text: str, folder: str = "damaged") -> str:
    """Keep the text of a live playbook that a revert replaces and no kept version holds, in
    `state/<folder>/<name>-<UTC time>.md` (0600): one that does not parse (`damaged`), or a version edited by
    hand (`hand-edits`). The person's edits in it are theirs to take back. Returns the copy's path, relative
    to the workspace."""
    stamp = now_seconds().replace(":", "").replace("-", "")
    path = ws.state_dir / folder / f"{name}-{stamp}.md"
    n = 1
    while path.exists():  # two reverts in one second
        n += 1
        path = path.with_name(f"{name}-{stamp}-{n}.md")
    atomic_write_text(path, text)
    return path.relative_to(ws.root).as_posix()


def keep_hand_edit(ws: Workspace, name: str, text: str) -> str:
    """Keep the live text of a playbook edited by hand that a commit replacing the file drops (a revert, an
    `import --replace`): no kept version holds it. In `state/hand-edits/<name>-<UTC time>.md` (`keep_damaged`);
    returns the copy's path, relative to the workspace (the record's and `--json`'s `hand_edit_kept`)."""
    return keep_damaged(ws, name, text, "hand-edits")


def _check_kept(ws: Workspace, name: str, version: int, text: str) -> None:
    """Refuse to revert to a kept version whose file is not what the audit record that made it says, by
    the rule `playbooks audit --verify` checks kept versions by (`audit_verify.versions_made`): a
    malformed history item that stands for it (or may: its version cannot be read) is refused too."""
    last = last_made(versions_made(audit_lines(ws)))
    made = last.get((name, None)) or last.get((name, version))
    if made is None or made.matches(content_hash(text)):
        return
    who = f"{made.action} by {made.actor}"
    if made.malformed is not None:
        raise UsageError(f"playbook {name!r} v{version}: the audit record that may have kept it (audit line "
                         f"{made.line}, {who}) is malformed: {made.malformed}; not reverting to it "
                         "(see: dreamcli playbooks audit --verify)")
    raise UsageError(f"playbook {name!r} v{version} was changed after it was kept: .history/{name}/v{version}.md "
                     f"is not what the audit trail recorded ({who}); "
                     "not reverting to it (see: dreamcli playbooks audit --verify)")


def _empty_text(name: str) -> str:
    return render_playbook(new_playbook(name))


def _same_content(a: str, b: str) -> bool:
    """Equal apart from the version and updated lines of the front matter."""
    pa, pb = parse_playbook(a), parse_playbook(b)
    pa.version = pb.version
    pa.updated = pb.updated
    return render_playbook(pa) == render_playbook(pb)
