"""Commit intents: a crash between a playbook commit and its audit record is recovered, not lost.

`approve` and `revert` hold the workspace's "playbooks" lock and then:
1. `recover(ws, name, actor)` finishes whatever an earlier, crashed command left behind (below);
2. `commit_playbook(..., before_write=begin(...))` writes `.history/<name>/intent.json` (atomic,
   fsync'd: the planned version, both content hashes, the action, actor, dream and entry ids) after
   every check and before the first byte of the new version is written;
3. the dream's decisions and the audit record are written;
4. `finish(ws, name)` deletes the intent.

An intent file that is still there means the command stopped between 2 and 4. `recover` then looks
at the live playbook: if it is the version the intent planned (or was, and later changed) and no
audit record has that version, it appends one with action `reconciled` (actor: who made the change,
`reconciled_by`: who ran the recovering command, plus the interrupted action, dream and entry ids).
If the commit never happened, it is rolled back: a history file of the planned version that the
process wrote before dying (`.history/<name>/v<N>.md` with the planned content, no live file yet) is
removed, so the rerun commits the same version number again, and no version exists without its
audit record. Temp files of dead processes in the playbooks folder and its history are swept.
A dream's decisions are not replayed: its entries stay pending, and approving them again records them
as "already in the playbook".
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dreamcli.audit import append_audit, content_hash, iter_audit
from dreamcli.faults import crashpoint
from dreamcli.playbooks.hand_edit import dropped
from dreamcli.playbooks.hand_edit_vet import record_fields
from dreamcli.playbooks.store import (
    NAME_RE,
    Commit,
    history_dir,
    history_path,
    load_version_text,
    playbook_path,
    read_text,
)
from dreamcli.timeutil import now_rfc3339
from dreamcli.workspace.fsutil import atomic_write_text
from dreamcli.workspace.home import Workspace
from dreamcli.workspace.sweep import sweep_temp

INTENT_FILE = "intent.json"
# what a command's own record says beyond versions and hashes, and a `reconciled` record written for it copies
RECORD_FIELDS = ("proposal_hash", "live_damaged", "damaged_kept", "hand_edited_before", "hand_edit",
                 "hand_edit_kept")


def intent_path(ws: Workspace, name: str) -> Path:
    return history_dir(ws, name) / INTENT_FILE


def begin(ws: Workspace, action: str, actor: str, *, dream_id: str | None = None,
          entry_ids: list[str] | None = None, history_added: list[int] | None = None,
          extra: dict[str, Any] | None = None) -> Callable[[Commit], None]:
    """A `before_write` hook for `commit_playbook` that records the intent of this commit.
    `history_added`: other history versions the commit writes (a bundle import), rolled back with it.
    `extra`: fields of the command's own audit record that a `reconciled` record must carry too (RECORD_FIELDS:
    the proposal's hash, a damaged live file replaced); a hand edit the commit takes in is added from the commit."""

    def write(commit: Commit) -> None:
        intent = {"v": 1, "ts": now_rfc3339(), "action": action, "actor": actor, "playbook": commit.name,
                  "dream_id": dream_id, "entry_ids": list(entry_ids or []),
                  "version_before": commit.version_before, "version_after": commit.version_after,
                  "hash_before": commit.hash_before, "hash_after": commit.hash_after,
                  "history_added": list(history_added or []),
                  **{k: v for k, v in (extra or {}).items() if k in RECORD_FIELDS}, **_hand_fields(action, commit)}
        atomic_write_text(intent_path(ws, commit.name), json.dumps(intent, indent=2) + "\n")
        crashpoint(f"{action}.intent")

    return write


def _hand_fields(action: str, commit: Commit) -> dict[str, Any]:
    """What the command's record will say of a hand edit the commit found: a revert replaces that text (and
    says nothing of a live file that did not parse: `live_damaged` does), the others take it in."""
    if action != "revert":
        return record_fields(commit)
    hand = dropped(commit.hand_edit)
    return {} if hand is None else {"hand_edited_before": True, "hand_edit": hand.record()}


def finish(ws: Workspace, name: str) -> None:
    """The commit is audited: forget its intent."""
    intent_path(ws, name).unlink(missing_ok=True)


def recover(ws: Workspace, name: str, actor: str) -> dict[str, Any] | None:
    """Audit a commit whose command stopped before auditing it; returns the record appended, if any."""
    sweep_temp(ws.playbooks_dir)
    sweep_temp(history_dir(ws, name))
    path = intent_path(ws, name)
    try:
        intent = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, RecursionError):
        intent = None  # written atomically, so only a damaged disk gets here: nothing to go by
    record = None
    committed = isinstance(intent, dict) and _committed(ws, name, intent)  # reads and hashes the files: once
    if isinstance(intent, dict) and committed and not _audited(ws, name, intent):
        fields = {k: intent.get(k) for k in ("dream_id", "entry_ids", "version_before", "version_after",
                                             "hash_before", "hash_after")}
        fields.update({k: intent[k] for k in RECORD_FIELDS if k in intent})
        record = append_audit(ws, "reconciled", actor=str(intent.get("actor") or "unknown"), playbook=name,
                              interrupted=intent.get("action"), intent_ts=intent.get("ts"),
                              reconciled_by=actor, **fields)
    elif isinstance(intent, dict) and not committed:
        _roll_back(ws, name, intent)
    path.unlink(missing_ok=True)
    return record


def recover_all(ws: Workspace, actor: str) -> list[dict[str, Any]]:
    """`recover` every playbook that has an intent (hold the "playbooks" lock)."""
    records = []
    root = ws.playbook_history_dir
    sweep_temp(ws.playbooks_dir, recursive=True)  # also an intent's own temp file, when it died writing it
    for path in sorted(root.glob(f"*/{INTENT_FILE}")) if root.is_dir() else []:
        if NAME_RE.match(path.parent.name) and (rec := recover(ws, path.parent.name, actor)) is not None:
            records.append(rec)
    return records


def _roll_back(ws: Workspace, name: str, intent: dict[str, Any]) -> None:
    """The live file never got the planned version: drop its history file, if it was written. A kept
    version that the audit trail says a command made is never dropped (an intent.json put there by
    hand must not delete history)."""
    audited = _audited_versions(ws, name)
    version = intent.get("version_after")
    if isinstance(version, int) and version not in audited:
        path = history_path(ws, name, version)
        if content_hash(read_text(path)) == intent.get("hash_after"):
            path.unlink(missing_ok=True)
    for old in intent.get("history_added") or []:
        if isinstance(old, int) and old != intent.get("version_before") and old not in audited:
            history_path(ws, name, old).unlink(missing_ok=True)


def _audited_versions(ws: Workspace, name: str) -> _Versions:
    """Versions of `name` an audit record made (an import also brought the versions below its own)."""
    made, imported = set(), 0
    for rec in iter_audit(ws):
        after = rec.get("version_after")
        if rec.get("playbook") != name or not isinstance(after, int) or after == rec.get("version_before"):
            continue
        made.add(after)
        if rec.get("action") == "import":
            imported = max(imported, after)
    return _Versions(made, imported)


class _Versions:
    def __init__(self, made: set[int], imported: int) -> None:
        self.made, self.imported = made, imported

    def __contains__(self, version: object) -> bool:
        return isinstance(version, int) and (version in self.made or 0 < version <= self.imported)


def _committed(ws: Workspace, name: str, intent: dict[str, Any]) -> bool:
    """A commit writes its history version before the live file, so it happened only if that version
    is kept with the planned hash: an intent.json planted next to a hand-edited live file (its
    `hash_after` set to the edit) names no such version and is not taken as a commit."""
    planned = intent.get("hash_after")
    version = intent.get("version_after")
    if not isinstance(planned, str) or not isinstance(version, int) or isinstance(version, bool) \
            or content_hash(load_version_text(ws, name, version)) != planned:
        return False
    live_hash = content_hash(read_text(playbook_path(ws, name)))
    # the live file is the planned version, or changed again since (a hand edit) but not back to before
    return live_hash == planned or live_hash != intent.get("hash_before")


def _audited(ws: Workspace, name: str, intent: dict[str, Any]) -> bool:
    return any(rec.get("playbook") == name and rec.get("version_after") == intent.get("version_after")
               and rec.get("version_before") != rec.get("version_after")
               and rec.get("hash_after") == intent.get("hash_after") for rec in iter_audit(ws))
