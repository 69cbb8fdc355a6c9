"""A bundle import's install step: the staged files of each changed playbook moved into the workspace, one
os.replace per file (its new history versions first, then its live file), each durable before the next
(dreamcli.portability.importer; docs/portability.md for what an interrupted import leaves)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from dreamcli.audit import content_hash
from dreamcli.errors import InputError
from dreamcli.faults import crashpoint
from dreamcli.playbooks.store import HISTORY_DIGITS, HISTORY_FILE_RE, ConcurrentChange, read_text
from dreamcli.portability.import_outcome import PlaybookOutcome
from dreamcli.workspace.fsutil import ensure_dir, sync_fd
from dreamcli.workspace.home import Workspace


def install(ws: Workspace, stage: Workspace, changed: list[PlaybookOutcome],
             installed: Callable[[PlaybookOutcome], None],
             intend: Callable[[PlaybookOutcome, list[int]], None]) -> None:
    """Move the staged files of each changed playbook into the workspace, one os.replace per file,
    one playbook at a time: its new history versions first, then its live file, then `installed`.
    Checked first: the live files and history are still what was staged from (the lock keeps
    dreamcli out; this catches a hand edit meanwhile)."""
    moves: dict[str, list[tuple[Path, Path]]] = {}
    for p in changed:
        if content_hash(read_text(ws.playbooks_dir / f"{p.name}.md")) != p.hash_before:
            raise ConcurrentChange(f"playbook {p.name} changed while the import was prepared; try again")
        moves[p.name] = _history_moves(ws, stage, p)
    for p in changed:
        intend(p, [int(dst.stem[1:]) for _src, dst in moves[p.name]])
        for src, dst in moves[p.name]:
            put(src, dst)
        crashpoint("bundle.history")
        put(stage.playbooks_dir / f"{p.name}.md", ws.playbooks_dir / f"{p.name}.md")
        crashpoint("bundle.live")
        installed(p)


def _history_moves(ws: Workspace, stage: Workspace, p: PlaybookOutcome) -> list[tuple[Path, Path]]:
    """The staged history files of `p` to move in (those not in the workspace yet). InputError, before
    anything moves, for a staged file whose name is not a history version's unless the workspace has it
    already, and for a version the import records (the new live one, those it kept) that would not be
    in the workspace's history afterwards."""
    moves = []
    staged = stage.playbook_history_dir / p.name
    for f in sorted(staged.glob("v*.md")) if staged.is_dir() else []:
        dst = ws.playbook_history_dir / p.name / f.name
        if dst.exists():
            if dst.read_bytes() != f.read_bytes():
                raise ConcurrentChange(f"{dst} changed while the import was prepared; try again")
        elif not HISTORY_FILE_RE.fullmatch(f.name):
            raise InputError(f"playbook {p.name}: cannot keep {f.name} in its history (not v<N>.md with N of at "
                             f"most {HISTORY_DIGITS} digits); nothing was installed", file=str(dst))
        else:
            moves.append((f, dst))
    for v in sorted({*p.kept, *([p.version_after] if p.version_after is not None else [])}):
        dst = ws.playbook_history_dir / p.name / f"v{v}.md"
        if not HISTORY_FILE_RE.fullmatch(dst.name) or not (dst.exists() or any(d == dst for _s, d in moves)):
            raise InputError(f"playbook {p.name}: version {v} was not staged in its history; nothing was "
                             "installed", file=str(dst))
    return moves


def put(src: Path, dst: Path) -> None:
    """Replace `dst` by `src` atomically and durably (data on disk before the rename, the rename on
    disk before returning)."""
    fd = os.open(src, os.O_RDONLY)
    try:
        sync_fd(fd, src)
    finally:
        os.close(fd)
    ensure_dir(dst.parent)
    os.replace(src, dst)
    dfd = os.open(dst.parent, os.O_RDONLY)
    try:
        sync_fd(dfd, dst.parent)
    finally:
        os.close(dfd)
