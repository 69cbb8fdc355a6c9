"""Connecting SessionWriter to an object store: the writer keeps writing the local file (the crash-safe
buffer, and the local truth), and this sink uploads its whole lines as parts every N lines and at the
end. An upload that fails never fails the run: it is logged to state/logs/store.log and the lines wait
in the local file for the next upload (`ObjectStore.resume`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
        append_line(self.ws.logs_dir / "store.log",
                    f"{now_rfc3339()} {session_id} upload to {self.store.url} failed: {type(err).__name__}: {err}")


def session_sink(ws: Workspace, config: Config) -> UploadSink | None:
    """The sink for the workspace's configured store; None for the local directory (nothing to do)."""
    from dreamcli.store.url import is_local, open_store

    url = config.sessions.url
    if is_local(url):
        return None
    from dreamcli.store.objects import ObjectStore

    store = open_store(ws, url, part_lines=config.sessions.part_lines)
    assert isinstance(store, ObjectStore)
    return UploadSink(ws, store)
