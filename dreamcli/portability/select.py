"""What an export takes: the chosen live playbooks (exact bytes), their history, who made their
current version, and the sessions their entries came from (this machine's files, else the bucket of a
workspace with a `sessions.url`; redacted again on the way out)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dreamcli.audit import content_hash, iter_audit
from dreamcli.errors import UsageError
from dreamcli.numbers import finite_json
from dreamcli.playbooks import Playbook, list_playbook_names, playbook_path
from dreamcli.playbooks.store import check_name, history_path, history_versions, parse_live, read_text
from dreamcli.portability.bundle_sessions import is_session_id
from dreamcli.portability.parquet import stored_events
from dreamcli.redaction import Redactor
from dreamcli.sessions.paths import find_session, session_path
from dreamcli.sessions.reader import iter_events
from dreamcli.timeutil import parse_ts
from dreamcli.workspace.home import Workspace

if TYPE_CHECKING:
    from dreamcli.store.base import SessionStore


@dataclass
class Selected:
    name: str
    path: Path
    raw: bytes
    playbook: Playbook
    history: list[int] = field(default_factory=list)
    last_change: dict[str, Any] | None = None

    @property
    def text(self) -> str:
        return self.raw.decode("utf-8")

    def summary(self) -> dict[str, Any]:
        pb = self.playbook
        return {"name": self.name, "version": pb.version, "updated": pb.updated, "entries": len(pb.entries()),
                "sha256": (content_hash(self.raw) or "").removeprefix("sha256:"),
                "last_change": self.last_change}


def select_playbooks(ws: Workspace, names: list[str] | None) -> list[Selected]:
    """The named live playbooks (all of them by default), parsed; a malformed one is refused with how to
    recover it (`parse_live`)."""
    available = list_playbook_names(ws)
    if names:
        wanted = list(dict.fromkeys(check_name(n) for n in names))
        missing = [n for n in wanted if n not in available]
        if missing:
            have = ", ".join(available) or "none"
            raise UsageError(f"no playbook {missing[0]!r} in {ws.root} (playbooks: {have})")
    else:
        wanted = available
    if not wanted:
        raise UsageError(f"no playbooks to export in {ws.root} (approve some with: dreamcli playbooks approve)")
    changes = _last_changes(ws, set(wanted))
    out = []
    for name in wanted:
        path = playbook_path(ws, name)
        text = read_text(path)
        if text is None:  # removed since it was listed
            raise UsageError(f"playbook {name!r} disappeared while exporting")
        pb = parse_live(ws, name, text)  # a malformed one: its line and reason, and how to recover
        out.append(Selected(name=name, path=path, raw=text.encode("utf-8"), playbook=pb,
                            history=history_versions(ws, name),
                            last_change=changes.get((name, pb.version))))
    return out


def _last_changes(ws: Workspace, names: set[str]) -> dict[tuple[str, int], dict[str, Any]]:
    """(playbook, version) -> who made that version and how, from the audit trail; redacted, for a record
    written before the actor was (an export must not carry a secret a reviewer pasted as their name)."""
    from dreamcli.config import workspace_redactor

    redactor = workspace_redactor(ws.config_path)
    out: dict[tuple[str, int], dict[str, Any]] = {}
    for rec in iter_audit(ws):
        name, after = rec.get("playbook"), rec.get("version_after")
        if name in names and isinstance(after, int):
            out[(name, after)] = {k: rec.get(k) for k in ("action", "actor", "ts", "dream_id") if rec.get(k)}
    return {key: redactor.redact_obj(change) for key, change in out.items()}


def as_of(selected: list[Selected]) -> str | None:
    """The newest `updated` time of the playbooks (UTC, to the second), or None when none has one that reads
    as a time: an export's `created`, so that exporting the same playbooks again gives the same bytes (an
    export written again without a change is no new file, and no conflict in a repository it is kept in)."""
    times = []
    for sel in selected:
        try:
            t = parse_ts(sel.playbook.updated or "")
        except (ValueError, OverflowError):
            continue
        times.append(t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC))
    return max(times).strftime("%Y-%m-%dT%H:%M:%SZ") if times else None


def history_files(ws: Workspace, sel: Selected) -> Iterator[tuple[str, bytes]]:
    """(bundle path, bytes) of every kept version of a playbook."""
    for v in sel.history:
        p = history_path(ws, sel.name, v)
        try:
            yield f"playbooks/.history/{sel.name}/v{v}.md", p.read_bytes()
        except FileNotFoundError:
            continue


def source_session_ids(selected: list[Selected]) -> list[str]:
    """Session ids the entries came from, in first-mention order, without repeats."""
    seen: dict[str, None] = {}
    for sel in selected:
        for e in sel.playbook.entries():
            for sid in e.sources:
                if sid:
                    seen.setdefault(sid, None)
    return list(seen)


def redacted_events(ws: Workspace, session_id: str, redactor: Redactor,
                    store: SessionStore | None = None) -> tuple[str, list[dict[str, Any]]] | None:
    """(bundle path, events redacted again) of one session: from this machine's file when it has one (it
    holds at least what was uploaded), else from the parts in `store`, the workspace's object store
    (`sessions.url`; `parquet.bucket_store`); None when neither has it. A file removed between finding it and
    reading it is one this machine no longer has (the export goes on: the store's copy, or a missing session);
    any other error reading it is raised. The store's errors are raised (dreamcli.store.errors: exit 4 or 2)."""
    path = _local_file(ws, session_id)
    if path is not None:
        try:
            return path.relative_to(ws.root).as_posix(), [redactor.redact_obj(e) for e in iter_events(path)]
        except FileNotFoundError:
            pass
    sid = session_id.strip().upper()
    if store is None or not is_session_id(sid):  # no bucket, or no id a bundle could carry
        return None
    events = stored_events(store, sid)
    if not events:  # the bucket has no such session (or nothing readable of it)
        return None
    return session_path(ws, sid).relative_to(ws.root).as_posix(), [redactor.redact_obj(e) for e in events]


def _local_file(ws: Workspace, session_id: str) -> Path | None:
    """This machine's file of the session, or None."""
    try:
        path = find_session(ws, session_id)
    except UsageError:
        return None
    if path.stem.upper() != session_id.strip().upper():
        return None  # a prefix match is not the session the entry names
    return path


def redacted_session(ws: Workspace, session_id: str, redactor: Redactor,
                     store: SessionStore | None = None) -> tuple[str, bytes] | None:
    """(bundle path, redacted JSONL bytes) of one session (`redacted_events`); None when it is not found."""
    found = redacted_events(ws, session_id, redactor, store)
    if found is None:
        return None
    member, events = found
    data = "".join(strict_dumps(e, separators=(",", ":")) + "\n" for e in events)
    return member, data.encode("utf-8")


def strict_dumps(data: Any, **kw: Any) -> str:
    """`data` as strict JSON (`ensure_ascii=False`): the NaN and infinities the standard library reads from a
    log (or the audit trail) are written as null, as `dreamcli.cli.common.print_json` prints them."""
    try:
        return json.dumps(data, ensure_ascii=False, allow_nan=False, **kw)
    except ValueError:  # only a non-finite float makes json refuse: walk the copy that has null instead
        return json.dumps(finite_json(data), ensure_ascii=False, allow_nan=False, **kw)
