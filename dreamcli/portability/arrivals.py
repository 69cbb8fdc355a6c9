"""Sessions that arrive by import, told to the layers above the session log (docs/scaling.md): the
session index notes their rows, and with `sessions: {url: …}` in config.yaml each whole session file goes
to the object store, sealed. The importers (dreamcli.sessions, below dreamcli.store) take this as their
`on_commit` callback: called after each batch is moved in and audited, before its intent is closed, and
again by the recovery of a batch a kill interrupted, so a session never stays local only. Both steps are
idempotent (a sealed session is not uploaded twice; a row is upserted) and never fail the import: an
upload error is logged to state/logs/store.log, an index error to state/logs/index.log."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from dreamcli.sessions.paths import session_path
from dreamcli.timeutil import now_rfc3339
from dreamcli.workspace.fsutil import append_line
from dreamcli.workspace.home import Workspace

if TYPE_CHECKING:
    from dreamcli.config import Config
    from dreamcli.store.sink import UploadSink


def publisher(ws: Workspace, config: Config | None = None) -> Callable[[list[str]], None]:
    """The `on_commit` of an import into `ws` (its config read on first use when not given)."""
    uploads: list[UploadSink | None] = []

    def publish(session_ids: list[str]) -> None:
        if not uploads:
            uploads.append(_upload_sink(ws, config))
        sink = uploads[0]
        if sink is not None:
            for sid in session_ids:
                sink.sealed(sid)  # uploads what is not uploaded yet, then the sealed marker; never raises
        note_sessions(ws, [session_path(ws, sid) for sid in session_ids])

    return publish


def _upload_sink(ws: Workspace, config: Config | None) -> UploadSink | None:
    from dreamcli.store.sink import upload_sink

    try:
        if config is None:
            from dreamcli.config import load_config

            config = load_config(ws.config_path)
        return upload_sink(ws, config)
    except Exception as e:  # a bad config or a missing driver: the sessions stay local, and it is said
        append_line(ws.logs_dir / "store.log", f"{now_rfc3339()} imported sessions not uploaded: "
                                               f"{type(e).__name__}: {e}")
        return None


def note_sessions(ws: Workspace, paths: list[Path]) -> None:
    """The session index's rows of these files, upserted in one transaction; never raises."""
    from dreamcli.store.index import note_sessions as note

    note(ws, paths)
