"""A completed cloud dream as a local proposal: what `cloud dream` writes when the dream it waits on
completes (`write_proposal`), and what `cloud dream list --refresh` writes for a dream that completed while
no dreamcli waited on it (`settle`), from the base `cloud dream` kept (`dream_base`): the same proposal,
written once."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from dreamcli.cloud.dream_base import DreamBase, claimed, load_base, tidy
from dreamcli.cloud.dream_diff import base_hashes, diff_operations, write_cloud_proposal
from dreamcli.cloud.dream_record import DreamRecord, Recorder, load, proposal_of, refreshed
from dreamcli.cloud.memory_pull import (
    LOCK_NAME,
    CloudMemory,
    ListingRefused,
    check_listing,
    fetch_memories,
    mirror_memories,
)
from dreamcli.cloud.state import StoreState, check_store_id, save_state, state_path
from dreamcli.errors import DreamError, LockHeld, ModelError, UsageError
from dreamcli.redaction import Redactor
from dreamcli.workspace.home import Workspace
from dreamcli.workspace.lock import workspace_lock

NO_BASE = ("completed, but no proposal can be made here: the memory store as the dream found it was not kept "
           "(the dream was started by an earlier dreamcli, or its base could not be written)")


def write_proposal(ws: Workspace, client: Any, done: dict[str, Any], base: DreamBase,
                   recorder: Recorder) -> dict[str, Any]:
    """The local proposal of a completed dream: the difference from `base.memories` (the input store when it
    started) to its output store; what the result shows of it. Its ids, status, model and instructions are
    written and shown as the workspace's rules redact them."""
    redactor, store_id = recorder.redactor, base.store_id
    output = output_store(done)
    recorder.output(output)
    shown = redactor.redact_obj(done)
    shown_output = redactor.redact_text(output)
    what = f"read the result of cloud dream {done['id']}"
    try:
        after = fetch_memories(client, output, what=what, redactor=redactor)
        check_listing(ws, store_id, after)  # the proposal's paths land in the input store's mirror
    except ListingRefused as e:
        raise _refused(ws, base, shown, shown_output, recorder,
                       f"output store {output} of cloud dream {done['id']}: {e.problem}") from None
    try:  # approve checks each entry's old text against what the cloud holds: the mirror, refreshed
        now = fetch_memories(client, store_id, what=what, redactor=redactor)
        mirror_memories(ws, store_id, now)
    except ListingRefused as e:  # an agent wrote a memory the mirror cannot hold while the dream ran
        raise _refused(ws, base, shown, shown_output, recorder,
                       f"input store {store_id} of cloud dream {done['id']}, changed while the dream ran: "
                       f"{e.problem}") from None
    before: dict[str, CloudMemory] = base.memories
    ops = diff_operations(before, after, str(shown["id"]), redactor, now=now)
    local = write_cloud_proposal(ws, cloud_dream=shown, store_id=store_id, output_store=shown_output,
                                 session_ids=base.session_ids, ops=ops, playbook=base.playbook, note=base.note,
                                 base_sha256=base_hashes(before, ops))
    recorder.proposal(local)
    counts = {k: sum(1 for o in ops if o.op == k) for k in ("create", "update", "retire")}
    return {"cloud_dream_id": shown["id"], "dream_id": local, "output_store": shown_output,
            "sessions": len(base.session_ids), "operations": len(ops), "counts": counts,
            "usage": shown.get("usage") or {}}


class Refused(UsageError):
    """A completed dream whose stores the mirror cannot hold: recorded as a proposal with no entries."""


def _refused(ws: Workspace, base: DreamBase, done: dict[str, Any], output: str, recorder: Recorder,
             reason: str) -> Refused:
    """The error for a completed dream whose output store, or input store read again after it, the mirror
    cannot hold (exit 2), once the dream is recorded as a proposal with no entries (`cloud.refused`): it ran
    and was billed, so `dreams/` keeps its id, sessions and usage as for any cloud dream. The input store
    is marked as dreamed over, as a dream that refreshes its mirror marks it. The dream (its instructions
    hold what the user typed), the store and the reason are written as the workspace's rules redact them,
    as `write_proposal` writes them, whether or not the caller redacted them already."""
    redactor = recorder.redactor
    reason, shown, output = redactor.redact_text(reason), redactor.redact_obj(done), redactor.redact_text(output)
    local = write_cloud_proposal(ws, cloud_dream=shown, store_id=base.store_id, output_store=output,
                                 session_ids=base.session_ids, ops=[], playbook=base.playbook, note=base.note,
                                 refused=reason)
    recorder.proposal(local)
    _mark_dreamed_over(ws, base.store_id)
    return Refused(f"{reason}; no proposal written (the cloud dream and its usage are recorded as dream "
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


def output_store(done: dict[str, Any]) -> str:
    """The memory store a completed dream wrote (its id checked like any store id), exit 3 without one."""
    output = next((o["memory_store_id"] for o in done.get("outputs") or [] if o.get("memory_store_id")), None)
    if output is None:
        raise ModelError(f"cloud dream {done['id']} completed without an output memory store")
    try:
        return check_store_id(output)
    except UsageError as e:
        raise ModelError(f"cloud dream {done['id']} completed with an output store the API misnamed: {e}") from None


@dataclass
class Settled:
    """What `settle` did: the record as it is now, the proposal it wrote (if it did), and the warning line to
    show (if any; not yet redacted)."""

    record: DreamRecord
    written: str | None = None
    warning: str | None = None


def settle(ws: Workspace, client: Any, record: DreamRecord, done: dict[str, Any], redactor: Redactor) -> Settled:
    """Turn the record of a dream the API says completed (`done`, its checked answer) into its local proposal,
    once: under the record's claim (LockHeld: the `cloud dream` that started it is still at work on it), and
    only while the record read again is unfinished. A proposal already in `dreams/` for the dream (a kill
    between its write and the record's) is linked, not written again. Without the base the record is
    finished with a note saying why; a proposal that cannot be written is a warning, the record left for the
    next refresh, except for a store the mirror cannot hold: recorded as a proposal with no entries, as
    `cloud dream` records it."""
    dream_id = record.cloud_dream_id
    with claimed(ws, record.record_id):
        current = load(ws, record.record_id) or record
        recorder = Recorder.resumed(ws, current, redactor)
        try:
            return _settle(ws, client, recorder, current, done)
        except Refused as e:  # recorded as a proposal with no entries
            return Settled(recorder.record or current, warning=f"cloud dream {dream_id}: {e}")
        except DreamError as e:
            return Settled(recorder.record or current, warning=f"cloud dream {dream_id} completed; no proposal "
                                                               f"written yet ({' '.join(str(e).split())}): "
                                                               "listed as last seen")
        finally:
            tidy(ws, record.record_id, recorder.record)


def _settle(ws: Workspace, client: Any, recorder: Recorder, record: DreamRecord, done: dict[str, Any]) -> Settled:
    """`settle`'s work, under the claim, on the record as read again."""
    if record.finished:
        return Settled(record)
    existing = proposal_of(ws, str(record.cloud_dream_id))
    if existing is not None:
        recorder.proposal(existing)
        return Settled(recorder.record or record)
    base = load_base(ws, record.record_id)
    if base is None:
        record = refreshed(ws, record, status="completed", output_store=record.output_store, finished=True,
                           note=NO_BASE)
        recorder.record = record
        return Settled(record, warning=f"cloud dream {record.cloud_dream_id}: {NO_BASE}; its result is memory "
                                       f"store {record.output_store or '?'}")
    made = write_proposal(ws, client, done, base, recorder)
    return Settled(recorder.record or record, written=str(made["dream_id"]))
