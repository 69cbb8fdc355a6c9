"""Sessions that arrive by import, and sessions waiting to upload, told to the layers above the session
log (docs/scaling.md).

- `Publisher` (`publisher`): the `on_commit` of an import (dreamcli.sessions, below dreamcli.store, takes
  it as a callback): called after each batch is moved in and audited, before its intent is closed, and
  again by the recovery of a batch a kill interrupted. The session index notes the rows, and with
  `sessions: {url: …}` in config.yaml each whole session file goes to the object store, sealed; a session
  the batch replaced (a grown transcript re-imported) replaces the store's copy of it. Both
  steps are idempotent and never fail the import: an upload that fails is logged to state/logs/store.log
  and the session waits to upload (the rest of that import waits too, rather than each paying for the
  same unreachable endpoint); `Publisher.finish` says how many, or sends what earlier commands left.
- `waiting_uploads` / `send_waiting`: the sessions with something the object store has not got yet (the
  upload journal `<buffer>/.uploads/`, dreamcli.store.sink), found from local files only; `send_waiting`
  sends them (`ObjectStore.resume`). `dreamcli doctor` counts them and `doctor --fix` sends them, as
  does the next `sessions import`."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dreamcli.sessions.paths import session_path
from dreamcli.timeutil import now_rfc3339
from dreamcli.workspace.fsutil import append_line
from dreamcli.workspace.home import Workspace

if TYPE_CHECKING:
    from dreamcli.config import Config
    from dreamcli.store.objects import ObjectStore

NOT_TRIED = "not tried: an earlier upload of this import failed"


@dataclass
class UploadReport:
    """What an import did with the object store (the `upload` field of `sessions import --json`)."""

    url: str
    not_uploaded: dict[str, str] = field(default_factory=dict)  # session id -> why, this import
    sent: int = 0  # sessions that waited (earlier imports, killed runs) and were sent now
    still_waiting: int = 0
    error: str = ""  # why those still wait

    def to_json(self) -> dict[str, Any]:
        why = next(iter(self.not_uploaded.values()), "") or self.error
        return {"url": self.url, "not_uploaded": len(self.not_uploaded), "sent_waiting": self.sent,
                "still_waiting": self.still_waiting, "error": why or None}

    def warning(self, fix: str = "dreamcli doctor --fix") -> str | None:
        """One stderr line when sessions are not in the bucket, else None."""
        if self.not_uploaded:
            return (f"{_n(len(self.not_uploaded), 'imported session')} not uploaded to {self.url} "
                    f"({next(iter(self.not_uploaded.values()))}); they wait in this workspace: `{fix}` sends them")
        if self.still_waiting:
            return (f"{_n(self.still_waiting, 'session')} still waiting to upload to {self.url} ({self.error}); "
                    f"`{fix}` sends them")
        return None

    def note(self) -> str | None:
        return f"sent {_n(self.sent, 'session')} that waited to upload to {self.url}" if self.sent else None


class Publisher:
    """The `on_commit` of an import into `ws` (its config read on first use when not given). `strict`
    refuses up front (UsageError, exit 2) a sessions.url a run refuses (a user, password or query in it,
    a driver not installed); otherwise such a URL is logged and the sessions stay local."""

    def __init__(self, ws: Workspace, config: Config | None = None, *, strict: bool = False) -> None:
        self.ws, self._config = ws, config
        self._store: ObjectStore | None = None
        self._ready = False
        self.report: UploadReport | None = None  # None: no sessions.url
        if strict:
            self._setup(strict=True)

    def _setup(self, *, strict: bool = False) -> None:
        from dreamcli.store.sink import upload_sink

        self._ready = True
        try:
            config = self._config
            if config is None:
                from dreamcli.config import load_config

                config = load_config(self.ws.config_path)
            if (config.sessions.url or "").strip():
                sink = upload_sink(self.ws, config)
                self._store = sink.store if sink is not None else None
                self.report = UploadReport(self._store.url) if self._store is not None else None
        except Exception as e:  # a bad config or a missing driver: the sessions stay local, and it is said
            if strict:
                raise
            append_line(self.ws.logs_dir / "store.log", f"{now_rfc3339()} imported sessions not uploaded: "
                                                        f"{type(e).__name__}: {e}")

    def __call__(self, session_ids: list[str], replaced: Sequence[str] = ()) -> None:
        """`session_ids` moved in; `replaced`: sessions whose file was replaced by another copy (a grown
        transcript re-imported), whose copy in the store is replaced too."""
        if not self._ready:
            self._setup()
        if self._store is not None:
            for sid in session_ids:
                self._upload(self._store, sid)
            for sid in replaced:
                self._upload(self._store, sid, replaced=True)
        note_sessions(self.ws, [session_path(self.ws, sid) for sid in [*session_ids, *replaced]])

    def _upload(self, store: ObjectStore, sid: str, *, replaced: bool = False) -> None:
        """Its parts not uploaded yet, then the sealed marker (idempotent). After one failure the rest of the
        import is only marked as waiting: each would pay for the same unreachable endpoint. A `replaced`
        session's journal first records that the store's copy is an earlier one (uploads.mark_stale, no
        request): whenever it is sent, that copy is removed and the file sent whole."""
        from dreamcli.store.uploads import mark_stale

        assert self.report is not None
        failed = self.report.not_uploaded
        try:
            if replaced:
                mark_stale(store.buffer_dir, sid.upper())
            if failed:
                store.mark_waiting(sid)  # its .uploads entry, not held: nothing sent, no file kept open
                why = NOT_TRIED
            else:
                store.seal(sid)
                return
        except Exception as e:
            why = _one_line(e)
        failed[sid.upper()] = why
        append_line(self.ws.logs_dir / "store.log", f"{now_rfc3339()} {sid} not uploaded to {store.url}: {why}")

    def finish(self) -> UploadReport | None:
        """After the import: let go of the sessions marked waiting; unless an upload of this import failed,
        send what earlier commands left waiting (no network call when nothing waits). None without a
        sessions.url."""
        if not self._ready:
            self._setup()
        if self._store is None or self.report is None:
            return None
        with contextlib.suppress(Exception):  # what it could not upload stays pending, as said
            self._store.close()
        if not self.report.not_uploaded:
            try:
                done = send_waiting(self.ws, self._store.url)
            except Exception as e:  # the import is done: what waits is said, not raised
                done = Sent(self._store.url, failed=waiting_uploads(self.ws, self._store.url).waiting,
                            error=_one_line(e))
            self.report.sent, self.report.still_waiting, self.report.error = \
                len(done.sent), len(done.failed), done.error
        return self.report


def publisher(ws: Workspace, config: Config | None = None, *, strict: bool = False) -> Publisher:
    """The `on_commit` of an import into `ws` (see Publisher)."""
    return Publisher(ws, config, strict=strict)


def note_sessions(ws: Workspace, paths: list[Path]) -> None:
    """The session index's rows of these files, upserted in one transaction; never raises."""
    from dreamcli.store.index import note_sessions as note

    note(ws, paths)


# --- sessions waiting to upload ---------------------------------------------------------------------

@dataclass
class Waiting:
    """Sessions not sealed in the store at `url` yet, as this machine's files tell."""

    url: str
    waiting: list[str] = field(default_factory=list)  # an upload failed, or its run was killed
    busy: list[str] = field(default_factory=list)  # a running dreamcli uploads them now

    def describe(self) -> str:
        busy = f"{_n(len(self.busy), 'session')} being uploaded by a running dreamcli" if self.busy else ""
        if not self.waiting:
            return busy
        return (f"{_n(len(self.waiting), 'session')} not all uploaded to {self.url} (an upload failed, or its run "
                f"was killed): the lines wait in sessions/" + (f"; {busy}" if busy else ""))


@dataclass
class Sent:
    url: str
    sent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    busy: list[str] = field(default_factory=list)
    error: str = ""  # why the failed ones failed (the first error)

    def describe(self) -> str:
        text = f"sent {_n(len(self.sent), 'session')} that waited to upload to {self.url}"
        if self.failed:
            text += f"; {len(self.failed)} still waiting: {self.error}"
        return text + (f"; {len(self.busy)} being uploaded by a running dreamcli" if self.busy else "")


def waiting_uploads(ws: Workspace, url: str) -> Waiting:
    """The sessions of `ws` with something to send to `url` (lines not in a part, or the sealed marker),
    from the upload journal (dreamcli.store.sink) and the files: no network call. A killed run's session
    whose every whole line is up waits for nothing (it is never sealed: its run never ended); its journal is
    dropped once its file has been idle for IDLE_S, as is the journal of a session whose file is gone (each
    only when no process holds it)."""
    from dreamcli.store.sink import PENDING, pending_ids
    from dreamcli.store.uploads import forget, idle

    out = Waiting(url)
    names = pending_ids(ws.sessions_dir)
    held = _flocked_inodes() if names else set()
    for sid in names:
        journal, path = ws.sessions_dir / PENDING / sid, session_path(ws, sid)
        try:
            inode = os.stat(journal).st_ino
            if inode in held:
                out.busy.append(sid)
            elif not path.exists():
                forget(ws.sessions_dir, sid)  # the session removed here: nothing left to send, ever
            elif _unsent(journal, path):
                out.waiting.append(sid)
            elif idle(path):
                forget(ws.sessions_dir, sid)  # a killed run's, all up long ago: nothing more will come
        except OSError:
            continue  # gone meanwhile (sealed), or the session removed here: nothing left to send
    return out


def _unsent(journal: Path, path: Path) -> bool:
    """Whether the session's file has whole lines past what its journal records as uploaded, or ended
    (`session.end`: the marker is due). OSError when the file is gone."""
    from dreamcli.store.sink import run_ended

    with open(path, "rb") as f:
        try:
            rec = json.loads(journal.read_bytes() or b"null")
            sent, sealed = max(0, int(rec["bytes"])), bool(rec.get("sealed"))
        except (ValueError, TypeError, KeyError, RecursionError):
            return True  # new, or cut short by a kill: the bucket's parts tell, at the next send
        f.seek(sent)
        if sealed or b"\n" in f.read():
            return True
    return run_ended(path)


def _flocked_inodes() -> set[int]:
    """Inodes of the files someone holds a flock on (Linux's /proc/locks; elsewhere none known)."""
    try:
        with open("/proc/locks", encoding="ascii", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return set()
    out = set()
    for line in lines:
        if " FLOCK " in line:
            for word in line.split():
                if word.count(":") == 2 and word.rsplit(":", 1)[1].isdigit():
                    out.add(int(word.rsplit(":", 1)[1]))
    return out


def send_waiting(ws: Workspace, url: str, *, part_lines: int | None = None,
                 progress: Callable[[int, int], None] | None = None) -> Sent:
    """Send the sessions waiting to upload (`ObjectStore.resume()`): no network call when none waits; a
    URL a run refuses raises UsageError; a failed upload is in `failed` and waits for the next send.
    `progress(done, total)` is told after each session tried."""
    if not waiting_uploads(ws, url).waiting:
        return Sent(url)
    from dreamcli.store.objects import ObjectStore
    from dreamcli.store.url import open_store

    store = open_store(ws, url, part_lines=part_lines)
    if not isinstance(store, ObjectStore):
        return Sent(url)
    done = store.resume(progress)
    errors = list(done.failed.values())
    return Sent(url, sent=list(done.sent), failed=list(done.failed), busy=list(done.busy),
                error=errors[0] if errors else "")


def _one_line(e: BaseException) -> str:
    from dreamcli.errors import DreamError

    text = " ".join(str(e).split())
    return (text if isinstance(e, DreamError) and text else f"{type(e).__name__}: {text}")[:300]


def _n(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
