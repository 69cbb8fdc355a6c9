"""`cloud dream --store STORE_ID`: choose sessions, run one cloud dream per 100 of them, and turn each
completed dream into a local proposal for `playbooks diff/approve`."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dreamcli.cloud import dream_job
from dreamcli.cloud.dream_diff import base_hashes, diff_operations, write_cloud_proposal
from dreamcli.cloud.dream_record import Recorder
from dreamcli.cloud.memory_pull import (
    LOCK_NAME,
    CloudMemory,
    ListingRefused,
    check_listing,
    check_store,
    fetch_memories,
    mirror_memories,
)
from dreamcli.cloud.state import StoreState, check_store_id, save_state, state_path
from dreamcli.config import workspace_redactor
from dreamcli.errors import DreamError, LockHeld, ModelError, UsageError
from dreamcli.workspace.home import Workspace
from dreamcli.workspace.lock import workspace_lock

DEFAULT_LIMIT = 100


@dataclass
class CloudDreamResult:
    store_id: str
    session_ids: list[str]
    playbook: str = "default"
    note: str | None = None
    dreams: list[dict[str, Any]] = field(default_factory=list)  # one per cloud dream

    def to_json(self) -> dict[str, Any]:
        return {"store_id": self.store_id, "playbook": self.playbook, "sessions": len(self.session_ids),
                "note": self.note, "dreams": self.dreams}


def run_cloud_dream(ws: Workspace, client: Any, store_id: str, *, model: str, session_ids: list[str] | None = None,
                    limit: int = DEFAULT_LIMIT, instructions: str | None = None, playbook: str = "default",
                    progress: Callable[[Any], None] | None = None) -> CloudDreamResult:
    """What the cloud answers (ids, statuses, errors, memory text) is shown and written redacted with the
    workspace's rules (built-in ones plus config `redaction.patterns`); each dream is recorded as soon as
    its create returns (`dream_record`), so one a failure leaves unfinished is in `cloud dream list`."""
    redactor = workspace_redactor(ws.config_path)
    check_store(client, check_store_id(store_id), what=f"dream over memory store {store_id}", redactor=redactor)
    ids = list(dict.fromkeys(session_ids)) if session_ids else dream_job.recent_sessions(client, store_id, limit,
                                                                                           redactor)
    parts = dream_job.chunks(ids)
    result = CloudDreamResult(store_id, ids, playbook)
    if len(parts) > 1:
        result.note = (f"{len(ids)} sessions split across {len(parts)} cloud dreams (a dream reads at most "
                       f"{dream_job.sdk_beta.MAX_SESSIONS_PER_DREAM})")
        if progress is not None:
            progress(result.note)
    for n, part in enumerate(parts, 1):
        # the proposal's base: the input store as the dream found it. Read before the dream starts, so
        # what agents write while it runs is never taken for something the dream removed or reverted
        before = fetch_memories(client, store_id, what=f"read memory store {store_id} before a cloud dream",
                                redactor=redactor)
        check_listing(ws, store_id, before)
        recorder = Recorder(ws, store_id=store_id, sessions=len(part), model=model, redactor=redactor)
        try:
            with dream_job.held_signals() as held:  # a signal during the create waits for the dream's id: cancelled
                started = dream_job.start(client, store_id, part, model, instructions, held, redactor=redactor,
                                          created=recorder.created)
                done = dream_job.wait(client, started, progress=_tracked(recorder, progress), part=n,
                                      parts=len(parts), held=held, redactor=redactor, cancelled=recorder.seen)
            result.dreams.append(_proposal(ws, client, result, done, part, before, recorder))
        except DreamError as e:
            recorder.noted(e)
            raise
    return result


def _tracked(recorder: Recorder, progress: Callable[[Any], None] | None) -> Callable[[Any], None]:
    """`progress`, each status a poll shows recorded first."""
    def track(item: Any) -> None:
        if isinstance(item, dream_job.Poll):
            recorder.seen(item.status)
        if progress is not None:
            progress(item)

    return track


def _proposal(ws: Workspace, client: Any, result: CloudDreamResult, done: dict[str, Any], part: list[str],
              before: dict[str, CloudMemory], recorder: Recorder) -> dict[str, Any]:
    """The local proposal of a completed dream: the difference from `before` (the input store when it
    started) to its output store; what the result shows of it. Its ids, status, model and instructions are
    written and shown as the workspace's rules redact them."""
    redactor, store_id = recorder.redactor, result.store_id
    output = _output_store(done)
    recorder.output(output)
    shown = redactor.redact_obj(done)
    shown_output = redactor.redact_text(output)
    what = f"read the result of cloud dream {done['id']}"
    try:
        after = fetch_memories(client, output, what=what, redactor=redactor)
        check_listing(ws, store_id, after)  # the proposal's paths land in the input store's mirror
    except ListingRefused as e:
        raise _refused(ws, result, shown, shown_output, part, recorder,
                       f"output store {output} of cloud dream {done['id']}: {e.problem}") from None
    try:  # approve checks each entry's old text against what the cloud holds: the mirror, refreshed
        now = fetch_memories(client, store_id, what=what, redactor=redactor)
        mirror_memories(ws, store_id, now)
    except ListingRefused as e:  # an agent wrote a memory the mirror cannot hold while the dream ran
        raise _refused(ws, result, shown, shown_output, part, recorder,
                       f"input store {store_id} of cloud dream {done['id']}, changed while the dream ran: "
                       f"{e.problem}") from None
    ops = diff_operations(before, after, str(shown["id"]), redactor, now=now)
    local = write_cloud_proposal(ws, cloud_dream=shown, store_id=store_id, output_store=shown_output, session_ids=part,
                                 ops=ops, playbook=result.playbook, note=result.note,
                                 base_sha256=base_hashes(before, ops))
    recorder.proposal(local)
    counts = {k: sum(1 for o in ops if o.op == k) for k in ("create", "update", "retire")}
    return {"cloud_dream_id": shown["id"], "dream_id": local, "output_store": shown_output, "sessions": len(part),
            "operations": len(ops), "counts": counts, "usage": shown.get("usage") or {}}


def _refused(ws: Workspace, result: CloudDreamResult, done: dict[str, Any], output: str, session_ids: list[str],
             recorder: Recorder, reason: str) -> UsageError:
    """The error for a completed dream whose output store, or input store read again after it, the mirror
    cannot hold (exit 2), once the dream is recorded as a proposal with no entries (`cloud.refused`): it ran
    and was billed, so `dreams/` keeps its id, sessions and usage as for any cloud dream. The input store
    is marked as dreamed over, as a dream that refreshes its mirror marks it."""
    reason = recorder.redactor.redact_text(reason)
    local = write_cloud_proposal(ws, cloud_dream=done, store_id=result.store_id, output_store=output,
                                 session_ids=session_ids, ops=[], playbook=result.playbook, note=result.note,
                                 refused=reason)
    recorder.proposal(local)
    _mark_dreamed_over(ws, result.store_id)
    return UsageError(f"{reason}; no proposal written (the cloud dream and its usage are recorded as dream "
                      f"{local}, with no entries)")


def _mark_dreamed_over(ws: Workspace, store_id: str) -> None:
    """The store's state file, knowing no memory, when this workspace has none yet: its existence keeps a
    local dream off the store's mirror (`state_path`); a later pull or push finds nothing known, as without
    one. Best effort: a lock held past 10 s, or a failed write, leaves the refusal to say what matters."""
    if state_path(ws, store_id).exists():
        return
    with contextlib.suppress(LockHeld, OSError), workspace_lock(ws, LOCK_NAME, wait=10):
        if not state_path(ws, store_id).exists():  # a pull may have written it meanwhile: never over it
            save_state(ws, StoreState(store_id))


def _output_store(done: dict[str, Any]) -> str:
    """The memory store a completed dream wrote (its id checked like any store id), exit 3 without one."""
    output = next((o["memory_store_id"] for o in done.get("outputs") or [] if o.get("memory_store_id")), None)
    if output is None:
        raise ModelError(f"cloud dream {done['id']} completed without an output memory store")
    try:
        return check_store_id(output)
    except UsageError as e:
        raise ModelError(f"cloud dream {done['id']} completed with an output store the API misnamed: {e}") from None
