"""Which sessions a dream reads: the ones not yet dreamed for this playbook (after the watermark, plus
those deferred because they were still running), or an explicit selection (--since, --session,
--task, --all). Listing is cheap: day directories before the watermark are never opened (in a bucket,
none before the watermark's lookback: see `Watermark.lookback_after`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from dreamcli.dream.signals import is_trial
from dreamcli.dream.sources import Bucket, StoreRef, merge_listed, source_id
from dreamcli.dream.watermark import Watermark
from dreamcli.ids import ulid_time_ms
from dreamcli.sessions.arrivals import read_since
from dreamcli.sessions.paths import find_session, iter_session_files, session_path
from dreamcli.store.base import StoreFilter, is_session_id
from dreamcli.textnorm import nfc, same_name
from dreamcli.workspace.home import Workspace


def _dirs(path: Path) -> list[str]:
    try:
        return sorted(e.name for e in os.scandir(path) if e.is_dir() and not e.name.startswith("."))
    except OSError:
        return []


def new_session_files(ws: Workspace, mark: Watermark, bucket: Bucket | None = None) -> list[Path | StoreRef]:
    """Session files after the watermark (in id order), then sessions that arrived out of id order
    (imports), then the deferred ones that still exist. With sessions in object storage (`bucket`), the
    sessions it lists join the first part and are read from the bucket: those after the watermark, and
    those that reached it late (ids up to Watermark.LOOKBACK_MS older than the watermark, other than
    the ones already dreamed: `mark.recent`). Only session ids (ULIDs) are listed incrementally."""
    from dreamcli.store.index import session_files  # the session index; a directory scan without one

    if mark.last_session_id is None:
        indexed = session_files(ws)
        files = indexed if indexed is not None else list(iter_session_files(ws))
    else:
        last = mark.last_session_id.upper()
        wm = session_path(ws, last)
        wm_day = (wm.parent.parent.parent.name, wm.parent.parent.name, wm.parent.name)
        files = []
        root = ws.sessions_dir
        for y in _dirs(root):
            if y < wm_day[0]:
                continue
            for m in _dirs(root / y):
                if (y, m) < wm_day[:2]:
                    continue
                for d in _dirs(root / y / m):
                    if (y, m, d) < wm_day:
                        continue
                    folder = root / y / m / d
                    try:
                        names = sorted(e.name for e in os.scandir(folder) if e.name.endswith(".jsonl"))
                    except OSError:
                        continue
                    files.extend(folder / n for n in names if n[:-6].upper() > last and is_session_id(n[:-6]))
    listed = bucket.list(StoreFilter(after=mark.lookback_after())) if bucket is not None else []
    if mark.last_session_id is not None:  # without one every session is read again, into empty patterns
        dreamed = set(mark.recent)
        listed = [r for r in listed if r.session_id not in dreamed]
    found: list[Path | StoreRef] = merge_listed(files, listed) if bucket is not None else list(files)
    seen = {source_id(p) for p in found}
    arrived, offset, digest = read_since(ws, mark.arrivals_offset, mark.arrivals_digest)
    mark.arrivals_next = (offset, digest)
    for sid in arrived:  # imported with older ids than the watermark: new to the dream all the same
        path = session_path(ws, sid)
        if sid not in seen and path.exists():
            seen.add(sid)
            found.append(path)
    for sid in mark.deferred:
        path = session_path(ws, sid)
        if sid.upper() not in seen and path.exists():
            found.append(path)
        elif sid.upper() not in seen and bucket is not None:
            found.append(bucket.ref(sid))  # read from the bucket if it is there (a missing one is skipped)
    return found if bucket is None else [bucket.prefer(p) if isinstance(p, Path) else p for p in found]


def selected_files(ws: Workspace, *, since: datetime | None, session_ids: list[str],
                   bucket: Bucket | None = None) -> list[Path | StoreRef]:
    """An explicit selection: the named sessions (full id or unique prefix, found locally), or everything
    since a time (with sessions in object storage, what the bucket lists too)."""
    if session_ids:
        paths = [find_session(ws, ident) for ident in session_ids]
        return sorted(set(paths), key=lambda p: p.stem)
    out = []
    cutoff = since.timestamp() * 1000 if since is not None else None
    from dreamcli.store.index import session_files

    indexed = session_files(ws)
    for path in indexed if indexed is not None else iter_session_files(ws):
        if cutoff is not None:
            try:
                if ulid_time_ms(path.stem) < cutoff:
                    continue
            except ValueError:
                pass
        out.append(path)
    if bucket is None:
        return list(out)
    listed = merge_listed(out, bucket.list(StoreFilter(since=since)))
    return [bucket.prefer(p) if isinstance(p, Path) else p for p in listed]


@dataclass(frozen=True)
class PlaybookScope:
    """Which sessions belong to playbook `name`: those that had it in context, those its front matter
    `scope` (tasks, tags) names, or, for a playbook without a scope, every session not bound to
    another playbook. `task` (--task) narrows further. Never a trial (`is_trial`: a pilot trial, a run
    --with-proposal, or a sub-agent of one), whatever it had in context. Picklable, for parallel scanning."""

    name: str
    tasks: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    task: str | None = None

    def __call__(self, start: dict[str, Any]) -> bool:
        if is_trial(start):
            return False
        t = start.get("task")
        task_name = t.get("name") if isinstance(t, dict) else None
        if self.task is not None and not same_name(task_name, self.task):
            return False
        bound = [pb.get("playbook") for pb in start.get("playbooks") or [] if isinstance(pb, dict)]
        if self.name in bound:
            return True
        if self.tasks or self.tags:
            named = task_name is not None and nfc(task_name) in self.tasks  # scope names are kept in NFC
            return named or bool(self.tags.intersection(str(x) for x in start.get("tags") or []))
        return not bound


def make_scope(name: str, playbook: Any, task: str | None) -> PlaybookScope:
    scope = playbook.scope if playbook is not None else {}
    if not isinstance(scope, dict):
        scope = {}
    return PlaybookScope(name, frozenset(nfc(str(t)) for t in scope.get("tasks") or []),
                         frozenset(str(t) for t in scope.get("tags") or []), task)
