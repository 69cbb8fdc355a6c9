"""The intent journal of `sessions import` (docs/reliability.md): a batch of staged sessions is
moved into the workspace only after an intent naming them is on disk, and the intent is deleted only
after the batch's audit record is written. A process killed in between leaves the intent; the next
import (or any next command, `dreamcli.recovery`) then audits the sessions of that batch that made it
in, once, marked `recovered`, and removes the staging folders of dead imports. Sessions that were
still staged are not moved: a re-run imports them (their ids are deterministic), so nothing is
imported twice. A batch that replaces stored sessions (grown transcripts re-imported) names them in its
intent with the transcript size of each replacement; recovery counts as replaced those whose stored
session says it was converted from that size."""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dreamcli.faults import crashpoint
from dreamcli.ids import new_ulid
from dreamcli.sessions.importers.grown import imported_bytes
from dreamcli.sessions.paths import session_path
from dreamcli.workspace.deeptree import remove_tree
from dreamcli.workspace.home import Workspace
from dreamcli.workspace.intents import done, pending_intents, write_intent
from dreamcli.workspace.sweep import OLD_S, pid_alive, sweep_temp

KIND = "sessions-import"


def staging_root(ws: Workspace) -> Path:
    return ws.state_dir / "import-staging"


def ids_hash(ids: list[str]) -> str:
    return "sha256:" + hashlib.sha256("\n".join(ids).encode()).hexdigest()


def staging_dir(ws: Workspace) -> Path:
    """A fresh staging folder; its name ends with this process's pid (swept once that is dead)."""
    return staging_root(ws) / f"{new_ulid()}-{os.getpid()}"


def begin(ws: Workspace, planned: list[str], about: dict[str, Any], *, action: str = KIND,
          replacing: dict[str, int] | None = None) -> Path:
    """The intent of a batch: the ids it moves in (`planned`) and, for those it replaces, the size of the
    transcript each replacement was converted from (`replacing`)."""
    extra = {"replacing": replacing} if replacing else {}
    path = write_intent(ws, KIND, {"action": action, "session_ids": planned, "about": about, **extra})
    crashpoint("sessions-import.intent")
    return path


def audit_batch(ws: Workspace, ids: list[str], about: dict[str, Any], intent: Path | None, *,
                action: str = KIND, updated: list[str] | None = None, **fields: Any) -> dict[str, Any]:
    """Record the arrivals and the audit record of the sessions a batch moved in, and of those it
    replaced (`updated`: arrivals too, so that the next dream reads them again)."""
    from dreamcli.audit import append_audit
    from dreamcli.sessions.arrivals import record_arrivals

    crashpoint("sessions-import.moved")
    updated = updated or []
    record_arrivals(ws, [*ids, *updated], source=str(about.get("source") or "import"))  # ids older than a watermark
    tag = {"intent": intent.stem} if intent is not None else {}
    if updated:
        fields = {"updated": len(updated), "updated_session_ids": updated[:200], **fields}
    if action == KIND:
        fields = {"sessions": len(ids), "first_session": ids[0] if ids else None, **fields}
    else:  # a bundle import
        fields = {"sessions_added": len(ids), "session_ids": ids[:200], **fields}
    record = append_audit(ws, action, **about, session_ids_hash=ids_hash(ids), **tag, **fields)
    crashpoint("sessions-import.audited")
    return record


def recover(ws: Workspace, *, keep: Path | None = None,
            on_commit: Callable[[list[str], list[str]], None] | None = None) -> int:
    """Finish the batches of dead imports (call it holding the "sessions-import" lock). Returns the
    number of sessions audited. `on_commit` is told of the sessions of each batch that made it in, and of
    those it replaced (audited before or now: uploading and indexing them again is harmless). Staging
    folders of dead processes are removed."""
    from dreamcli.audit import iter_audit

    audited = 0
    intents = pending_intents(ws, KIND)
    if intents:
        known = {rec.get("intent") for rec in iter_audit(ws) if rec.get("intent")}
        for path, intent in intents:
            planned = [s for s in intent.get("session_ids") or [] if isinstance(s, str)]
            for folder in {session_path(ws, s).parent for s in planned}:  # a bundle's half-written session
                sweep_temp(folder)
            present = [s for s in planned if session_path(ws, s).exists()]
            updated = _replaced(ws, intent.get("replacing"))
            if (present or updated) and path.stem not in known:
                raw = intent.get("about")
                about: dict[str, Any] = dict(raw) if isinstance(raw, dict) else {}
                action = intent.get("action") if intent.get("action") in (KIND, "import") else KIND
                audit_batch(ws, present, about, path, action=str(action), updated=updated, interrupted=True,
                            recovered=True)
                audited += len(present) + len(updated)
            if (present or updated) and on_commit is not None:
                on_commit(present, updated)
            done(path)
    sweep_staging(ws, keep=keep)
    return audited


def _replaced(ws: Workspace, replacing: Any) -> list[str]:
    """The sessions of an intent's `replacing` that were replaced: converted from the size it names."""
    if not isinstance(replacing, dict):
        return []
    return [s for s, size in replacing.items()
            if isinstance(s, str) and isinstance(size, int) and imported_bytes(session_path(ws, s)) == size]


def sweep_staging(ws: Workspace, *, keep: Path | None = None) -> None:
    """Remove the staging folders of dead imports (sessions and bundles share `import-staging/`)."""
    root = staging_root(ws)
    if not root.is_dir():
        return
    for d in root.iterdir():
        pid = d.name.rsplit("-", 1)[-1]
        alive = pid.isdigit() and int(pid) != os.getpid() and pid_alive(int(pid))
        if d != keep and not alive and (pid.isdigit() or _old(d)):
            remove_tree(d)  # not shutil.rmtree: a tree deeper than its recursion, left by an older dreamcli
    with contextlib.suppress(OSError):
        root.rmdir()


def _old(path: Path) -> bool:
    try:
        return time.time() - path.stat().st_mtime > OLD_S
    except OSError:
        return False
