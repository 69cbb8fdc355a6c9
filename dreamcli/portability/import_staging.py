"""A bundle import's staging step: each playbook the bundle names is copied into a staging workspace, and
the bundle's version applied there (added as it is, merged, or replaced), so that nothing is written to the
live workspace before the whole bundle is checked (dreamcli.portability.importer)."""

from __future__ import annotations

from dreamcli.audit import content_hash
from dreamcli.errors import InputError
from dreamcli.playbooks import Playbook, render_playbook
from dreamcli.playbooks.hand_edit import dropped
from dreamcli.playbooks.store import commit_playbook, history_path, history_versions, read_live
from dreamcli.portability.bundle_io import copy_file, copy_tree
from dreamcli.portability.bundle_playbooks import Incoming
from dreamcli.portability.import_outcome import PlaybookOutcome
from dreamcli.portability.merge import merge_into
from dreamcli.workspace.fsutil import atomic_write_bytes
from dreamcli.workspace.home import Workspace


def untouched(stage: Workspace, name: str) -> PlaybookOutcome:
    """The outcome for a playbook lint refused as a whole: unchanged, or (new here) refused."""
    live, live_text = read_live(stage, name)
    if live is None or live_text is None:
        return PlaybookOutcome(name, "refused", None, None)
    h = content_hash(live_text)
    return PlaybookOutcome(name, "unchanged", live.version, live.version, hash_before=h, hash_after=h)


def check_local(ws: Workspace, name: str) -> None:
    """The history of playbook `name` can be kept in this workspace (a one-line error, not an internal
    one, when a file stands where its directory belongs)."""
    for d in (ws.playbook_history_dir, ws.playbook_history_dir / name):
        if d.exists() and not d.is_dir():
            raise InputError("is not a directory (playbook history belongs there); move it away", file=str(d))


def copy_playbook(ws: Workspace, stage: Workspace, name: str) -> None:
    """Copy the live file and history of playbook `name` into the staging workspace. A full disk names the
    staged copy it could not write (shutil's copies name the workspace's own file, or none)."""
    live = ws.playbooks_dir / f"{name}.md"
    if live.is_file():
        copy_file(live, stage.playbooks_dir / f"{name}.md")
    history = ws.playbook_history_dir / name
    if history.is_dir():
        copy_tree(history, stage.playbook_history_dir / name)


def apply_incoming(stage: Workspace, inc: Incoming, mode: str) -> PlaybookOutcome:
    """Apply the bundle's playbook `inc` to its staged copy in `stage`: a playbook new here comes in as the
    bundle has it, with its history; else `mode` "replace" makes it the next version, and "merge" merges
    its entries into the live one (`merge_into`). What changed is the outcome's."""
    live, live_text = read_live(stage, inc.name)
    known = history_versions(stage, inc.name)
    if live is None and _only_bundle_history(stage, inc, known):
        # New here (or left with only this bundle's history by an interrupted import of it): the
        # bundle's bytes as they are, with the history it carries.
        for version, data in sorted(inc.history.items()):
            atomic_write_bytes(stage.playbook_history_dir / inc.name / f"v{version}.md", data, fsync=False)
        atomic_write_bytes(stage.playbook_history_dir / inc.name / f"v{inc.playbook.version}.md", inc.raw,
                           fsync=False)
        atomic_write_bytes(stage.playbooks_dir / f"{inc.name}.md", inc.raw, fsync=False)
        return PlaybookOutcome(inc.name, "added", None, inc.playbook.version,
                               added=[e.id for e in inc.playbook.entries()],
                               history_imported=len(set(inc.history) | {inc.playbook.version}),
                               hash_after=content_hash(inc.raw),
                               kept={v: content_hash(data) for v, data in inc.history.items()
                                     if v != inc.playbook.version})
    before = live.version if live is not None else None
    if live_text is not None and (live_text.encode("utf-8") == inc.raw or (
            mode == "replace" and live is not None and _as_replaced(inc, live) == live_text)):
        return PlaybookOutcome(inc.name, "unchanged", before, before, hash_before=content_hash(live_text),
                               hash_after=content_hash(live_text))
    if mode == "replace" or live is None:
        pb = inc.playbook.copy()
        pb.version = before if before is not None else max(known)  # the version of what is live now
        commit = commit_playbook(stage, pb, expected_text=live_text)
        # what the replace takes away is said, not left to be found by comparing versions by hand
        theirs, ours = inc.playbook.ids(), live.ids() if live is not None else set()
        removed = [e.id for e in live.entries() if e.id not in theirs] if live is not None else []
        return PlaybookOutcome(inc.name, "replaced" if live is not None else "added", before,
                               commit.version_after, added=[e.id for e in inc.playbook.entries() if e.id not in ours],
                               removed=removed, older=before is not None and inc.playbook.version < before,
                               hash_before=commit.hash_before, hash_after=commit.hash_after,
                               hand_edit=dropped(commit.hand_edit))
    merged, report = merge_into(live, inc.playbook)
    if not report.changed:
        return PlaybookOutcome(inc.name, "unchanged", before, before, conflicts=report.conflicts,
                               folded=report.same_text, hash_before=content_hash(live_text),
                               hash_after=content_hash(live_text))
    commit = commit_playbook(stage, merged, expected_text=live_text)
    return PlaybookOutcome(inc.name, "merged", before, commit.version_after, added=report.added,
                           updated=report.updated, conflicts=report.conflicts, folded=report.same_text,
                           hash_before=commit.hash_before, hash_after=commit.hash_after, hand_edit=commit.hand_edit)


def _as_replaced(inc: Incoming, live: Playbook) -> str:
    """The bundle's playbook as `--replace` makes it live, with the version and time of `live`: equal to
    the live text when a replace of this same playbook put it there."""
    pb = inc.playbook.copy()
    pb.version, pb.updated = live.version, live.updated
    return render_playbook(pb)


def _only_bundle_history(stage: Workspace, inc: Incoming, known: list[int]) -> bool:
    """Every history version here is byte for byte the bundle's own (true when there is none)."""
    for v in known:
        theirs = inc.raw if v == inc.playbook.version else inc.history.get(v)
        if theirs is None or history_path(stage, inc.name, v).read_bytes() != theirs:
            return False
    return True
