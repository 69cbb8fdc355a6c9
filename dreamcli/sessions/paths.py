"""Where session files live: sessions/YYYY/MM/DD/<id>.jsonl (date from the ULID), and finding them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from dreamcli.errors import UsageError
from dreamcli.ids import ulid_time_ms
from dreamcli.workspace.home import Workspace


def session_path(ws: Workspace, session_id: str) -> Path:
    try:
        day = datetime.fromtimestamp(ulid_time_ms(session_id) / 1000, UTC)
    except ValueError:
        day = datetime.now(UTC)
    return ws.sessions_dir / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}" / f"{session_id}.jsonl"


def remove_empty_day(ws: Workspace, folder: Path) -> None:
    """Remove the dated folder `folder` (sessions/YYYY/MM/DD) and its month and year folders while they are
    empty. os.rmdir only: it removes no file, and fails (ending this) on a folder another writer has put a file
    in; a writer that made the folder just before it was removed makes it again (fsutil.into_dir)."""
    root = ws.sessions_dir
    while folder != root and folder.is_relative_to(root):
        try:
            os.rmdir(folder)
        except OSError:
            return
        folder = folder.parent


def iter_session_files(ws: Workspace, *, newest_first: bool = False) -> Iterator[Path]:
    """Every session file, in id (= time) order. Cheap: directory listings only."""
    root = ws.sessions_dir
    if not root.is_dir():
        return

    def sorted_dirs(p: Path) -> list[str]:
        try:
            names = [e.name for e in os.scandir(p) if e.is_dir() and not e.name.startswith(".")]
        except OSError:
            return []
        return sorted(names, reverse=newest_first)

    for year in sorted_dirs(root):
        for month in sorted_dirs(root / year):
            for day in sorted_dirs(root / year / month):
                d = root / year / month / day
                try:
                    files = [e.name for e in os.scandir(d) if e.name.endswith(".jsonl") and e.is_file()]
                except OSError:
                    continue
                for name in sorted(files, reverse=newest_first):
                    yield d / name


def find_session(ws: Workspace, ident: str) -> Path:
    """A session file by full id or unique prefix (case-insensitive); UsageError otherwise."""
    ident = ident.strip()
    if not ident:
        raise UsageError("empty session id")
    if len(ident) == 26:
        direct = session_path(ws, ident.upper())
        if direct.exists():
            return direct
    want = ident.upper()
    matches = [p for p in iter_session_files(ws) if p.stem.upper().startswith(want)]
    if not matches:
        raise UsageError(f"no session matches {ident!r} in {ws.root}")
    if len(matches) > 1:
        shown = ", ".join(p.stem for p in matches[:5])
        more = f" and {len(matches) - 5} more" if len(matches) > 5 else ""
        raise UsageError(f"session id prefix {ident!r} is ambiguous: {shown}{more}")
    return matches[0]
