"""Git-backed playbook history, opt-in (config `playbooks: {git: true}` or `dreamcli init --git`).

`playbooks/` becomes a git repository (`.history/` stays dreamcli's own and is ignored). Every audit
record that changes or decides about a playbook -- approve, reject, edit, revert, import,
reconciled -- is one commit whose message names the action, dream, entry ids (an import's bundle,
source and the entries it added, removed, folded and refused) and reviewer and points at the audit
line, so `git log -p` reads as the review history and the repository can be pushed. `playbooks
history` and `revert` work the same with or without it. Uses the `git` binary; a git failure never
undoes a change: it is logged in state/logs/git.log and the next commit takes the change along.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import unicodedata
from typing import Any

from dreamcli.textnorm import LINE_BREAKING, has_line_breaking
from dreamcli.timeutil import now_rfc3339
from dreamcli.workspace.fsutil import DIR_MODE, append_line, atomic_write_text, ensure_dir
from dreamcli.workspace.home import Workspace

COMMIT_ACTIONS = ("approve", "reject", "edit", "revert", "import", "reconciled")
IGNORE = ".history/\n.*.tmp\n"
TIMEOUT_S = 60


class GitError(Exception):
    pass


def repo_exists(ws: Workspace) -> bool:
    return (ws.playbooks_dir / ".git").is_dir()


def enabled(ws: Workspace, configured: bool) -> bool:
    return configured or repo_exists(ws)


def _git(ws: Workspace, *args: str, env: dict[str, str] | None = None) -> str:
    exe = shutil.which("git")
    if exe is None:
        raise GitError("git is not installed")
    full_env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", **(env or {})}
    try:
        proc = subprocess.run([exe, "-C", str(ws.playbooks_dir), *args], capture_output=True, text=True,
                              timeout=TIMEOUT_S, check=False, env=full_env,
                              umask=0o077)  # what git writes is private too (docs/workspace.md)
    except (OSError, subprocess.SubprocessError) as e:
        raise GitError(str(e)) from None
    if proc.returncode != 0:
        raise GitError(f"git {args[0]}: " + (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1])
    return proc.stdout


def _identity_env(name: str, email: str | None) -> dict[str, str]:
    from dreamcli.identity import git_identity

    mail = email or re.sub(r"[^A-Za-z0-9._-]+", ".", name).strip(".") + "@localhost"
    env = {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": mail}
    git_name, git_email = git_identity()
    if not git_name or not git_email:  # no git identity here (CI): the reviewer commits too
        env |= {"GIT_COMMITTER_NAME": git_name or name, "GIT_COMMITTER_EMAIL": git_email or mail}
    return env


def init_repo(ws: Workspace, actor: str = "dreamcli") -> bool:
    """Make playbooks/ a git repository with a first commit of what is there. False if it already was."""
    ensure_dir(ws.playbooks_dir)
    if repo_exists(ws):
        return False
    _git(ws, "init", "-q", "--shared=0600")
    os.chmod(ws.playbooks_dir / ".git", DIR_MODE)
    ignore = ws.playbooks_dir / ".gitignore"
    if not ignore.exists():
        atomic_write_text(ignore, IGNORE)
    _git(ws, "add", "-A", ".")
    _git(ws, "commit", "-q", "--allow-empty", "-m", "dreamcli: track playbooks", env=_identity_env(actor, None))
    return True




def one_line(value: Any) -> str:
    """`value` as text on one line: line breaks and control characters become spaces (runs of spaces then
    one), so a value from a reviewer or a proposal cannot start a line of the message and forge a trailer."""
    text = str(value)
    if not has_line_breaking(text):
        return text
    return " ".join("".join(" " if unicodedata.category(c) in LINE_BREAKING else c for c in text).split())


def message(record: dict[str, Any], line: int, digest: str) -> str:
    """The commit message: every value kept on one line (`one_line`); `Audit-Line`, `Audit-Hash` last."""

    def get(key: str) -> str | None:
        value = record.get(key)
        return None if value is None or value == "" else one_line(value)

    ids = [one_line(i) for i in record.get("entry_ids") or []]
    imported = _imported(record) if record.get("action") == "import" else []
    subject = f"{get('action')}: {get('playbook') or '-'}"
    if record.get("version_after") is not None and record.get("version_after") != record.get("version_before"):
        before = get("version_before")
        subject += f" {'new' if before is None else f'v{before}'} → v{get('version_after')}"
    if ids:
        subject += f" ({len(ids)} entr{'y' if len(ids) == 1 else 'ies'})"
    os_user, git_user = get("os_user"), get("git_user")
    body = [f"Dream: {get('dream_id')}" if get("dream_id") else None,
            f"Entries: {', '.join(ids)}" if ids else None,
            *imported,
            f"Reason: {get('reason')}" if get("reason") else None,
            f"Reviewer: {get('actor')}" + (f" (os user {os_user}" + (f", git {git_user}" if git_user else "")
                                           + ")" if os_user else ""),
            f"Audit-Line: {line}", f"Audit-Hash: {one_line(digest)}"]
    return subject + "\n\n" + "\n".join(b for b in body if b) + "\n"


def _imported(record: dict[str, Any]) -> list[str]:
    """The lines an import's message adds, from its audit record: the bundle, who exported it (and who made
    the playbook's version there), and the entry ids it added, removed (a replace), folded into a local entry
    of the same text, and whose text it refused as a conflict; each value on one line (`one_line`)."""

    def ids(key: str) -> str:
        value = record.get(key)
        return ", ".join(one_line(i) for i in value) if isinstance(value, list) else ""

    def mapping(value: Any) -> dict[str, Any]:
        return value if isinstance(value, dict) else {}

    source = mapping(record.get("source"))
    made, last = mapping(source.get("provenance")), mapping(source.get("last_change"))
    exported = " ".join(x for x in (
        f"exported by {one_line(made['actor'])}" if made.get("actor") else "",
        f"on {one_line(made['host'])}" if made.get("host") else "",
        f"({one_line(last.get('action') or 'changed')} by {one_line(last['actor'])})" if last.get("actor") else ""
    ) if x)
    folded = record.get("folded") if isinstance(record.get("folded"), list) else []
    lines = [f"Bundle: {one_line(record['bundle'])}" if record.get("bundle") else "",
             f"Source: {exported}" if exported else "",
             f"Added: {ids('added')}" if ids("added") else "",
             f"Removed: {ids('removed')}" if ids("removed") else "",
             "Folded: " + ", ".join(f"{one_line(f.get('id'))} into {one_line(f.get('local_id'))}"
                                    for f in folded if isinstance(f, dict)) if folded else "",
             f"Conflicts: {ids('conflicts')}" if ids("conflicts") else ""]
    return [line for line in lines if line]


def commit_record(ws: Workspace, record: dict[str, Any], line: int, digest: str, *,
                  email: str | None = None) -> str | None:
    """One commit for this audit record; the commit id, or None (not a playbook action, or git failed:
    logged)."""
    if record.get("action") not in COMMIT_ACTIONS or not record.get("playbook"):
        return None
    actor = one_line(record.get("actor") or "unknown")
    try:
        init_repo(ws, actor)
        _git(ws, "add", "-A", ".")
        _git(ws, "commit", "-q", "--allow-empty", "--no-verify", "-m", message(record, line, digest),
             env=_identity_env(actor, email))
        return _git(ws, "rev-parse", "HEAD").strip()
    except GitError as e:
        log = ws.logs_dir / "git.log"
        append_line(log, f"{now_rfc3339()} audit line {line} ({record.get('action')}): {e}")
        return None


