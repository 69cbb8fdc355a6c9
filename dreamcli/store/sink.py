"""What a run's SessionWriter tells the layers above it (`session_sink`): the session index, and the
object store when one is configured.

- The index: when the writer seals its session, its row is upserted (`dreamcli.store.index_notes.note_session`),
  so listings find it without re-listing its day directory. A busy or broken index never fails the run.
- Object storage: the writer keeps writing the local file (the crash-safe buffer, and the local truth),
  and the upload sink sends its whole lines as parts every N lines and at the end. An upload that fails
  never fails the run: it is logged to state/logs/store.log and the lines wait in the local file for the
  next upload (`ObjectStore.resume`). `on_wait(True)` and `on_wait(False)` around each upload let the run's
  view say that it waits for the session store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from dreamcli.errors import DreamError
from dreamcli.store.uploads import PENDING as PENDING  # the upload journal lives in uploads.py; re-exported
from dreamcli.store.uploads import Resumed as Resumed
from dreamcli.store.uploads import pending_ids as pending_ids
from dreamcli.store.uploads import run_ended as run_ended
from dreamcli.timeutil import now_rfc3339
from dreamcli.workspace.fsutil import append_line
from dreamcli.workspace.home import Workspace

if TYPE_CHECKING:
    from dreamcli.config import Config
    from dreamcli.store.objects import ObjectStore


class UploadSink:
    """A SessionWriter sink (`appended`, `sealed`) that mirrors the session into an ObjectStore."""

    def __init__(self, ws: Workspace, store: ObjectStore) -> None:
        self.ws = ws
        self.store = store

    def opened(self, session_id: str, path: Path) -> None:
        try:
            self.store.opened(session_id)  # a new, empty buffer: nothing of it is uploaded yet
        except Exception as e:
            self._log(session_id, e)

    def appended(self, session_id: str) -> None:
        try:
            self.store.appended(session_id)
        except Exception as e:  # the local line is safe; the upload is retried later
            self._log(session_id, e)

    def sealed(self, session_id: str) -> None:
        try:
            self.store.seal(session_id)
        except Exception as e:
            self._log(session_id, e)

    def _log(self, session_id: str, err: Exception) -> None:
        why = str(err) if isinstance(err, DreamError) else f"{self.store.url}: {type(err).__name__}: {err}"
        append_line(self.ws.logs_dir / "store.log", f"{now_rfc3339()} {session_id} upload failed: {why}")


class SessionSink:
    """The sink of a run's writer: passes every line and the seal on to the upload sink (object storage,
    when configured), then notes the sealed session in the session index."""

    def __init__(self, ws: Workspace, upload: UploadSink | None = None) -> None:
        self.ws = ws
        self.upload = upload
        self._paths: dict[str, Path] = {}

    def opened(self, session_id: str, path: Path) -> None:
        self._paths[session_id] = path
        if self.upload is not None:
            self.upload.opened(session_id, path)

    def appended(self, session_id: str) -> None:
        if self.upload is not None:
            self.upload.appended(session_id)

    def sealed(self, session_id: str) -> None:
        try:
            if self.upload is not None:
                self.upload.sealed(session_id)  # Ctrl-C or SIGTERM may cut it short: the index notes it still
        finally:
            path = self._paths.pop(session_id, None)
            if path is not None:
                from dreamcli.store.index_notes import note_session

                note_session(self.ws, path)  # never raises


def upload_state(sink: object, session_id: str) -> str | None:
    """What became of a sealed session's upload (`run --json`'s `upload`): "sealed" in the store, or "pending"
    while its journal waits (`doctor --fix` sends it); None without object storage."""
    if not isinstance(sink, SessionSink) or sink.upload is None:
        return None
    return "pending" if (sink.upload.store.buffer_dir / PENDING / session_id.upper()).exists() else "sealed"


def upload_sink(ws: Workspace, config: Config, on_wait: Callable[[bool], None] | None = None) -> UploadSink | None:
    """The upload sink for the workspace's configured store (`on_wait`: told when an upload starts and
    ends); None for the local directory."""
    from dreamcli.store.url import is_local, open_store

    url = config.sessions.url
    if is_local(url):
        return None
    from dreamcli.store.objects import ObjectStore

    store = open_store(ws, url, part_lines=config.sessions.part_lines)
    assert isinstance(store, ObjectStore)
    store.on_upload = on_wait
    return UploadSink(ws, store)


def session_sink(ws: Workspace, config: Config, on_wait: Callable[[bool], None] | None = None) -> SessionSink:
    """The sink of a run's SessionWriter: the session index, and the configured object store if any."""
    return SessionSink(ws, upload_sink(ws, config, on_wait))
