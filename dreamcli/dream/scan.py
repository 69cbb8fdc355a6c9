"""Scanning many session files, on every core when there is enough to read.

Files are split into contiguous chunks (in id order, so a lead and its sub-agents mostly land
together); each worker process scans its chunks into its own `Aggregates`, which the main process
merges, then resolves episodes across chunk boundaries (a sub-agent scanned without its lead)."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from dreamcli.dream.aggregates import Aggregates
from dreamcli.dream.signals import Scope, SessionInfo, scan_session
from dreamcli.sessions.reader import ReadStats

PARALLEL_MIN_BYTES = 32 * 1024 * 1024  # below this, starting processes costs more than it saves
CHUNK_BYTES = 16 * 1024 * 1024
Progress = Callable[[str, int, int], None]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def workers_for(total_bytes: int) -> int:
    if total_bytes < PARALLEL_MIN_BYTES:
        return 1
    env = os.environ.get("DREAMCLI_DREAM_WORKERS")
    if env and env.isdigit():
        return max(1, int(env))
    return max(1, min(os.cpu_count() or 1, 8))


def scan_files(files: list[Path], agg: Aggregates, *, playbook: str, scope: Scope, now: datetime,
               progress: Progress | None = None) -> tuple[dict[str, SessionInfo], ReadStats]:
    """Scan `files` into `agg`; returns what was learned per session and the read statistics."""
    sizes = [_size(p) for p in files]
    total = sum(sizes)
    workers = workers_for(total)
    stats = ReadStats()
    infos: dict[str, SessionInfo] = {}
    if workers == 1:
        for i, path in enumerate(files):
            info = scan_session(path, agg, playbook=playbook, stats=stats, scope=scope, now=now)
            if info is not None:
                infos[info.session_id] = info
            if progress is not None and (i % 25 == 0 or i == len(files) - 1):
                progress("read", stats.bytes, total)
        return infos, stats
    chunks = _chunks(files, sizes, max(CHUNK_BYTES, total // (workers * 4) + 1))
    known = set(agg.episodes) | set(agg.parents)
    done = 0
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(_scan_chunk, chunk, playbook, scope, now, known) for chunk in chunks]
        for fut in futures:  # in order, so merges are deterministic
            part, part_infos, part_stats = fut.result()
            agg.merge(part)
            infos.update(part_infos)
            stats.add(part_stats)
            done += part_stats.bytes
            if progress is not None:
                progress("read", done, total)
    roots = agg.resolve_episodes()
    if roots:
        for sid, info in infos.items():
            if info.episode in roots:
                infos[sid] = replace(info, episode=roots[info.episode])
    return infos, stats


def _chunks(files: list[Path], sizes: list[int], target: int) -> list[list[Path]]:
    chunks: list[list[Path]] = [[]]
    acc = 0
    for path, size in zip(files, sizes, strict=True):
        if acc >= target and chunks[-1]:
            chunks.append([])
            acc = 0
        chunks[-1].append(path)
        acc += size
    return [c for c in chunks if c]


def _scan_chunk(files: list[Path], playbook: str, scope: Scope, now: datetime, known: set[str]
                ) -> tuple[Aggregates, dict[str, SessionInfo], ReadStats]:
    agg = Aggregates(known=known)  # leads scanned earlier: their sub-agents belong to them
    stats = ReadStats()
    infos: dict[str, SessionInfo] = {}
    for path in files:
        info = scan_session(path, agg, playbook=playbook, stats=stats, scope=scope, now=now)
        if info is not None:
            infos[info.session_id] = info
    agg.known = set()
    return agg, infos, stats
