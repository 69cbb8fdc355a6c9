"""`dreamcli import BUNDLE`: verify, stage, swap. Nothing is written to the live workspace until the
whole bundle is checked (manifest, checksums, paths, every playbook parses) and the new playbooks
directory is complete; then it replaces the old one in one rename, under the "playbooks" lock."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dreamcli.audit import append_audit, content_hash
from dreamcli.errors import InputError, UsageError
from dreamcli.ids import new_ulid
from dreamcli.playbooks import Playbook, parse_playbook
from dreamcli.playbooks.store import check_name, commit_playbook, history_versions, read_live
from dreamcli.portability.bundle_io import unpack
from dreamcli.portability.manifest import MANIFEST, file_sha256, parse_manifest, verify_files
from dreamcli.portability.merge import merge_into
from dreamcli.sessions.paths import session_path
from dreamcli.workspace.fsutil import atomic_write_bytes, ensure_dir
from dreamcli.workspace.home import Workspace
from dreamcli.workspace.lock import workspace_lock

MODES = ("merge", "replace")
ULID_RE = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")
LOCK_NAME = "playbooks"


@dataclass
class PlaybookOutcome:
    name: str
    action: str  # added, merged, replaced, unchanged
    version_before: int | None
    version_after: int | None
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    history_imported: int = 0
    hash_before: str | None = None
    hash_after: str | None = None


@dataclass
class BundleImport:
    bundle: str
    mode: str
    manifest: dict[str, Any]
    playbooks: list[PlaybookOutcome] = field(default_factory=list)
    sessions_added: int = 0
    sessions_present: int = 0

    def to_json(self) -> dict[str, Any]:
        m = self.manifest
        return {
            "bundle": self.bundle, "mode": self.mode,
            "from": {k: m.get(k) for k in ("format_version", "dreamcli_version", "created", "provenance")},
            "playbooks": [dict(p.__dict__) for p in self.playbooks],
            "sessions_added": self.sessions_added, "sessions_present": self.sessions_present,
        }


@dataclass
class _Incoming:
    name: str
    raw: bytes
    playbook: Playbook
    history: dict[int, bytes]


def import_bundle(ws: Workspace, bundle: Path, *, mode: str = "merge", actor: str | None = None,
                  wait: float | None = None) -> BundleImport:
    if mode not in MODES:
        raise UsageError(f"unknown import mode {mode!r} (use --merge or --replace)")
    bundle = Path(bundle).expanduser()
    if not bundle.exists():
        raise InputError("bundle not found", file=str(bundle))
    ws.ensure()
    with workspace_lock(ws, LOCK_NAME, wait=wait):
        staging = ws.state_dir / "import-staging" / new_ulid()
        try:
            return _import(ws, bundle, staging, mode, actor)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            with contextlib.suppress(OSError):
                (ws.state_dir / "import-staging").rmdir()


def _read(bundle: Path, staging: Path) -> tuple[dict[str, Any], dict[str, Path], list[_Incoming]]:
    where = str(bundle)
    files = unpack(bundle, staging / "bundle")
    if MANIFEST not in files:
        raise InputError(f"incomplete bundle: {MANIFEST} is missing (not made by `dreamcli export`?)", file=where)
    manifest = parse_manifest(files[MANIFEST].read_bytes(), bundle=where)
    verify_files(manifest, files, bundle=where)
    incoming = []
    for entry in manifest["playbooks"]:
        name = check_name(entry["name"])
        raw = files[entry["path"]].read_bytes()
        member = f"{where}/{entry['path']}"
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError("not UTF-8 text", file=member) from None
        pb = parse_playbook(text, file=member)
        if pb.name != name:
            raise InputError(f"front matter names playbook {pb.name!r}, the manifest {name!r}", file=member,
                             field="name")
        history = {}
        prefix = f"playbooks/.history/{name}/v"
        for rel, path in files.items():
            if rel.startswith(prefix) and rel.endswith(".md") and rel[len(prefix):-3].isdigit():
                history[int(rel[len(prefix):-3])] = path.read_bytes()
        incoming.append(_Incoming(name, raw, pb, history))
    if len({i.name for i in incoming}) != len(incoming):
        raise InputError("the manifest lists a playbook twice", file=f"{where}/{MANIFEST}", field="playbooks")
    return manifest, files, incoming


def _import(ws: Workspace, bundle: Path, staging: Path, mode: str, actor: str | None) -> BundleImport:
    manifest, files, incoming = _read(bundle, staging)
    result = BundleImport(bundle=str(bundle), mode=mode, manifest=manifest)
    # Stage a complete copy of the playbooks directory and apply every change to it.
    stage_ws = Workspace(root=staging / "ws", source="option")
    if ws.playbooks_dir.is_dir():
        shutil.copytree(ws.playbooks_dir, stage_ws.playbooks_dir, symlinks=True)
    ensure_dir(stage_ws.playbooks_dir)
    for inc in incoming:
        result.playbooks.append(_apply(stage_ws, inc, mode))
    for out in result.playbooks:  # what the swap will make live must parse
        if read_live(stage_ws, out.name)[0] is None:
            raise InputError(f"playbook {out.name} did not stage", file=str(bundle))
    sessions = _session_files(files, bundle)
    changed = [p for p in result.playbooks if p.action != "unchanged"]
    if changed:
        _swap(ws, stage_ws)
    for rel in sessions:
        sid = Path(rel).stem
        final = session_path(ws, sid)
        if final.exists():
            result.sessions_present += 1
            continue
        ensure_dir(final.parent)
        os.replace(files[rel], final)
        result.sessions_added += 1
    bundle_hash = "sha256:" + file_sha256(bundle) if bundle.is_file() else None
    for p in changed:
        append_audit(ws, "import", actor=actor, playbook=p.name, version_before=p.version_before,
                     version_after=p.version_after, hash_before=p.hash_before, hash_after=p.hash_after,
                     mode=mode, result=p.action, bundle=str(bundle), bundle_hash=bundle_hash,
                     bundle_created=manifest.get("created"), added=p.added, updated=p.updated,
                     conflicts=[c["id"] for c in p.conflicts])
    return result


def _session_files(files: dict[str, Path], bundle: Path) -> list[str]:
    """Bundle members under sessions/: each must be named after a session id (its place in the
    workspace comes from that id, never from the path in the bundle)."""
    out = []
    for rel in sorted(files):
        if not rel.startswith("sessions/"):
            continue
        stem = Path(rel).stem
        if not rel.endswith(".jsonl") or not ULID_RE.fullmatch(stem):
            raise InputError(f"{rel} is not a session log named after its session id", file=str(bundle))
        out.append(rel)
    return out


def _apply(stage: Workspace, inc: _Incoming, mode: str) -> PlaybookOutcome:
    live, live_text = read_live(stage, inc.name)
    known = history_versions(stage, inc.name)
    if live is None and not known:
        # New here: the bundle's bytes as they are, with the history it carries.
        for version, data in sorted(inc.history.items()):
            atomic_write_bytes(stage.playbook_history_dir / inc.name / f"v{version}.md", data, fsync=False)
        atomic_write_bytes(stage.playbook_history_dir / inc.name / f"v{inc.playbook.version}.md", inc.raw,
                           fsync=False)
        atomic_write_bytes(stage.playbooks_dir / f"{inc.name}.md", inc.raw, fsync=False)
        return PlaybookOutcome(inc.name, "added", None, inc.playbook.version,
                               added=[e.id for e in inc.playbook.entries()],
                               history_imported=len(set(inc.history) | {inc.playbook.version}),
                               hash_after=content_hash(inc.raw))
    before = live.version if live is not None else None
    if live_text is not None and live_text.encode("utf-8") == inc.raw:
        return PlaybookOutcome(inc.name, "unchanged", before, before, hash_before=content_hash(live_text),
                               hash_after=content_hash(live_text))
    if mode == "replace" or live is None:
        pb = inc.playbook.copy()
        pb.version = before if before is not None else max(known)  # the version of what is live now
        commit = commit_playbook(stage, pb, expected_text=live_text)
        return PlaybookOutcome(inc.name, "replaced" if live is not None else "added", before,
                               commit.version_after, added=[e.id for e in inc.playbook.entries()
                                                            if live is None or live.find(e.id) is None],
                               hash_before=commit.hash_before, hash_after=commit.hash_after)
    merged, report = merge_into(live, inc.playbook)
    if not report.changed:
        return PlaybookOutcome(inc.name, "unchanged", before, before, conflicts=report.conflicts,
                               hash_before=content_hash(live_text), hash_after=content_hash(live_text))
    commit = commit_playbook(stage, merged, expected_text=live_text)
    return PlaybookOutcome(inc.name, "merged", before, commit.version_after, added=report.added,
                           updated=report.updated, conflicts=report.conflicts,
                           hash_before=commit.hash_before, hash_after=commit.hash_after)


def _swap(ws: Workspace, stage: Workspace) -> None:
    """Put the staged playbooks directory in place of the live one (two renames, old one kept until
    the new one is in)."""
    live = ws.playbooks_dir
    old = stage.root / "playbooks.old"
    if live.exists():
        os.replace(live, old)
    try:
        os.replace(stage.playbooks_dir, live)
    except BaseException:
        if old.exists() and not live.exists():
            os.replace(old, live)
        raise
