"""`dreamcli import BUNDLE`: verify, stage, install. Nothing is written to the live workspace until the
whole bundle is checked (manifest, checksums, paths, every playbook parses, every session is the
session its name says) and each changed playbook is complete in a staging directory; then, under the
"playbooks" lock, the files are moved in one by one with os.replace (atomic per file): a playbook's
new history versions first, then its live file. The live playbooks directory is never missing or
half-written; see docs/portability.md for what an interrupted import leaves."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dreamcli.audit import append_audit, content_hash, current_actor
from dreamcli.errors import InputError, UsageError
from dreamcli.faults import crashpoint
from dreamcli.playbooks import Playbook, journal, render_playbook
from dreamcli.playbooks.hand_edit import HandEdit, dropped
from dreamcli.playbooks.hand_edit_vet import vet_in
from dreamcli.playbooks.store import (
    HISTORY_DIGITS,
    HISTORY_FILE_RE,
    Commit,
    ConcurrentChange,
    commit_playbook,
    history_path,
    history_versions,
    read_live,
    read_text,
)
from dreamcli.portability.arrivals import publisher
from dreamcli.portability.bundle_io import copy_file, copy_tree, unpack
from dreamcli.portability.bundle_lint import Flagged, vet_incoming
from dreamcli.portability.bundle_playbooks import Incoming, incoming_playbooks
from dreamcli.portability.bundle_sessions import SessionsAdded, add_sessions, bundled_sessions, check_session
from dreamcli.portability.manifest import MANIFEST, file_sha256, parse_manifest, source_of, verify_files
from dreamcli.portability.merge import merge_into
from dreamcli.redaction import Redactor, for_patterns
from dreamcli.sessions.importers import journal as sessions_journal
from dreamcli.sessions.paths import session_path
from dreamcli.workspace.fsutil import atomic_write_bytes, ensure_dir, sync_fd
from dreamcli.workspace.home import Workspace
from dreamcli.workspace.intents import done as finished
from dreamcli.workspace.lock import workspace_lock
from dreamcli.workspace.userpath import user_path

if TYPE_CHECKING:
    from dreamcli.config import Config

MODES = ("merge", "replace")
LOCK_NAME = "playbooks"


@dataclass
class PlaybookOutcome:
    name: str
    action: str  # added, merged, replaced, unchanged; refused (new here, every entry refused by lint)
    version_before: int | None
    version_after: int | None
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    history_imported: int = 0
    hash_before: str | None = None
    hash_after: str | None = None
    secrets_redacted: int = 0  # files of the bundle's playbook (live, history) whose secrets were replaced
    kept: dict[int, str | None] = field(default_factory=dict)  # older versions the bundle brought -> hash
    refused: list[Flagged] = field(default_factory=list)  # blocked by lint: nothing of them imported
    forced: list[Flagged] = field(default_factory=list)  # blocked by lint, imported with --force
    lint_warnings: list[Flagged] = field(default_factory=list)
    hand_edit: HandEdit | None = None  # the live file was edited by hand since its version (merge keeps the edit)

    def to_json(self) -> dict[str, Any]:
        flagged = ("refused", "forced", "lint_warnings")
        return {k: [f.to_json() for f in v] if k in flagged else v for k, v in self.__dict__.items()} \
            | {"hand_edit": self.hand_edit.to_json() if self.hand_edit else None}


@dataclass
class BundleImport:
    bundle: str
    mode: str
    manifest: dict[str, Any]
    playbooks: list[PlaybookOutcome] = field(default_factory=list)
    sessions_added: int = 0
    sessions_present: int = 0
    session_lines_skipped: int = 0  # corrupt or cut-off lines of bundled sessions, left out

    def to_json(self) -> dict[str, Any]:
        m = self.manifest
        return {
            "bundle": self.bundle, "mode": self.mode,
            "from": {k: m.get(k) for k in ("format_version", "dreamcli_version", "created", "provenance")},
            "playbooks": [p.to_json() for p in self.playbooks],
            "sessions_added": self.sessions_added, "sessions_present": self.sessions_present,
            "session_lines_skipped": self.session_lines_skipped,
        }

    def refused(self) -> list[tuple[str, Flagged]]:
        """Every entry lint refused, with its playbook."""
        return [(p.name, f) for p in self.playbooks for f in p.refused]


def import_bundle(ws: Workspace, bundle: Path, *, mode: str = "merge", actor: str | None = None,
                  wait: float | None = None, redaction_patterns: Sequence[str] | None = None,
                  force: bool = False) -> BundleImport:
    """Import a bundle. Sessions in it are redacted with `redaction_patterns` (default: the
    workspace's config.yaml `redaction.patterns`) on top of the built-in rules. What would go live is
    linted with the workspace's rules (`bundle_lint`): an entry with a block finding is left out and
    listed in `refused` of its playbook, unless `force`."""
    if mode not in MODES:
        raise UsageError(f"unknown import mode {mode!r} (use --merge or --replace)")
    bundle = user_path(Path(bundle).expanduser(), "BUNDLE", recorded=True)  # its path is in the audit records
    if not bundle.exists():
        raise InputError("bundle not found", file=str(bundle))
    from dreamcli.config import load_config

    config = load_config(ws.config_path)
    if redaction_patterns is None:
        redaction_patterns = config.redaction.patterns
    redactor = for_patterns(redaction_patterns)
    ws.ensure()
    with workspace_lock(ws, LOCK_NAME, wait=wait):
        staging = sessions_journal.staging_dir(ws)
        journal.recover_all(ws, current_actor(actor))  # a bundle import or approve that was killed
        try:
            return _import(ws, bundle, staging, mode, actor, redactor, _Lint(config, force))
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            with contextlib.suppress(OSError):
                (ws.state_dir / "import-staging").rmdir()


def _read(bundle: Path, staging: Path,
          redactor: Redactor) -> tuple[dict[str, Any], dict[str, Path], list[Incoming]]:
    where = str(bundle)
    files = unpack(bundle, staging / "bundle")
    if MANIFEST not in files:
        raise InputError(f"incomplete bundle: {MANIFEST} is missing (not made by `dreamcli export`?)", file=where)
    manifest = parse_manifest(files[MANIFEST].read_bytes(), bundle=where)
    verify_files(manifest, files, bundle=where)
    return manifest, files, incoming_playbooks(manifest, files, where, redactor)


@dataclass(frozen=True)
class _Lint:
    config: Config
    force: bool


def _import(ws: Workspace, bundle: Path, staging: Path, mode: str, actor: str | None,
            redactor: Redactor, lint: _Lint) -> BundleImport:
    manifest, files, incoming = _read(bundle, staging, redactor)
    result = BundleImport(bundle=str(bundle), mode=mode, manifest=manifest)
    # Stage a copy of each playbook the bundle names (live file and history) and apply the changes.
    stage_ws = Workspace(root=staging / "ws", source="option")
    ensure_dir(stage_ws.playbooks_dir)
    for inc in incoming:
        _check_local(ws, inc.name)
        _copy_playbook(ws, stage_ws, inc.name)
        try:
            vetted = vet_incoming(inc, read_live(stage_ws, inc.name)[0], mode, lint.config, force=lint.force)
            outcome = (_untouched(stage_ws, inc.name) if vetted.whole
                       else PlaybookOutcome(inc.name, "refused", None, None) if vetted.emptied
                       else _apply(stage_ws, vetted.incoming, mode))
        except InputError as e:  # about a staged copy of a workspace file: name the workspace's own
            raise InputError(str(e).replace(str(stage_ws.root), str(ws.root))) from None
        outcome.secrets_redacted = inc.redacted
        outcome.refused, outcome.forced, outcome.lint_warnings = vetted.refused, vetted.forced, vetted.warnings
        if outcome.hand_edit is not None and outcome.hand_edit.carried:  # linted as the approve of it would be
            outcome.hand_edit = vet_in(ws, outcome.hand_edit, force=lint.force, action="import")
        result.playbooks.append(outcome)
    for out in result.playbooks:  # what goes live must parse
        if out.action != "refused" and read_live(stage_ws, out.name)[0] is None:
            raise InputError(f"playbook {out.name} did not stage", file=str(bundle))
    sessions = bundled_sessions(files, bundle)
    for s in sessions:
        check_session(s, bundle)
    changed = [p for p in result.playbooks if p.action not in ("unchanged", "refused")]
    bundle_hash = "sha256:" + file_sha256(bundle) if bundle.is_file() else None
    about = {"mode": mode, "bundle": str(bundle), "bundle_hash": bundle_hash,
             "bundle_created": manifest.get("created")}

    who = current_actor(actor)

    def intend(p: PlaybookOutcome, history_added: list[int]) -> None:  # the playbooks journal's intent
        commit = Commit(name=p.name, version_before=p.version_before or 0, version_after=p.version_after or 0,
                        hash_before=p.hash_before, hash_after=p.hash_after or "", text_after="", hand_edited=False)
        journal.begin(ws, "import", who, history_added=history_added)(commit)

    def audit_playbook(p: PlaybookOutcome) -> None:
        redacted: dict[str, Any] = {"secrets_redacted": p.secrets_redacted} if p.secrets_redacted else {}
        if p.kept:  # so that `audit --verify` checks the older versions the bundle brought too
            redacted["history"] = [{"version": v, "hash": h} for v, h in sorted(p.kept.items())]
        redacted.update(_lint_fields(p), **source_of(manifest, p.name, redactor.redact_text))
        append_audit(ws, "import", actor=actor, playbook=p.name, version_before=p.version_before,
                     version_after=p.version_after, hash_before=p.hash_before, hash_after=p.hash_after,
                     result=p.action, added=p.added, updated=p.updated,
                     conflicts=[c["id"] for c in p.conflicts], **redacted, **about,
                     **({"hand_edited_before": True, "hand_edit": p.hand_edit.record()} if p.hand_edit else {}))
        crashpoint("bundle.audited")
        journal.finish(ws, p.name)

    _install(ws, stage_ws, changed, audit_playbook, intend)
    for p in result.playbooks:  # refused, and nothing else changed: on record, vouching for no version
        if p.refused and p.action in ("unchanged", "refused"):
            append_audit(ws, "import", actor=actor, playbook=p.name, live_version=p.version_before,
                         live_hash=p.hash_before, result=p.action, **_lint_fields(p), **about)
    done = SessionsAdded()
    planned = [s.session_id for s in sessions if not session_path(ws, s.session_id).exists()]
    intent = sessions_journal.begin(ws, planned, {"actor": actor, **about}, action="import") if planned else None
    try:
        add_sessions(ws, sessions, redactor, done)
    finally:
        if done.added:  # recorded even when interrupted part-way
            fields: dict[str, Any] = {k: v for k, v in done.audit_fields().items()
                      if k not in ("sessions_added", "session_ids", "session_ids_hash")}
            sessions_journal.audit_batch(ws, done.added, {"actor": actor, "source": "bundle", **about}, intent,
                                         action="import", **fields)
            publisher(ws)(done.added)  # the index and the object store hear of them, before the intent closes
        if intent is not None:
            finished(intent)
        result.sessions_added, result.sessions_present = len(done.added), len(done.present)
        result.session_lines_skipped = done.lines_skipped
    return result


def _lint_fields(p: PlaybookOutcome) -> dict[str, Any]:
    """The audit fields of what lint refused (entry, description or heading, and findings) and what
    --force let in (entry ids; `forced_parts`: the description, headings)."""
    fields: dict[str, Any] = {}
    if p.refused:
        fields["refused"] = [{"entry_id": f.entry_id, "reason": f.reason(), "history": f.history}
                             | _part(f) for f in p.refused]
    if any(f.part == "entry" for f in p.forced):
        fields["forced"] = [f.entry_id for f in p.forced if f.part == "entry"]
    if any(f.part != "entry" for f in p.forced):
        fields["forced_parts"] = [_part(f) for f in p.forced if f.part != "entry"]
    return fields


def _part(f: Flagged) -> dict[str, Any]:
    """Which part of a playbook a flagged text is when not an entry (the heading's title, as redacted)."""
    if f.part == "entry":
        return {}
    return {"part": f.part, **({"heading": f.heading} if f.part == "section" else {})}


def _untouched(stage: Workspace, name: str) -> PlaybookOutcome:
    """The outcome for a playbook lint refused as a whole: unchanged, or (new here) refused."""
    live, live_text = read_live(stage, name)
    if live is None or live_text is None:
        return PlaybookOutcome(name, "refused", None, None)
    h = content_hash(live_text)
    return PlaybookOutcome(name, "unchanged", live.version, live.version, hash_before=h, hash_after=h)


def _check_local(ws: Workspace, name: str) -> None:
    """The history of playbook `name` can be kept in this workspace (a one-line error, not an internal
    one, when a file stands where its directory belongs)."""
    for d in (ws.playbook_history_dir, ws.playbook_history_dir / name):
        if d.exists() and not d.is_dir():
            raise InputError("is not a directory (playbook history belongs there); move it away", file=str(d))


def _copy_playbook(ws: Workspace, stage: Workspace, name: str) -> None:
    """Copy the live file and history of playbook `name` into the staging workspace. A full disk names the
    staged copy it could not write (shutil's copies name the workspace's own file, or none)."""
    live = ws.playbooks_dir / f"{name}.md"
    if live.is_file():
        copy_file(live, stage.playbooks_dir / f"{name}.md")
    history = ws.playbook_history_dir / name
    if history.is_dir():
        copy_tree(history, stage.playbook_history_dir / name)


def _apply(stage: Workspace, inc: Incoming, mode: str) -> PlaybookOutcome:
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
        return PlaybookOutcome(inc.name, "replaced" if live is not None else "added", before,
                               commit.version_after, added=[e.id for e in inc.playbook.entries()
                                                            if live is None or live.find(e.id) is None],
                               hash_before=commit.hash_before, hash_after=commit.hash_after,
                               hand_edit=dropped(commit.hand_edit))
    merged, report = merge_into(live, inc.playbook)
    if not report.changed:
        return PlaybookOutcome(inc.name, "unchanged", before, before, conflicts=report.conflicts,
                               hash_before=content_hash(live_text), hash_after=content_hash(live_text))
    commit = commit_playbook(stage, merged, expected_text=live_text)
    return PlaybookOutcome(inc.name, "merged", before, commit.version_after, added=report.added,
                           updated=report.updated, conflicts=report.conflicts,
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


def _install(ws: Workspace, stage: Workspace, changed: list[PlaybookOutcome],
             installed: Callable[[PlaybookOutcome], None],
             intend: Callable[[PlaybookOutcome, list[int]], None]) -> None:
    """Move the staged files of each changed playbook into the workspace, one os.replace per file,
    one playbook at a time: its new history versions first, then its live file, then `installed`.
    Checked first: the live files and history are still what was staged from (the lock keeps
    dreamcli out; this catches a hand edit meanwhile)."""
    moves: dict[str, list[tuple[Path, Path]]] = {}
    for p in changed:
        if content_hash(read_text(ws.playbooks_dir / f"{p.name}.md")) != p.hash_before:
            raise ConcurrentChange(f"playbook {p.name} changed while the import was prepared; try again")
        moves[p.name] = _history_moves(ws, stage, p)
    for p in changed:
        intend(p, [int(dst.stem[1:]) for _src, dst in moves[p.name]])
        for src, dst in moves[p.name]:
            _put(src, dst)
        crashpoint("bundle.history")
        _put(stage.playbooks_dir / f"{p.name}.md", ws.playbooks_dir / f"{p.name}.md")
        crashpoint("bundle.live")
        installed(p)


def _history_moves(ws: Workspace, stage: Workspace, p: PlaybookOutcome) -> list[tuple[Path, Path]]:
    """The staged history files of `p` to move in (those not in the workspace yet). InputError, before
    anything moves, for a staged file whose name is not a history version's unless the workspace has it
    already, and for a version the import records (the new live one, those it kept) that would not be
    in the workspace's history afterwards."""
    moves = []
    staged = stage.playbook_history_dir / p.name
    for f in sorted(staged.glob("v*.md")) if staged.is_dir() else []:
        dst = ws.playbook_history_dir / p.name / f.name
        if dst.exists():
            if dst.read_bytes() != f.read_bytes():
                raise ConcurrentChange(f"{dst} changed while the import was prepared; try again")
        elif not HISTORY_FILE_RE.fullmatch(f.name):
            raise InputError(f"playbook {p.name}: cannot keep {f.name} in its history (not v<N>.md with N of at "
                             f"most {HISTORY_DIGITS} digits); nothing was installed", file=str(dst))
        else:
            moves.append((f, dst))
    for v in sorted({*p.kept, *([p.version_after] if p.version_after is not None else [])}):
        dst = ws.playbook_history_dir / p.name / f"v{v}.md"
        if not HISTORY_FILE_RE.fullmatch(dst.name) or not (dst.exists() or any(d == dst for _s, d in moves)):
            raise InputError(f"playbook {p.name}: version {v} was not staged in its history; nothing was "
                             "installed", file=str(dst))
    return moves


def _put(src: Path, dst: Path) -> None:
    """Replace `dst` by `src` atomically and durably (data on disk before the rename, the rename on
    disk before returning)."""
    fd = os.open(src, os.O_RDONLY)
    try:
        sync_fd(fd, src)
    finally:
        os.close(fd)
    ensure_dir(dst.parent)
    os.replace(src, dst)
    dfd = os.open(dst.parent, os.O_RDONLY)
    try:
        sync_fd(dfd, dst.parent)
    finally:
        os.close(dfd)
