"""The audit trail: `audit.jsonl`, append-only, one line per approval, rejection, edit, revert, import
or export: who, when, what, and content hashes before and after."""

from __future__ import annotations

import getpass
import hashlib
import json
import os
from collections.abc import Iterator
from typing import Any

from dreamcli.timeutil import now_rfc3339
from dreamcli.workspace.fsutil import append_line
from dreamcli.workspace.home import Workspace

AUDIT_SCHEMA_VERSION = 1


def current_actor(explicit: str | None = None) -> str:
    """`--actor` if given, else $DREAMCLI_ACTOR, else the login name."""
    if explicit:
        return explicit
    env = os.environ.get("DREAMCLI_ACTOR")
    if env:
        return env
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def content_hash(text: str | bytes | None) -> str | None:
    if text is None:
        return None
    data = text.encode("utf-8") if isinstance(text, str) else text
    return "sha256:" + hashlib.sha256(data).hexdigest()


def append_audit(ws: Workspace, action: str, *, actor: str | None = None, **fields: Any) -> dict[str, Any]:
    """Append one audit record. `action` e.g. approve, reject, edit, revert, import, export."""
    from dreamcli.config import workspace_redactor

    record = {"v": AUDIT_SCHEMA_VERSION, "ts": now_rfc3339(), "action": action, "actor": current_actor(actor)}
    record.update(workspace_redactor(ws.config_path).redact_obj(fields))
    append_line(ws.audit_path, json.dumps(record, ensure_ascii=False, separators=(",", ":")), fsync=True)
    return record


def iter_audit(ws: Workspace) -> Iterator[dict[str, Any]]:
    if not ws.audit_path.exists():
        return
    with open(ws.audit_path, "rb") as f:
        for raw in f:
            try:
                rec = json.loads(raw)
            except ValueError:
                continue
            if isinstance(rec, dict):
                yield rec
