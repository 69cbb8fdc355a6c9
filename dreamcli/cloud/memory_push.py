"""`cloud memory push PLAYBOOK --store STORE_ID`: send approved content to a memory store.

Each change carries the `content_sha256` last pulled as its precondition (an update's `precondition`,
a delete's `expected_content_sha256`; for an approved cloud-dream entry, the hash the dream read), so a
memory changed in the cloud since then is a 409 conflict, reported with both sides, never overwritten.
The push is recorded in the audit with the resulting memory version ids. A memory the cloud already
holds as the push wants it but the state does not know so (a push killed after its writes) is recorded
too, as `already_applied` (`matched` when never pulled here: this workspace may not have written it), and
the state catches up. An approved cloud-dream entry vetting refuses (its path names a secret) is left
out and listed in `skipped`, with the reason, redacted; once a push named it, in `still_skipped` while it
stays as it was (the state's `skipped` digests). A create is sent at most once in effect (memory_create).
`dry_run` plans and sends nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from dreamcli import sdk_beta
from dreamcli.audit import append_audit, current_actor, iter_audit
from dreamcli.cloud.approved import (
    Skipped,
    Wanted,
    approved_dream_entries,
    cloud_dream_ids,
    playbook_files,
    playbook_prefix,
)
from dreamcli.cloud.client import attempts_of, cloud_error, is_conflict
from dreamcli.cloud.memory_create import CreateFailed, create_memory_once
from dreamcli.cloud.memory_pull import LOCK_NAME, both_redacted, check_store, shown_redacted
from dreamcli.cloud.state import (
    Known,
    StoreState,
    case_key,
    check_store_id,
    load_state,
    lone_surrogate,
    remove_mirror_file,
    save_state,
    sha256_text,
    write_mirror_file,
)
from dreamcli.config import workspace_redactor
from dreamcli.errors import UsageError
from dreamcli.playbooks import list_playbook_names
from dreamcli.playbooks.store import check_name
from dreamcli.redaction import Redactor
from dreamcli.workspace.home import Workspace
from dreamcli.workspace.lock import workspace_lock

EXCERPT = 2000
ALREADY = "already_applied"
MATCHED = "matched"  # already in the cloud as wanted, never pulled here: maybe another workspace wrote it


@dataclass
class Change:
    op: str  # create, update, delete
    path: str
    source: str
    content: str | None = None
    memory_id: str | None = None
    expected_sha256: str | None = None  # the precondition: the hash last pulled, or the one a cloud dream read
    cloud_sha256: str | None = None  # what the listing showed just now
    sha256_after: str | None = None
    memory_version_id: str | None = None
    status: str = "planned"  # planned, done, conflict; already_applied, matched (found in the cloud, state refreshed)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("content")
        data["bytes"] = len(self.content.encode("utf-8")) if self.content is not None else None
        return data


@dataclass
class ConflictReport:
    path: str
    op: str
    expected_sha256: str | None  # last pulled
    cloud_sha256: str | None
    cloud_version_id: str | None
    cloud_content: str | None
    local_content: str | None
    reason: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class PushResult:
    store_id: str
    playbook: str
    dry_run: bool
    changes: list[Change] = field(default_factory=list)
    unchanged: int = 0
    conflicts: list[ConflictReport] = field(default_factory=list)
    # already as this push wants them but not as the state knows them: an earlier push reached the
    # cloud and was killed before it recorded that (or another writer did it); counted in `unchanged`
    recovered: list[Change] = field(default_factory=list)
    # approved cloud-dream entries left out, never sent: vetting refused them (a path that names a secret);
    # `skipped` the ones no push named before (they fail the push), `still_skipped` those an earlier push
    # named as they are now (the state's `skipped`): reported, no longer a failure
    skipped: list[Skipped] = field(default_factory=list)
    still_skipped: list[Skipped] = field(default_factory=list)
    pushed_before: int = 0  # approved cloud-dream entries an earlier push sent: never sent again, not compared

    def to_json(self) -> dict[str, Any]:
        return {"store_id": self.store_id, "playbook": self.playbook, "dry_run": self.dry_run,
                "changes": [c.to_json() for c in self.changes], "unchanged": self.unchanged,
                "pushed_before": self.pushed_before,
                "conflicts": [c.to_json() for c in self.conflicts],
                "recovered": [c.to_json() for c in self.recovered],
                "skipped": [s.to_json() for s in self.skipped],
                "still_skipped": [s.to_json() for s in self.still_skipped]}


def wanted_memories(ws: Workspace, store_id: str, playbook: str,
                    pushed: set[str]) -> tuple[list[Wanted], list[Skipped]]:
    """The approved content to push, and the approved entries vetting leaves out; a playbook that does not
    exist is an error unless the store has cloud dreams (then only their approved entries go)."""
    files = playbook_files(ws, check_name(playbook))
    if files is None and not cloud_dream_ids(ws, store_id):
        have = ", ".join(list_playbook_names(ws)) or "none"
        raise UsageError(f"no playbook {playbook!r} in {ws.root} (playbooks: {have}) and no cloud dreams "
                         f"over {store_id} to push from")
    dreamed, skipped = approved_dream_entries(ws, store_id, pushed)
    wanted = [Wanted(path, content, f"playbook:{playbook}") for path, content in (files or {}).items()]
    return wanted + dreamed, skipped


def plan_push(ws: Workspace, client: Any, store_id: str, playbook: str) -> tuple[PushResult, list[Wanted]]:
    what = f"push to memory store {store_id}"
    redactor = workspace_redactor(ws.config_path)
    check_store(client, check_store_id(store_id), what=what, redactor=redactor)
    state = load_state(ws, store_id)
    try:
        cloud = {str(m["path"]): m for m in sdk_beta.iter_memories(client, store_id, full=False)}
    except Exception as e:
        raise cloud_error(e, what=what, store=store_id, redactor=redactor, attempts=attempts_of(client)) from None
    wanted, skipped = wanted_memories(ws, store_id, playbook, state.pushed)
    final: dict[str, Wanted] = {}
    for w in wanted:  # later wins: a newer approved entry over an older one, dreams over the render
        text = None if w.content is None else redactor.redact_text(w.content)
        final[w.path] = Wanted(w.path, text, w.source, w.base)
    prefix = playbook_prefix(playbook)
    # a section the playbook no longer has: in the cloud, or only in the state (a push killed after its delete)
    for path in sorted({*cloud, *state.memories}) if owns_prefix(ws, state, playbook, wanted) else ():
        if path.startswith(prefix) and path not in final:
            final[path] = Wanted(path, None, f"playbook:{playbook}")
    check_wanted(store_id, final, cloud, redactor)
    result = PushResult(store_id, playbook, dry_run=True,
                        skipped=[s for s in skipped if s.digest not in state.skipped],
                        still_skipped=[s for s in skipped if s.digest in state.skipped],
                        pushed_before=len(state.pushed))
    reviewed = functools.cache(lambda: reviewed_conflicts(ws, store_id))
    for path, w in sorted(final.items()):
        now = cloud.get(path)
        known = state.memories.get(path)
        expected = _expected(w, known, reviewed)
        if w.content is None:
            if now is None:
                if known is not None:  # deleted, but the state still has it: a push killed after the delete
                    result.recovered.append(Change("delete", path, w.source, None, known.memory_id, expected,
                                                   status=ALREADY))
                continue
            change = Change("delete", path, w.source, None, str(now["id"]), expected, now["content_sha256"])
        elif now is None:
            change = Change("create", path, w.source, w.content)
        elif now["content_sha256"] == sha256_text(w.content):
            result.unchanged += 1
            if known is None or known.sha256 != now["content_sha256"]:  # reached the cloud, never recorded
                version = now.get("memory_version_id")  # never pulled: matched, whoever wrote it (no claim)
                result.recovered.append(Change(
                    "create" if known is None else "update", path, w.source, w.content, str(now["id"]), expected,
                    now["content_sha256"], now["content_sha256"], version if isinstance(version, str) else None,
                    MATCHED if known is None else ALREADY))
            continue
        else:
            change = Change("update", path, w.source, w.content, str(now["id"]), expected, now["content_sha256"])
        result.changes.append(change)
    result.changes = _ordered(result.changes)
    return result, wanted


def _expected(w: Wanted, known: Known | None, reviewed: Callable[[], set[tuple[str, str]]]) -> str | None:
    """The precondition: the hash last pulled; for a cloud-dream entry the hash the dream read (none:
    what is there now was written since), so a memory changed after the dream read it is a conflict
    also when a pull has come in since. Unless a conflict showed you the memory as it is now (pull,
    review, push again): then the hash last pulled."""
    pulled = known.sha256 if known is not None else None
    if w.base is None or pulled == (w.base or None):
        return pulled
    if pulled is not None and (w.path, pulled) in reviewed():
        return pulled
    return w.base or None


def reviewed_conflicts(ws: Workspace, store_id: str) -> set[tuple[str, str]]:
    """(path, cloud content_sha256) of every conflict a push to the store reported (its audit records)."""
    seen: set[tuple[str, str]] = set()
    for rec in iter_audit(ws):
        if rec.get("action") == "cloud-push" and rec.get("store_id") == store_id and isinstance(
                rec.get("conflicts"), list):
            seen |= {(c["path"], c["cloud_sha256"]) for c in rec["conflicts"] if isinstance(c, dict)
                     and isinstance(c.get("path"), str) and isinstance(c.get("cloud_sha256"), str)}
    return seen


def owns_prefix(ws: Workspace, state: StoreState, playbook: str, wanted: list[Wanted]) -> bool:
    """Whether the push speaks for all of `/playbooks/PLAYBOOK/` (deletes what the playbook no longer
    has): the playbook renders files, or it exists here and was pushed to this store before (the state;
    for a state older than that record, the audit), so an emptied playbook empties its prefix. A
    playbook this workspace never pushed leaves another workspace's files alone."""
    source = f"playbook:{playbook}"
    if any(w.source == source for w in wanted):
        return True
    if playbook not in list_playbook_names(ws):
        return False
    if playbook in state.playbooks:
        return True
    return any(rec.get("action") == "cloud-push" and rec.get("store_id") == state.store_id
               and rec.get("playbook") == playbook and isinstance(rec.get("changes"), list)
               and any(isinstance(c, dict) and c.get("source") == source for c in rec["changes"])
               for rec in iter_audit(ws))


def _from(source: str) -> str:
    kind, _, rest = source.partition(":")
    dream, _, entry = rest.partition(":")
    return f"playbook {rest!r}" if kind == "playbook" else f"approved entry {entry} of cloud-dream proposal {dream}"


def check_wanted(store_id: str, final: dict[str, Wanted], cloud: dict[str, Any], redactor: Redactor) -> None:
    """Refuse the whole push, before anything is sent (one line, exit 2): content or a path UTF-8 cannot
    encode (a lone surrogate), or a memory this push creates whose path differs only in case from
    another memory the store would hold (they would be one file in the mirror on macOS and Windows). The
    paths in the line are redacted whole before they are cut."""
    for path, w in sorted(final.items()):
        problem = lone_surrogate(path) or lone_surrogate(w.content or "")
        if problem is not None:
            where = "its path" if lone_surrogate(path) else "its content"
            raise UsageError(f"{_from(w.source)} for memory {shown_redacted(path, redactor)}: {where} has "
                             f"{problem}; nothing pushed")
    seen = {case_key(p): p for p in sorted(cloud, reverse=True) if p not in final or final[p].content is not None}
    for path in sorted(p for p, w in final.items() if w.content is not None and p not in cloud):
        other = seen.setdefault(case_key(path), path)
        if other != path:
            raise UsageError(f"memory store {store_id}: memories {both_redacted(other, path, redactor)} differ only "
                             f"in case or Unicode normalisation (one file on macOS and Windows), and this push would "
                             f"create {shown_redacted(path, redactor)} ({_from(final[path].source)}); nothing pushed")


def push(ws: Workspace, client: Any, store_id: str, playbook: str, *, dry_run: bool = False,
         actor: str | None = None, progress: Callable[[str], None] | None = None) -> PushResult:
    with workspace_lock(ws, LOCK_NAME):
        result, wanted = plan_push(ws, client, store_id, playbook)
        result.dry_run = dry_run
        if dry_run:
            return result
        state = load_state(ws, store_id)
        redact = workspace_redactor(ws.config_path).redact_text
        finished = False
        for found in result.recovered:  # recorded below, in this push's audit record
            _settle(ws, state, found)
        try:
            for n, change in enumerate(result.changes, 1):
                if progress is not None:
                    progress(f"{change.op} {change.path} ({n}/{len(result.changes)})")
                twin = _undeleted_twin(change, result.changes)
                if twin is not None:
                    _conflict(client, store_id, change, result, f"{twin}, whose path differs only in case, was not "
                              "deleted: both would be one file on macOS and Windows")
                    continue
                _send(ws, client, store_id, change, state, result)
            finished = True
        finally:  # what reached the cloud is in the state and the audit, also when a later call failed
            for c in result.conflicts:  # the cloud side is shown: no secrets, redacted whole before it is cut
                c.cloud_content = redact(c.cloud_content)[:EXCERPT] if c.cloud_content is not None else None
            _record(ws, state, result, wanted, actor, finished)
        return result


def _ordered(changes: list[Change]) -> list[Change]:
    """A delete that makes room for a create whose path differs from it only in case goes first."""
    creates = {case_key(c.path) for c in changes if c.op == "create"}
    return sorted(changes, key=lambda c: (not (c.op == "delete" and case_key(c.path) in creates), c.path))


def _undeleted_twin(change: Change, changes: list[Change]) -> str | None:
    """For a create: a memory differing from it only in case whose delete did not go through."""
    if change.op != "create":
        return None
    key = case_key(change.path)
    return next((c.path for c in changes if c.op == "delete" and c.status != "done" and c.path != change.path
                 and case_key(c.path) == key), None)


def _record(ws: Workspace, state: StoreState, result: PushResult, wanted: list[Wanted], actor: str | None,
            finished: bool) -> None:
    """The audit record first, then the state: killed in between, the next push finds the changes in
    the cloud and records them again as `already_applied`; the other way round they would go unaudited."""
    sent = {c.path for c in result.changes if c.status != "planned"}
    ok = {c.path for c in result.changes if c.status == "done"}
    planned = {c.path for c in result.changes}
    state.pushed |= {w.source.removeprefix("dream:") for w in wanted if w.source.startswith("dream:")
                     and (w.path in ok or (finished and w.path not in planned))}
    if finished:  # named by this push (a new one exits 1 once): what is left out now, no more
        state.skipped = {s.digest for s in result.skipped + result.still_skipped}
    mine = f"playbook:{result.playbook}"
    if any(w.source == mine for w in wanted) and (finished or any(c.source == mine for c in result.changes
                                                                  if c.status == "done")):
        state.playbooks.add(result.playbook)
    try:
        if sent or result.recovered or finished:  # a push with nothing to send too: who pushed, and when
            extra: dict[str, Any] = {} if finished else {"interrupted": True}
            append_audit(ws, "cloud-push", actor=current_actor(actor), store_id=result.store_id,
                         playbook=result.playbook, unchanged=result.unchanged,
                         changes=[c.to_json() for c in result.changes if c.status == "done"]
                         + [c.to_json() for c in result.recovered],
                         conflicts=[{"path": c.path, "expected_sha256": c.expected_sha256,
                                     "cloud_sha256": c.cloud_sha256, "cloud_version_id": c.cloud_version_id}
                                    for c in result.conflicts], **extra)
    finally:
        save_state(ws, state)


def _settle(ws: Workspace, state: StoreState, change: Change) -> None:
    """What the state (and the mirror) know of a memory after a change reached the cloud: the mirror holds
    what was sent (redacted), or loses a deleted memory, as a pull would make it; not left for one."""
    if change.op == "delete":
        state.memories.pop(change.path, None)
        remove_mirror_file(ws, state.store_id, change.path)
        return
    state.memories[change.path] = Known(str(change.memory_id), str(change.sha256_after), change.memory_version_id)
    if change.content is not None:
        write_mirror_file(ws, state.store_id, change.path, change.content)


def _send(ws: Workspace, client: Any, store_id: str, change: Change, state: StoreState, result: PushResult) -> None:
    what = f"push {change.path} to memory store {store_id}"
    if change.op != "create" and change.expected_sha256 is None:
        _conflict(client, store_id, change, result, "never pulled, or written in the cloud after the cloud "
                  "dream read the store: dreamcli does not know what the cloud held when you last looked")
        return
    try:
        if change.op == "create":  # sent again only after a look-up by its path: see memory_create
            got = create_memory_once(client, store_id, change.path, change.content or "",
                                     attempts=attempts_of(client) or 1)
        elif change.op == "update":
            got = sdk_beta.update_memory(client, store_id, str(change.memory_id), change.content or "",
                                         str(change.expected_sha256))
        else:
            got = sdk_beta.delete_memory(client, store_id, str(change.memory_id), str(change.expected_sha256))
    except Exception as e:  # a conditional write is sent once (sdk_beta); a create counts its own attempts
        error, tries = (e.error, e.attempts) if isinstance(e, CreateFailed) else (e, 1)
        if is_conflict(error):
            _conflict(client, store_id, change, result, "changed in the cloud since the last pull")
            return
        raise cloud_error(error, what=what, store=store_id, redactor=workspace_redactor(ws.config_path),
                          attempts=tries) from None
    if change.op == "create" and got.get("content_sha256") not in (None, sha256_text(change.content or "")):
        change.memory_id = str(got.get("id") or "") or None  # another writer's, found after an unanswered create
        _conflict(client, store_id, change, result, "created in the cloud by another writer while this push's "
                  "create got no answer")
        return
    change.status = "done"
    if change.op != "delete":
        change.memory_id = str(got.get("id") or change.memory_id)
        change.sha256_after = str(got.get("content_sha256") or sha256_text(change.content or ""))
        change.memory_version_id = got.get("memory_version_id")
    _settle(ws, state, change)


def _conflict(client: Any, store_id: str, change: Change, result: PushResult, reason: str) -> None:
    change.status = "conflict"
    cloud: dict[str, Any] = {}
    if change.memory_id:
        try:
            cloud = sdk_beta.retrieve_memory(client, store_id, change.memory_id)
        except Exception:  # the other side is best effort: the conflict itself is certain
            cloud = {}
    content = cloud.get("content")
    result.conflicts.append(ConflictReport(
        path=change.path, op=change.op, expected_sha256=change.expected_sha256,
        cloud_sha256=cloud.get("content_sha256") or change.cloud_sha256,
        cloud_version_id=cloud.get("memory_version_id"),
        cloud_content=content if isinstance(content, str) else None,  # cut once redacted (`push`)
        local_content=change.content[:EXCERPT] if change.content is not None else None, reason=reason))
