"""The audit trail: `audit.jsonl`, append-only, one line per approval, rejection, edit, revert, import
or export: who, when, what, and content hashes before and after."""

from __future__ import annotations

import getpass
import hashlib
import json
import os
from collections.abc import Iterator
from typing import Any

from dreamcli.errors import UsageError
from dreamcli.textnorm import LONE_SURROGATE, escaped, has_line_breaking
from dreamcli.timeutil import now_rfc3339
from dreamcli.workspace.fsutil import append_line
from dreamcli.workspace.home import Workspace

AUDIT_SCHEMA_VERSION = 1


def _shown(value: str) -> str:
    """`value` as printable ASCII-safe text (`dreamcli.textnorm.escaped`): what a message or a record can hold."""
    return escaped(value)


def check_text(value: str, what: str) -> str:
    """`value`, or UsageError (exit 2) when it holds bytes that are not UTF-8 (lone surrogates, as Python
    decodes such bytes in argv and the environment): nothing could write it."""
    if LONE_SURROGATE.search(value):
        raise UsageError(f"{what}: \"{_shown(value)}\" holds bytes that are not UTF-8; use UTF-8 text (nothing was "
                         "written)")
    return value


def check_line(value: str, source: str, what: str = "a --reason") -> str:
    """`value` as the audit trail, decisions, intents and git commits can hold it on one line, or
    UsageError (exit 2) naming where it came from (`source`): no bytes that are not UTF-8, no control
    characters (ESC, BEL, DEL, U+009B: a terminal would act on them) or line breaks."""
    check_text(value, source)
    if has_line_breaking(value):
        raise UsageError(f"{source}: \"{_shown(value)}\" holds a control character or line break; {what} "
                         "is one line of text (nothing was written)")
    return value


def check_actor(name: str, source: str) -> str:
    """A reviewer name on one line (`check_line`), or UsageError naming where it came from (`source`)."""
    return check_line(name, source, "a reviewer name")


def current_actor(explicit: str | None = None) -> str:
    """`--actor` if given, else $DREAMCLI_ACTOR, else the login name; checked (`check_actor`) before any
    command writes it."""
    if explicit:
        return check_actor(explicit, "--reviewer")
    env = os.environ.get("DREAMCLI_ACTOR")
    if env:
        return check_actor(env, "$DREAMCLI_ACTOR")
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def _recordable_actor(ws: Workspace, actor: str | None) -> str:
    """The actor of a record. A name that cannot be recorded as it is (one an older version wrote into an
    intent, replayed by recovery) is recorded escaped (`_shown`) and logged in state/logs/audit.log, so
    recovery finishes instead of failing every command."""
    if not actor:
        return current_actor()
    try:
        return check_actor(actor, "actor")
    except UsageError:
        safe = _shown(actor)
        append_line(ws.logs_dir / "audit.log", f"{now_rfc3339()} actor \"{safe}\" cannot be recorded as it is (bytes "
                    "that are not UTF-8 or a control character); recorded escaped")
        return safe


def content_hash(text: str | bytes | None) -> str | None:
    if text is None:
        return None
    data = text.encode("utf-8") if isinstance(text, str) else text
    return "sha256:" + hashlib.sha256(data).hexdigest()


def append_audit(ws: Workspace, action: str, *, actor: str | None = None, **fields: Any) -> dict[str, Any]:
    """Append one audit record. `action` e.g. approve, reject, edit, revert, import, export. The actor and
    every field are redacted with the workspace's redactor: a reviewer name is text someone typed, as a
    reason is."""
    from dreamcli.config import workspace_redactor

    redactor = workspace_redactor(ws.config_path)
    actor = redactor.redact_text(_recordable_actor(ws, actor))
    record = {"v": AUDIT_SCHEMA_VERSION, "ts": now_rfc3339(), "action": action, "actor": actor}
    record.update(redactor.redact_obj(fields))
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
    writes (a list for a playbook's name, numbers for `entry_ids`), is skipped; `playbooks audit
    --verify` reports such lines."""
    if not ws.audit_path.exists():
        return
    with open(ws.audit_path, "rb") as f:
        for raw in f:
            try:
                rec = json.loads(raw)
            except (ValueError, RecursionError):
                continue
            if isinstance(rec, dict) and all(rec.get(k) is None or isinstance(rec[k], str) for k in _TEXT) and all(
                    rec.get(k) is None or (isinstance(rec[k], int) and not isinstance(rec[k], bool)) for k in _NUMBERS
            ) and _text_list(rec.get("entry_ids")):
                yield rec


def _text_list(value: Any) -> bool:
    return value is None or (isinstance(value, list) and all(isinstance(v, str) for v in value))
