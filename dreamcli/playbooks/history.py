"""Playbook history (every approved version) and revert (a new version equal to an old one)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dreamcli.audit import append_audit, content_hash, current_actor, iter_audit
from dreamcli.errors import UsageError
from dreamcli.playbooks import journal
from dreamcli.playbooks.format import parse_playbook
from dreamcli.playbooks.model import new_playbook
from dreamcli.playbooks.store import (
    Commit,
    commit_playbook,
    history_path,
    history_versions,
    load_version_text,
    read_live,
)
from dreamcli.workspace.home import Workspace
from dreamcli.workspace.lock import workspace_lock

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

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def history(ws: Workspace, name: str) -> list[Version]:
    """Every kept version, oldest first, with who made it (from the audit trail) where known."""
    live, live_text = read_live(ws, name)
    versions = history_versions(ws, name)
    if live is None and not versions:
        raise UsageError(f"no playbook {name!r} (see: dreamcli playbooks list)")
    made: dict[int, dict[str, Any]] = {}
    for rec in iter_audit(ws):
        if rec.get("playbook") == name and isinstance(rec.get("version_after"), int) \
                and rec.get("version_after") != rec.get("version_before"):
            made[rec["version_after"]] = rec
    out = []
    for v in versions:
        text = load_version_text(ws, name, v) or ""
        try:
            pb = parse_playbook(text, file=str(history_path(ws, name, v)))
            updated, count = pb.updated, len(pb.entries())
        except UsageError:
            updated, count = None, 0
        rec = made.get(v, {})
        out.append(Version(version=v, updated=updated, entries=count, hash=content_hash(text),
                           live=live is not None and live.version == v and text == live_text,
                           action=rec.get("action"), actor=rec.get("actor"), dream_id=rec.get("dream_id"),
                           ts=rec.get("ts")))
    if live is not None and not any(v.live for v in out):
        out.append(Version(version=live.version, updated=live.updated, entries=len(live.entries()),
                           hash=content_hash(live_text), live=True, action="hand edit (not yet recorded)"))
    return out


def revert(ws: Workspace, name: str, version: int, *, actor: str | None = None,
           wait: float | None = None) -> Commit | None:
    """Make a new version whose content equals `version`. None when the live playbook already equals it."""
    who = current_actor(actor)
    with workspace_lock(ws, LOCK_NAME, wait=wait):
        journal.recover(ws, name, who)
        # v0 is the playbook before its first approval (empty): reverting to it undoes that approval
        old_text = load_version_text(ws, name, version) if version else _empty_text(name)
        if old_text is None:
            known = ", ".join(f"v{v}" for v in history_versions(ws, name)) or "none"
            raise UsageError(f"playbook {name!r} has no version {version} (kept versions: {known})")
        old = parse_playbook(old_text, file=str(history_path(ws, name, version)))
        live, live_text = read_live(ws, name)
        current = live if live is not None else new_playbook(name)
        if live is not None and _same_content(live_text or "", old_text):
            return None
        old.version = current.version
        old.name = name
        before_ids = {e.id for e in current.entries()}
        after_ids = {e.id for e in old.entries()}
        commit = commit_playbook(ws, old, expected_text=live_text,
                                 before_write=journal.begin(ws, "revert", who,
                                                            entry_ids=sorted(before_ids ^ after_ids)))
        append_audit(ws, "revert", actor=who, playbook=name, to_version=version,
                     version_before=commit.version_before, version_after=commit.version_after,
                     hash_before=commit.hash_before, hash_after=commit.hash_after,
                     entry_ids=sorted(before_ids ^ after_ids),
                     removed=sorted(before_ids - after_ids), restored=sorted(after_ids - before_ids))
        journal.finish(ws, name)
        return commit


def _empty_text(name: str) -> str:
    from dreamcli.playbooks.format import render_playbook

    return render_playbook(new_playbook(name))


def _same_content(a: str, b: str) -> bool:
    """Equal apart from the version and updated lines of the front matter."""
    pa, pb = parse_playbook(a), parse_playbook(b)
    pa.version = pb.version
    pa.updated = pb.updated
    from dreamcli.playbooks.format import render_playbook

    return render_playbook(pa) == render_playbook(pb)
