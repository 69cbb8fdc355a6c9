"""`dreamcli import BUNDLE`: verify, stage, install. Nothing is written to the live workspace until the
whole bundle is checked (manifest, checksums, paths, every playbook parses, every session is the
session its name says) and each changed playbook is complete in a staging directory; then, under the
"playbooks" lock, the files are moved in one by one with os.replace (atomic per file): a playbook's
new history versions first, then its live file. The live playbooks directory is never missing or
half-written; see docs/portability.md for what an interrupted import leaves."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dreamcli.audit import append_audit, current_actor
from dreamcli.errors import InputError, UsageError
from dreamcli.faults import crashpoint
from dreamcli.playbooks import journal
from dreamcli.playbooks.hand_edit_vet import vet_in
from dreamcli.playbooks.history import keep_hand_edit
from dreamcli.playbooks.store import (
    Commit,
    read_live,
)
from dreamcli.portability.arrivals import publisher
from dreamcli.portability.bundle_io import unpack
from dreamcli.portability.bundle_lint import Flagged, vet_incoming
from dreamcli.portability.bundle_playbooks import Incoming, incoming_playbooks
from dreamcli.portability.bundle_sessions import SessionsAdded, add_sessions, bundled_sessions, check_session
from dreamcli.portability.import_install import install
from dreamcli.portability.import_outcome import PlaybookOutcome
from dreamcli.portability.import_staging import apply_incoming, check_local, copy_playbook, untouched
from dreamcli.portability.manifest import MANIFEST, file_sha256, parse_manifest, source_of, verify_files
from dreamcli.redaction import Redactor, for_patterns
from dreamcli.sessions.importers import journal as sessions_journal
from dreamcli.sessions.paths import session_path
from dreamcli.workspace.deeptree import remove_tree
from dreamcli.workspace.fsutil import ensure_dir
from dreamcli.workspace.home import Workspace
from dreamcli.workspace.intents import done as finished
from dreamcli.workspace.lock import workspace_lock
from dreamcli.workspace.userpath import user_path

if TYPE_CHECKING:
    from dreamcli.config import Config

MODES = ("merge", "replace")
LOCK_NAME = "playbooks"


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
            remove_tree(staging)  # of any depth (shutil.rmtree's recursion would leave a deep one behind)
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
        check_local(ws, inc.name)
        copy_playbook(ws, stage_ws, inc.name)
        try:
            vetted = vet_incoming(inc, read_live(stage_ws, inc.name)[0], mode, lint.config, force=lint.force)
            outcome = (untouched(stage_ws, inc.name) if vetted.whole
                       else PlaybookOutcome(inc.name, "refused", None, None) if vetted.emptied
                       else apply_incoming(stage_ws, vetted.incoming, mode))
        except InputError as e:  # about a staged copy of a workspace file: name the workspace's own
            raise InputError(str(e).replace(str(stage_ws.root), str(ws.root))) from None
        outcome.secrets_redacted, outcome.bundle_version = inc.redacted, inc.playbook.version
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
        if p.hand_edit is not None and not p.hand_edit.carried and not p.hand_edit.unkept:
            # a replace drops a hand edit no kept version holds: its text is kept, as a revert keeps it
            p.hand_edit_kept = keep_hand_edit(ws, p.name, p.hand_edit.texts[1])
        journal.begin(ws, "import", who, history_added=history_added, extra=_hand_fields(p))(commit)

    def audit_playbook(p: PlaybookOutcome) -> None:
        redacted: dict[str, Any] = {"secrets_redacted": p.secrets_redacted} if p.secrets_redacted else {}
        if p.kept:  # so that `audit --verify` checks the older versions the bundle brought too
            redacted["history"] = [{"version": v, "hash": h} for v, h in sorted(p.kept.items())]
        redacted.update(_lint_fields(p), **source_of(manifest, p.name, redactor.redact_text))
        append_audit(ws, "import", actor=actor, playbook=p.name, version_before=p.version_before,
                     version_after=p.version_after, hash_before=p.hash_before, hash_after=p.hash_after,
                     result=p.action, added=p.added, updated=p.updated, **_change_fields(p), **redacted, **about,
                     **_hand_fields(p))
        crashpoint("bundle.audited")
        journal.finish(ws, p.name)

    install(ws, stage_ws, changed, audit_playbook, intend)
    for p in result.playbooks:  # refused, conflicting or folded, nothing changed: on record, vouching for no version
        if (p.refused or p.conflicts or p.folded) and p.action in ("unchanged", "refused"):
            append_audit(ws, "import", actor=actor, playbook=p.name, live_version=p.version_before,
                         live_hash=p.hash_before, result=p.action, **_change_fields(p), **_lint_fields(p),
                         **about, **source_of(manifest, p.name, redactor.redact_text))
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


def _change_fields(p: PlaybookOutcome) -> dict[str, Any]:
    """The audit fields of what the import did beyond adding and widening: the bundle's version, the ids of
    conflicting texts (local kept), the entries folded into a local one of the same text (`{id, local_id}`),
    and what a replace removed (and whether the bundle's version was older than the live one)."""
    fields: dict[str, Any] = {"bundle_version": p.bundle_version, "conflicts": [c["id"] for c in p.conflicts]}
    if p.folded:
        fields["folded"] = p.folded
    if p.action == "replaced":
        fields["removed"] = p.removed
        if p.older:
            fields["older"] = True
    return fields


def _hand_fields(p: PlaybookOutcome) -> dict[str, Any]:
    """The audit fields of a hand edit of the live file the import found: kept (merge) or dropped (replace:
    `hand_edit_kept` names where its text was kept)."""
    if p.hand_edit is None:
        return {}
    return {"hand_edited_before": True, "hand_edit": p.hand_edit.record(),
            **({"hand_edit_kept": p.hand_edit_kept} if p.hand_edit_kept else {})}


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
