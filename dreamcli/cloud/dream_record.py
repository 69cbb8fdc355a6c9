"""The workspace's record of its cloud dreams, `state/cloud/dreams/<record id>.json`, one file each: written
as soon as a create returns (a dream is billed from then on), unfinished, and kept up to date while
`cloud dream` waits: the last status the API gave, the output store, and the local proposal once one is
written (finished). A create whose answer never came back but may have started a dream is recorded too,
without an id. A command that stops in between (a network error, a signal) leaves the record unfinished,
for `cloud dream list` to show. Ids, statuses and notes are kept as shown: redacted with the workspace's
rules. Records (and `dreams/*/dream.json`) are read only when they are regular files under a size cap: a
FIFO planted among them would hang the list. A record that cannot be read is named (`Unreadable`), never
deleted."""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from dreamcli.dream.statefile import NotRegularFile, open_regular
from dreamcli.errors import DreamError, LockHeld
from dreamcli.ids import new_ulid
from dreamcli.redaction import Redactor
from dreamcli.timeutil import now_rfc3339
from dreamcli.workspace.fsutil import atomic_write_text, ensure_dir
from dreamcli.workspace.home import Workspace
from dreamcli.workspace.lock import workspace_lock

RECORD_VERSION = 1
LOCK_NAME = "cloud-dreams"
ENDED = ("failed", "canceled")  # final, with nothing to review: the record is finished
FINAL = ("completed", *ENDED)
UNKNOWN = "unknown"  # the status of a create whose answer never came back
NOT_FOUND = "not found in the cloud"  # 404 for the id, others found: final, never asked for again
MAX_RECORD_BYTES = 64 * 1024  # a record is a few hundred bytes; a larger file is not one
MAX_PROPOSAL_INFO_BYTES = 8 * 1024 * 1024  # dreams/*/dream.json (its base_sha256 names every memory)
LIST_COMMAND = "dreamcli cloud dream list"


@dataclass
class DreamRecord:
    record_id: str  # the file's name: a ULID, so records sort by when they were made
    created: str  # when the create returned (this machine's clock)
    store_id: str
    cloud_dream_id: str | None  # redacted with the workspace's rules; None: the create's answer never came back
    status: str  # the last status the API gave (UNKNOWN without an id)
    sessions: int = 0
    model: str | None = None
    output_store: str | None = None
    proposal: str | None = None  # the local proposal, dreams/<id>/
    finished: bool = False  # a proposal is written, the dream failed or was canceled, or none can be made
    updated: str | None = None
    note: str | None = None  # why it ended as it did, when its status alone does not say (redacted)

    def to_json(self) -> dict[str, Any]:
        return {"v": RECORD_VERSION, **asdict(self)}

    def unfinished_note(self) -> str:
        """What an error line adds while the record is unfinished."""
        return f"cloud dream {self.cloud_dream_id} is recorded as unfinished in `{LIST_COMMAND}`"


class Recorder:
    """The record of one cloud dream of a `cloud dream` run: made when its create returns (`created`, which
    `dream_job.start` calls), then kept up to date as the run goes on."""

    def __init__(self, ws: Workspace, *, store_id: str, sessions: int, model: str, redactor: Redactor) -> None:
        self.ws, self.store_id, self.sessions, self.model, self.redactor = ws, store_id, sessions, model, redactor
        self.record_id = new_ulid()  # known before the create: the record's claim and base are taken under it
        self.record: DreamRecord | None = None

    @classmethod
    def resumed(cls, ws: Workspace, record: DreamRecord, redactor: Redactor) -> Recorder:
        """The recorder of a record already written (`cloud dream list --refresh` finishing it)."""
        recorder = cls(ws, store_id=record.store_id, sessions=record.sessions, model=record.model or "",
                       redactor=redactor)
        recorder.record_id, recorder.record = record.record_id, record
        return recorder

    def created(self, answer: dict[str, Any] | None) -> bool:
        """Record a create's answer (None: it never came back); whether the record is written. Written at
        once, never waiting on the records' lock: the record is new (a fresh id nobody else knows), and it
        is the only trace of a billed dream, which a kill -9 or a second Ctrl-C in a wait would lose."""
        record = new_record(store_id=self.store_id, answer=answer, sessions=self.sessions, model=self.model,
                            redactor=self.redactor, record_id=self.record_id)
        try:
            _write(self.ws, record)
        except OSError:
            return False
        self.record = record
        return True

    def seen(self, status: str) -> None:
        """A status the API gave (redacted): a failed or canceled dream is finished."""
        update(self.ws, self.record, status=status, finished=status in ENDED)

    def output(self, store_id: str) -> None:
        update(self.ws, self.record, output_store=self.redactor.redact_text(store_id))

    def proposal(self, dream_id: str) -> None:
        update(self.ws, self.record, status="completed", proposal=dream_id, finished=True)

    def unusable(self, line: str, status: str | None) -> None:
        """The create answered a dream dreamcli cannot use, which it then tried to cancel: `line` says what
        was wrong and how the cancel went, `status` is the one the cancel returned (None: it failed). Final
        once the cancel returned a final status; else unfinished, for `--refresh` to settle."""
        record = self.record
        if record is None:
            return
        prefix = f"cloud dream {record.cloud_dream_id}: "
        note = self.redactor.redact_text(" ".join(line.split()))
        note = note.removeprefix(prefix) if record.cloud_dream_id else note
        status = record.status if status is None else status
        update(self.ws, record, status=status, finished=status in ENDED, note=note)

    def noted(self, e: DreamError) -> DreamError:
        """`e`, its line saying where the dream is recorded while it is unfinished (and has an id)."""
        record = self.record
        if record is not None and record.cloud_dream_id is not None and not record.finished:
            e.args = (f"{e}; {record.unfinished_note()}", *e.args[1:])
        return e


def records_dir(ws: Workspace) -> Path:
    return ws.state_dir / "cloud" / "dreams"


def new_record(*, store_id: str, answer: dict[str, Any] | None, sessions: int, model: str,
               redactor: Redactor, record_id: str | None = None) -> DreamRecord:
    """The record of a create's answer (None: none came back), its values redacted with `redactor`."""
    shown = redactor.redact_obj(answer or {})
    dream_id, status = shown.get("id"), shown.get("status")
    return DreamRecord(record_id or new_ulid(), now_rfc3339(), redactor.redact_text(store_id),
                       dream_id if isinstance(dream_id, str) and answer is not None else None,
                       (status if isinstance(status, str) else "pending") if answer is not None else UNKNOWN,
                       sessions=sessions, model=redactor.redact_text(model))


def save(ws: Workspace, record: DreamRecord) -> bool:
    """Write the record (atomically, 0600) under the records' lock; whether it was written. Best effort: a
    held lock or a failed write leaves what is on disk, and the command goes on."""
    try:
        with workspace_lock(ws, LOCK_NAME, wait=10):
            _write(ws, record)
    except (LockHeld, OSError):
        return False
    return True


def refreshed(ws: Workspace, record: DreamRecord, *, status: str, output_store: str | None,
              finished: bool | None = None, note: str | None = None) -> DreamRecord:
    """The record with what the API says of it now (`finished`: default, a failed or canceled status; `note`:
    default, the one it has), written unless the record on disk is finished meanwhile (its `cloud dream`
    wrote the proposal): then that one, as it is. Best effort, as `save`."""
    done = status in ENDED if finished is None else finished
    try:
        with workspace_lock(ws, LOCK_NAME, wait=10):
            current = load(ws, record.record_id) or record
            said = current.note if note is None else note
            if current.finished or (current.status, current.output_store, current.finished, current.note) == (
                    status, output_store, done, said):
                return current
            current.status, current.output_store, current.note = status, output_store, said
            current.finished = done
            _write(ws, current)
            return current
    except (LockHeld, OSError):
        return record


def _write(ws: Workspace, record: DreamRecord) -> None:
    record.updated = now_rfc3339()
    ensure_dir(records_dir(ws))
    atomic_write_text(_path(ws, record.record_id), json.dumps(record.to_json(), ensure_ascii=False) + "\n")


def update(ws: Workspace, record: DreamRecord | None, **changes: Any) -> None:
    """Apply `changes` to the record and save it, when it changed (a record never written: nothing)."""
    if record is None or all(getattr(record, k) == v for k, v in changes.items()):
        return
    for key, value in changes.items():
        setattr(record, key, value)
    save(ws, record)


class Unreadable(Exception):
    """A file dreamcli cannot read as what it should hold: `path` and `problem` (a few words)."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path, self.problem = path, problem


def load(ws: Workspace, record_id: str) -> DreamRecord | None:
    try:
        return _loaded(_path(ws, record_id), record_id)
    except (Unreadable, FileNotFoundError):
        return None


def read_json(path: Path, limit: int) -> Any:
    """The JSON a regular file of at most `limit` bytes holds; None when it is missing, not a regular file (a
    FIFO is never waited on), larger, or not JSON."""
    try:
        return parsed_json(path, limit)
    except (Unreadable, FileNotFoundError):
        return None


def parsed_json(path: Path, limit: int) -> Any:
    """The JSON a regular file of at most `limit` bytes holds; FileNotFoundError when it is missing, else
    Unreadable saying why not (not a regular file: a FIFO is never waited on; larger; not JSON)."""
    try:
        with open_regular(path) as f:
            raw = f.read(limit + 1)
    except NotRegularFile:
        raise Unreadable(path, "not a regular file") from None
    except FileNotFoundError:
        raise
    except OSError as e:
        raise Unreadable(path, e.strerror or type(e).__name__) from None
    if len(raw) > limit:
        raise Unreadable(path, f"over {limit // 1024:,} KB")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise Unreadable(path, "not JSON") from None


def _loaded(path: Path, record_id: str) -> DreamRecord:
    record = _from_json(parsed_json(path, MAX_RECORD_BYTES), record_id)
    if record is None:
        raise Unreadable(path, "not a cloud dream record (a field is missing or of the wrong type)")
    return record


def load_all(ws: Workspace) -> tuple[list[DreamRecord], list[Unreadable]]:
    """Every readable record, and the cloud dreams of `dreams/` made before records were kept (finished:
    their proposal is written), newest first; and each record file that cannot be read, left as it is."""
    records: list[DreamRecord] = []
    unreadable: list[Unreadable] = []
    for path in sorted(_files(ws)):
        try:
            records.append(_loaded(path, path.stem))
        except Unreadable as e:
            unreadable.append(e)
        except FileNotFoundError:  # removed since the listing
            continue
    return distinct([*records, *_proposals(ws)]), unreadable


def distinct(records: list[DreamRecord]) -> list[DreamRecord]:
    """`records` newest first, without a dream listed from its proposal (`dreams/*/dream.json`) that a record
    names (or, once a refresh linked them, now names)."""
    known = {r.proposal for r in records if r.proposal and r.record_id != r.proposal}
    kept = [r for r in records if r.record_id != r.proposal or r.proposal not in known]
    return sorted(kept, key=lambda r: (r.created, r.record_id), reverse=True)


def proposal_of(ws: Workspace, cloud_dream_id: str) -> str | None:
    """The local proposal already written for the cloud dream (as shown: redacted), if any."""
    return next((r.proposal for r in _proposals(ws) if r.cloud_dream_id == cloud_dream_id), None)


def _path(ws: Workspace, record_id: str) -> Path:
    return records_dir(ws) / f"{record_id}.json"


def _files(ws: Workspace) -> list[Path]:
    try:
        return [p for p in records_dir(ws).iterdir() if p.suffix == ".json" and not p.name.startswith(".")]
    except OSError:
        return []


def _from_json(data: Any, record_id: str) -> DreamRecord | None:
    """A record as written; None when a field dreamcli needs is missing or of the wrong type."""
    if not isinstance(data, dict):
        return None
    created, store_id, status = (_text(data.get(k)) for k in ("created", "store_id", "status"))
    if created is None or store_id is None or status is None:
        return None
    sessions = data.get("sessions")
    return DreamRecord(record_id, created, store_id, _text(data.get("cloud_dream_id")), status,
                       sessions if isinstance(sessions, int) and not isinstance(sessions, bool) else 0,
                       _text(data.get("model")), _text(data.get("output_store")), _text(data.get("proposal")),
                       finished=data.get("finished") is True, updated=_text(data.get("updated")),
                       note=_text(data.get("note")))


def _proposals(ws: Workspace) -> list[DreamRecord]:
    """The cloud dreams `dreams/*/dream.json` records (`source: managed-agents`), as finished records."""
    out: list[DreamRecord] = []
    with contextlib.suppress(OSError):
        for folder in sorted(ws.dreams_dir.iterdir()) if ws.dreams_dir.is_dir() else []:
            record = _from_proposal(folder)
            if record is not None:
                out.append(record)
    return out


def _from_proposal(folder: Path) -> DreamRecord | None:
    info = read_json(folder / "dream.json", MAX_PROPOSAL_INFO_BYTES)
    cloud = info.get("cloud") if isinstance(info, dict) else None
    if not isinstance(cloud, dict) or not isinstance(cloud.get("input_store"), str):
        return None
    sessions = cloud.get("session_ids")
    return DreamRecord(folder.name, _text(info.get("created")) or "", cloud["input_store"],
                       _text(cloud.get("dream_id")), _text(cloud.get("status")) or "completed",
                       len(sessions) if isinstance(sessions, list) else 0, _text(cloud.get("model")),
                       _text(cloud.get("output_store")), folder.name, finished=True)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
