"""`dream --workers N` counts in its progress bar the bytes every worker has read, as each chunk is done: this
process runs chunks from the back of the list while the pool runs them from the front, and the bar counted a
chunk only at its turn to be merged, so it sat at half the real progress and jumped at the end. Here the pool
is held on its first chunk until the bar has moved: it moves only if the chunks read here count at once."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from dreamcli.dream import scan
from dreamcli.dream.aggregates import Aggregates
from dreamcli.dream.executors import LocalExecutor, use_executor
from dreamcli.dream.selection import PlaybookScope
from dreamcli.workspace.home import Workspace
from tests.dream.test_deferred_sessions_teach_nothing import NOW, T0, Log

HELD_S = 5.0  # how long the pool waits for the bar at most (the map ends either way)
_scan_chunk = scan._scan_chunk
_GATE: dict[str, Any] = {}  # set before the pool forks: the file that lets it go, and this process's id


def held_chunk(*args: Any) -> Any:
    """The scan of a chunk; in a pool process, only once the gate file exists (or HELD_S have passed)."""
    if os.getpid() != _GATE["pid"]:
        deadline = time.monotonic() + HELD_S
        while not _GATE["file"].exists() and time.monotonic() < deadline:
            time.sleep(0.02)
    return _scan_chunk(*args)


def test_the_bar_counts_the_chunks_read_here_before_the_pools_turn(ws: Workspace, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    paths = [Log(ws, T0 + i * 60_000).finish().path for i in range(12)]
    total = sum(p.stat().st_size for p in paths)
    gate = tmp_path / "gate"
    monkeypatch.setitem(_GATE, "file", gate)
    monkeypatch.setitem(_GATE, "pid", os.getpid())
    monkeypatch.setattr(scan, "_scan_chunk", held_chunk)
    seen: list[tuple[int, bool]] = []  # (bytes done, the pool still held)

    def progress(phase: str, done: int, of: int) -> None:
        assert phase == "read" and of == total
        seen.append((done, not gate.exists()))
        gate.touch()  # the bar moved: the pool may go on

    t0 = time.monotonic()
    with use_executor(LocalExecutor(2)):
        read, stats = scan.scan_files(paths, Aggregates(), playbook="default", scope=PlaybookScope("default"),
                                      now=NOW, progress=progress)
    assert len(read.ids) == 12 and stats.bytes == total
    assert time.monotonic() - t0 < HELD_S, f"the pool waited {HELD_S} s for the bar in vain: {seen}"
    assert seen[0][1] and 0 < seen[0][0] < total, seen  # moved while the pool was held on chunk 0
    dones = [done for done, _ in seen]
    assert dones == sorted(dones) and dones[-1] == total, seen
