"""`cloud dream --store STORE_ID`: choose sessions, run one cloud dream per 100 of them, and turn each
completed dream into a local proposal for `playbooks diff/approve`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dreamcli.cloud import dream_job
from dreamcli.cloud.dream_base import DreamBase, claimed, save_base, tidy
from dreamcli.cloud.dream_record import Recorder
from dreamcli.cloud.dream_result import write_proposal
from dreamcli.cloud.memory_pull import check_listing, check_store, fetch_memories
from dreamcli.cloud.state import check_store_id
from dreamcli.config import workspace_redactor
from dreamcli.errors import DreamError
from dreamcli.workspace.home import Workspace

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
        base = DreamBase(store_id, part, playbook, result.note, before)
        with claimed(ws, recorder.record_id):  # this command writes the proposal: no `list --refresh` meanwhile
            save_base(ws, recorder.record_id, base, redactor)  # for a refresh to write it if this one is killed
            try:
                result.dreams.append(_one(ws, client, base, recorder, model, instructions, n, len(parts), progress))
            except DreamError as e:
                recorder.noted(e)
                raise
            finally:
                tidy(ws, recorder.record_id, recorder.record)
    return result


def _one(ws: Workspace, client: Any, base: DreamBase, recorder: Recorder, model: str, instructions: str | None,
         n: int, parts: int, progress: Callable[[Any], None] | None) -> dict[str, Any]:
    """Run one cloud dream over `base.session_ids` and write its proposal; what the result shows of it."""
    redactor, store_id, part = recorder.redactor, base.store_id, base.session_ids
    with dream_job.held_signals() as held:  # a signal during the create waits for the dream's id: cancelled
        started = dream_job.start(client, store_id, part, model, instructions, held, redactor=redactor,
                                  created=recorder.created, unusable=recorder.unusable)
        done = dream_job.wait(client, started, progress=_tracked(recorder, progress), part=n, parts=parts,
                              held=held, redactor=redactor, cancelled=recorder.seen)
    return write_proposal(ws, client, done, base, recorder)


def _tracked(recorder: Recorder, progress: Callable[[Any], None] | None) -> Callable[[Any], None]:
    """`progress`, each status a poll shows recorded first."""
    def track(item: Any) -> None:
        if isinstance(item, dream_job.Poll):
            recorder.seen(item.status)
        if progress is not None:
            progress(item)

    return track
