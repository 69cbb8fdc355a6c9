"""The local directory backend: sessions/YYYY/MM/DD/<id>.jsonl, exactly as SessionWriter writes it.

Sealed means the last line is a session.end (the local layout has no marker file and keeps none)."""

from __future__ import annotations

import builtins
import os
from pathlib import Path
from typing import BinaryIO

from dreamcli.sessions import schema
from dreamcli.sessions.paths import iter_session_files, session_path
from dreamcli.sessions.reader import read_last_event
from dreamcli.store.base import StoredSession, StoreFilter, check_line
from dreamcli.workspace.fsutil import open_append, sync_fd, write_all
from dreamcli.workspace.home import Workspace


class LocalStore:
    """Sessions in the workspace directory (the default backend)."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.url = ws.sessions_dir.as_uri()
        self._fds: dict[str, int] = {}

    def path(self, session_id: str) -> Path:
        return session_path(self.ws, session_id.upper())

    def append(self, session_id: str, line: bytes) -> None:
        check_line(line)
        sid = session_id.upper()
        fd = self._fds.get(sid)
        if fd is None:
            fd = self._fds[sid] = open_append(self.path(sid))
        write_all(fd, line)

    def seal(self, session_id: str) -> None:
        fd = self._fds.pop(session_id.upper(), None)
        if fd is None:
            return
        try:
            sync_fd(fd, self.path(session_id))
        finally:
            os.close(fd)

    def list(self, flt: StoreFilter | None = None) -> builtins.list[StoredSession]:
        flt = flt or StoreFilter()
        out: builtins.list[StoredSession] = []
        for path in iter_session_files(self.ws):
            sid = path.stem.upper()
            if not flt.accepts_id(sid):
                continue
            try:
                size = path.stat().st_size
            except OSError:
                continue
            item = StoredSession(sid, self._sealed(path), size, str(path))
            if flt.accepts(item):
                out.append(item)
        return out

    def _sealed(self, path: Path) -> bool:
        try:
            last = read_last_event(path)
        except OSError:
            return False
        return last is not None and last.get("type") == schema.SESSION_END

    def open(self, session_id: str) -> BinaryIO:
        try:
            return open(self.path(session_id), "rb")
        except FileNotFoundError:
            raise KeyError(session_id) from None

    def watermark(self) -> str | None:
        for path in iter_session_files(self.ws, newest_first=True):
            if self._sealed(path):
                return path.stem.upper()
        return None

    def close(self) -> None:
        for sid in list(self._fds):
            self.seal(sid)
