"""Where the dream's map reads each session: a local file (a path), or, when the workspace's sessions live
in object storage (`sessions.url`, docs/scaling.md), the bucket itself, named by (store URL, session id)
so that a pool process or a Ray worker on another machine reads it with no local copy."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from dreamcli.sessions.reader import LINE_BUFFER
from dreamcli.store.base import StoreFilter, is_session_id
from dreamcli.workspace.home import Workspace


@dataclass(frozen=True)
class StoreRef:
    """A session in object storage: read with `dreamcli.store.objects.open_session(url, session_id)`."""

    url: str
    session_id: str
    size: int = 0  # bytes uploaded, as listed (to balance the map's chunks)

    @property
    def stem(self) -> str:
        return self.session_id.upper()


Source = str | Path | StoreRef


def open_source(source: Source) -> BinaryIO:
    """The session's lines as a binary stream. KeyError when the bucket has no such session."""
    if isinstance(source, StoreRef):
        from dreamcli.store.objects import open_session

        return open_session(source.url, source.session_id)
    return open(source, "rb", buffering=LINE_BUFFER)


def source_size(source: Source) -> int:
    if isinstance(source, StoreRef):
        return source.size
    try:
        return os.stat(source).st_size
    except OSError:
        return 0


def source_id(source: Source) -> str:
    """The session id a source holds (its file's stem)."""
    if isinstance(source, StoreRef):
        return source.stem
    if isinstance(source, Path):
        return source.stem.upper()
    name = os.path.basename(source)
    return (name[:-6] if name.endswith(".jsonl") else os.path.splitext(name)[0]).upper()


class Bucket:
    """The workspace's object store as the dream's selection sees it: what it lists, and which source
    to read for each session (the bucket's copy, unless this machine holds more of it locally)."""

    def __init__(self, ws: Workspace, url: str) -> None:
        from dreamcli.store.objects import ObjectStore

        self.store = ObjectStore(url, ws.sessions_dir)
        self.sizes: dict[str, int] = {}

    def list(self, flt: StoreFilter) -> list[StoreRef]:
        """The sessions listed: session ids only (a stray object, "README.TXT", is no session)."""
        refs = [StoreRef(self.store.url, s.session_id.upper(), s.size) for s in self.store.list(flt)
                if is_session_id(s.session_id)]
        self.sizes.update((r.session_id, r.size) for r in refs)
        return refs

    def ref(self, session_id: str) -> StoreRef:
        sid = session_id.upper()
        return StoreRef(self.store.url, sid, self.sizes.get(sid, 0))

    def prefer(self, path: Path) -> Path | StoreRef:
        """The bucket's copy of a local session file when it has every byte of it, else the file."""
        sid = path.stem.upper()
        size = self.sizes.get(sid)
        return path if size is None or source_size(path) > size else self.ref(sid)


def merge_listed(files: list[Path], listed: list[StoreRef]) -> list[Path | StoreRef]:
    """Local files (in id order) and the sessions the bucket listed, one source per id, in id order."""
    have = {p.stem.upper() for p in files}
    out: list[Path | StoreRef] = [*files, *(r for r in listed if r.session_id not in have)]
    return sorted(out, key=source_id)
