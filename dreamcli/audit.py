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
    return _chain_and_commit(ws, record)


def _chain_and_commit(ws: Workspace, record: dict[str, Any]) -> dict[str, Any]:
    """Who else was at the keyboard, the hash-chain link and signature (dreamcli.audit_chain), and the
    git commit when playbooks are git-backed (dreamcli.gitstore)."""
    from dreamcli import gitstore, sshsig
    from dreamcli.audit_chain import append_chained
    from dreamcli.config import load_config
    from dreamcli.identity import git_identity, os_user

    git_name, git_email = git_identity()
    record.setdefault("os_user", os_user())
    if git_name:
        record.setdefault("git_user", git_name)
    cfg = load_config(ws.config_path)
    key = cfg.audit.signing_key
    sign = (lambda payload: sshsig.sign(payload, key)) if key else None
    record, line, digest = append_chained(ws, record, sign=sign)
    if gitstore.enabled(ws, cfg.playbooks.git):
        gitstore.commit_record(ws, record, line, digest,
                               email=git_email if record.get("actor") == record.get("os_user") else None)
    return record


_TEXT = ("ts", "action", "actor", "playbook", "dream_id", "intent", "hash_before", "hash_after")
_NUMBERS = ("version_before", "version_after")


def iter_audit(ws: Workspace) -> Iterator[dict[str, Any]]:
    """The audit records readers use: a line that is not JSON, or whose fields have types no command
    writes (a list for a playbook's name), is skipped; `playbooks audit --verify` reports such lines."""
    if not ws.audit_path.exists():
        return
    with open(ws.audit_path, "rb") as f:
        for raw in f:
            try:
                rec = json.loads(raw)
            except (ValueError, RecursionError):
                continue
            if isinstance(rec, dict) and all(rec.get(k) is None or isinstance(rec[k], str) for k in _TEXT) and all(
                    rec.get(k) is None or (isinstance(rec[k], int) and not isinstance(rec[k], bool)) for k in _NUMBERS):
                yield rec
