"""The workdir part of a pilot's plan key (`workdir_fingerprint`): special files are counted by type and
name and never opened (a FIFO would block for good), the workspace home is left out when it lies in the
workdir (the pilot's own logs are no changed condition), a file past the byte budget counts by its size,
head and tail (not its mtime), and the walk is bounded in entries too."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest

from dreamcli.config import load_config
from dreamcli.pilot.api import prepare
from dreamcli.pilot.plan import WORKDIR_HASH_BYTES, WORKDIR_PART_BYTES, workdir_fingerprint
from dreamcli.testing import FakeAnthropic
from tests.pilot.helpers import DREAM, run_pilot_api, scripted_agent, seed_workspace, write_task

GUARD_S = 30  # only a guard so that a regression fails instead of hanging the suite


def _fingerprint_in_thread(root: Path, fifo: Path) -> str:
    """workdir_fingerprint(root) in a thread; should it block on `fifo`, unblock it and fail."""
    out: list[str] = []
    th = threading.Thread(target=lambda: out.append(workdir_fingerprint(root)), daemon=True)
    th.start()
    th.join(GUARD_S)
    if th.is_alive():  # opened the FIFO: give it a writer that closes at once, so the thread ends
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        th.join(GUARD_S)
        pytest.fail("workdir_fingerprint blocked opening a FIFO")
    return out[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_fifo_counts_by_type_and_name_and_is_never_opened(tmp_path: Path) -> None:
    root = tmp_path / "w"
    root.mkdir()
    (root / "a.txt").write_text("one")
    plain = workdir_fingerprint(root)
    fifo = root / "events.pipe"
    os.mkfifo(fifo)
    first = _fingerprint_in_thread(root, fifo)
    assert first == _fingerprint_in_thread(root, fifo) != plain  # stable, and the pipe is part of it
    fifo.rename(root / "other.pipe")
    renamed = _fingerprint_in_thread(root, root / "other.pipe")
    assert renamed not in (first, plain)
    (root / "other.pipe").unlink()
    (root / "other.pipe").write_bytes(b"")  # a regular file of that name is not the pipe
    assert workdir_fingerprint(root) not in (renamed, first, plain)


def test_the_home_in_the_workdir_is_left_out(tmp_path: Path) -> None:
    root = tmp_path / "project"
    home = root / ".dreamcli"
    (home / "sessions").mkdir(parents=True)
    (root / "src.py").write_text("print(1)\n")
    base = workdir_fingerprint(root, skip=home)
    (tmp_path / "alias").symlink_to(root)
    assert base == workdir_fingerprint(root, skip=tmp_path / "alias" / ".dreamcli")  # by its real path
    (home / "sessions" / "s1.jsonl").write_text('{"type": "session.start"}\n')  # what a trial writes
    (home / "state").mkdir()
    assert workdir_fingerprint(root, skip=home) == base
    assert workdir_fingerprint(root) != workdir_fingerprint(root, skip=home)  # without skip it counts
    (tmp_path / "empty").mkdir()
    assert workdir_fingerprint(home, skip=home) == workdir_fingerprint(tmp_path / "empty")  # the home itself
    (root / "src.py").write_text("print(2)\n")  # the rest of the workdir still counts
    assert workdir_fingerprint(root, skip=home) != base


def test_a_pilot_with_its_home_in_the_workdir_resumes(fake_anthropic: FakeAnthropic, ws, tmp_path: Path) -> None:
    assert ws.root.parent == tmp_path  # the home lies in the task's workdir, `.` below
    seed_workspace(ws)
    task = write_task(tmp_path)
    task.write_text(task.read_text().replace("workdir: contract-review-work", "workdir: ."))
    fake_anthropic.responder = scripted_agent(1.0, 0.0)
    first = run_pilot_api(ws, task, trials=1)  # writes sessions, journal and state into the workdir
    again = prepare(ws, load_config(ws.config_path), [task], DREAM, trials=1)
    assert (again.pilot_id, again.resumed, again.warnings) == (first["pilot_id"], 2, [])


def _plan_key(ws: Any, task: Path) -> str:
    return str(prepare(ws, load_config(ws.config_path), [task], DREAM, trials=1).plan.plan_key)


def test_a_touched_file_past_the_budget_keeps_the_plan(ws, tmp_path: Path) -> None:
    seed_workspace(ws)
    task = write_task(tmp_path)
    big = tmp_path / "contract-review-work" / "corpus.bin"
    with open(big, "wb") as f:  # sparse: past the 64 MiB budget without writing 64 MiB
        f.truncate(WORKDIR_HASH_BYTES + 1)
    key = _plan_key(ws, task)
    os.utime(big, ns=(1_000_000_000, 1_000_000_000))  # same bytes, new mtime: a checkout, a copy, touch
    assert _plan_key(ws, task) == key
    with open(big, "r+b") as f:  # a change in the tail counts
        f.seek(WORKDIR_HASH_BYTES - 10)
        f.write(b"changed")
    os.utime(big, ns=(1_000_000_000, 1_000_000_000))
    assert _plan_key(ws, task) != key


def test_past_the_budget_size_head_and_tail_count_not_the_mtime(tmp_path: Path) -> None:
    root = tmp_path / "w"
    root.mkdir()
    (root / "a.txt").write_text("first")  # hashed whole, using up the budget
    big = root / "big.bin"
    size = 3 * WORKDIR_PART_BYTES
    big.write_bytes(b"x" * size)
    base = workdir_fingerprint(root, budget=5)
    os.utime(big, ns=(7, 7))
    assert workdir_fingerprint(root, budget=5) == base  # the mtime does not count
    for at, counts in ((0, True), (size - 1, True), (size // 2, False)):  # head, tail; not the middle
        data = bytearray(b"x" * size)
        data[at] = ord("y")
        big.write_bytes(bytes(data))
        os.utime(big, ns=(7, 7))
        assert (workdir_fingerprint(root, budget=5) != base) is counts, at
    big.write_bytes(b"x" * (size + 1))
    assert workdir_fingerprint(root, budget=5) != base  # the size does
    big.write_bytes(b"x" * size)
    assert workdir_fingerprint(root, budget=5) == base


def test_the_walk_stops_after_max_entries(tmp_path: Path) -> None:
    root = tmp_path / "w"
    root.mkdir()
    for name in "abcde":
        (root / f"{name}.txt").write_text(name)
    three = workdir_fingerprint(root, max_entries=3)
    assert three == workdir_fingerprint(root, max_entries=3) != workdir_fingerprint(root)
    (root / "e.txt").write_text("changed")  # past the third entry (sorted): not looked at
    assert workdir_fingerprint(root, max_entries=3) == three
    (root / "a.txt").write_text("changed")
    assert workdir_fingerprint(root, max_entries=3) != three
    assert workdir_fingerprint(root, max_entries=5) != workdir_fingerprint(root, max_entries=4)


def test_a_trials_copy_leaves_out_the_home_and_special_files(tmp_path: Path) -> None:
    """What the fingerprint leaves out is not copied into a trial's workdir either: a named pipe would
    block the copy, and the workspace's own logs and state are no input of the task."""
    import shutil
    from types import SimpleNamespace

    from dreamcli.pilot.runner import _fresh_workdir

    src = tmp_path / "w"
    (src / "docs").mkdir(parents=True)
    (src / "docs" / "a.txt").write_text("input")
    (src / "link").symlink_to("docs/a.txt")
    os.mkfifo(src / "pipe")
    home = src / ".dreamcli"
    (home / "sessions").mkdir(parents=True)
    (home / "sessions" / "s.jsonl").write_text("{}\n")
    ref = SimpleNamespace(task=SimpleNamespace(spec=SimpleNamespace(workdir=src)))
    work = _fresh_workdir(ref, home)  # type: ignore[arg-type]
    try:
        assert sorted(p.name for p in work.iterdir()) == ["docs", "link"]
        assert (work / "docs" / "a.txt").read_text() == "input" and (work / "link").is_symlink()
    finally:
        shutil.rmtree(work.parent)
