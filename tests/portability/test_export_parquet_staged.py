"""`export sessions --format parquet DIR` writes the dataset whole or not at all (docs/portability.md): it
is written into a sibling staging folder and renamed onto DIR only when complete, `--force` replacing an
old dataset only then. Ctrl-C, a failing write or kill -9 leave DIR as it was (absent, or the old
dataset), and the next export sweeps what a killed one left beside DIR."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from dreamcli.portability.staged_dir import aside_path, staging_path
from dreamcli.sessions.paths import iter_session_files
from dreamcli.sessions.reader import iter_events
from dreamcli.testing.synthetic import GenConfig, generate
from dreamcli.workspace.home import Workspace
from tests.portability.support import cli, tree

pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow is not installed (pip install '.[parquet]')")

# A real `dreamcli` process whose second partition write stalls (after it wrote it), so that a signal
# lands mid-export every time: argv = ready-file, then the dreamcli arguments.
STALLING = """
import sys, time, pathlib
import pyarrow.parquet as pq
real, ready, done = pq.write_table, pathlib.Path(sys.argv[1]), []
def write_table(*args, **kwargs):
    real(*args, **kwargs)
    done.append(1)
    if len(done) == 2:
        ready.write_text("2 partitions written")
        time.sleep(60)
pq.write_table = write_table
from dreamcli.cli.app import main
sys.argv = ["dreamcli", *sys.argv[2:]]
main()
"""


@pytest.fixture
def sessions(ws: Workspace) -> Workspace:
    generate(ws, GenConfig(sessions=12, seed=3, days=5, size_kb=1.0))
    return ws


@pytest.fixture
def out(tmp_path: Path) -> Path:
    (tmp_path / "exports").mkdir()
    return tmp_path / "exports" / "lake"


def _days(ws: Workspace) -> list[str]:
    return sorted({f"date={p.parent.parent.parent.name}-{p.parent.parent.name}-{p.parent.name}"
                   for p in iter_session_files(ws)})


def _old_dataset(ws: Workspace, out: Path) -> dict[str, bytes]:
    """An earlier dataset at `out`, unlike what an export writes now (so a partition replaced shows)."""
    for day in [*_days(ws), "date=2000-01-01"]:
        (out / day).mkdir(parents=True)
        (out / day / "part-0.parquet").write_bytes(b"old " + day.encode())
    return tree(out)


def _beside(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name != out.name)


def _whole(ws: Workspace, out: Path) -> None:
    """`out` is the complete dataset: every event of every session, one partition per day, nothing else."""
    assert pq.read_table(out).num_rows == sum(len(list(iter_events(p))) for p in iter_session_files(ws))
    assert sorted(p.name for p in out.iterdir()) == _days(ws)


def _export(ws: Workspace, out: Path, *extra: str) -> Any:
    return cli(ws.root, "export", "sessions", "--format", "parquet", str(out), *extra)


def _stalled(ws: Workspace, out: Path, tmp_path: Path, sig: int, *extra: str) -> subprocess.CompletedProcess[str]:
    """Run the export in a process of its own, send it `sig` once two partitions are written; its pid is
    the CompletedProcess's `args[0]`."""
    ready = tmp_path / "ready"
    args = ["--home", str(ws.root), "export", "sessions", "--format", "parquet", str(out), *extra]
    proc = subprocess.Popen([sys.executable, "-c", STALLING, str(ready), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not ready.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert ready.exists(), proc.communicate(timeout=30)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=30)
    return subprocess.CompletedProcess([proc.pid], proc.returncode, stdout, stderr)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.mark.parametrize(("sig", "code", "line"), [(signal.SIGINT, 130, "error: interrupted\n"),
                                                  (signal.SIGTERM, 143, "error: interrupted by SIGTERM\n")],
                         ids=["ctrl-c", "sigterm"])
@pytest.mark.parametrize("old", [False, True], ids=["no-target", "old-dataset-force"])
def test_ctrl_c_mid_export_leaves_the_target_as_it_was(sessions: Workspace, out: Path, tmp_path: Path,
                                                      old: bool, sig: int, code: int, line: str) -> None:
    """SIGTERM as Ctrl-C, with its own exit code (it was killed on the spot, the staging folder left)."""
    before = _old_dataset(sessions, out) if old else None
    done = _stalled(sessions, out, tmp_path, sig, *(["--force"] if old else []))
    assert done.returncode == code and done.stderr == line, done
    if old:
        assert tree(out) == before
    else:
        assert not out.exists()
    assert _beside(out) == []  # the staging folder went with the interrupt


@pytest.mark.parametrize("old", [False, True], ids=["no-target", "old-dataset-force"])
def test_kill_9_mid_export_leaves_the_target_and_the_next_export_sweeps_its_leftovers(
        sessions: Workspace, out: Path, tmp_path: Path, old: bool) -> None:
    before = _old_dataset(sessions, out) if old else None
    force = ["--force"] if old else []
    done = _stalled(sessions, out, tmp_path, signal.SIGKILL, *force)
    assert done.returncode == -signal.SIGKILL
    if old:
        assert tree(out) == before
    else:
        assert not out.exists()
    assert _beside(out) == [staging_path(out, done.args[0]).name]  # what kill -9 left
    r = _export(sessions, out, *force)  # without --force too when there was no target before
    assert r.exit_code == 0, r.output
    _whole(sessions, out)
    assert _beside(out) == []


@pytest.mark.parametrize("old", [False, True], ids=["no-target", "old-dataset-force"])
def test_a_write_that_fails_mid_export_leaves_the_target_as_it_was(
        sessions: Workspace, out: Path, old: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _old_dataset(sessions, out) if old else None
    real, calls = pq.write_table, []

    def failing(*args: Any, **kwargs: Any) -> None:
        calls.append(1)
        if len(calls) == 3:
            # as pyarrow reports a full disk: no file named (the one line names DIR), exit 74
            raise OSError(errno.ENOSPC, "Error writing bytes to file. Detail: [errno 28] No space left on device")
        real(*args, **kwargs)

    monkeypatch.setattr(pq, "write_table", failing)
    r = _export(sessions, out, *(["--force"] if old else []))
    assert r.exit_code == 74 and r.stderr.count("\n") == 1, r.output
    assert r.stderr.startswith(f"error: no space left on device (writing {out}): free some space") and len(calls) == 3
    if old:
        assert tree(out) == before
    else:
        assert not out.exists()
    assert _beside(out) == []


def test_force_replaces_a_target_with_a_file_in_the_way_only_once_the_new_dataset_is_whole(
        sessions: Workspace, out: Path) -> None:
    out.mkdir()
    (out / _days(sessions)[2]).write_text("in the way\n")  # a file where a partition folder goes
    r = _export(sessions, out)
    assert r.exit_code == 2 and "exists and is not empty" in r.stderr and r.stderr.count("\n") == 1, r.output
    r = _export(sessions, out, "--force")
    assert r.exit_code == 0, r.output
    _whole(sessions, out)  # the old content replaced as a whole, the file in the way with it
    assert _beside(out) == []


def test_a_killed_swap_puts_the_old_dataset_back_and_a_live_export_is_left_alone(
        sessions: Workspace, out: Path) -> None:
    before = _old_dataset(sessions, out)
    dead = _dead_pid()
    os.rename(out, aside_path(out, dead))  # killed after moving the old dataset aside, before moving in
    staging_path(out, dead).mkdir()
    (staging_path(out, dead) / "date=2000-01-01").mkdir()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        staging_path(out, live.pid).mkdir()  # another export, still running, into the same folder
        r = _export(sessions, out)
        assert r.exit_code == 2 and "exists and is not empty" in r.stderr, r.output
        assert tree(out) == before
        assert _beside(out) == [staging_path(out, live.pid).name]
    finally:
        live.kill()
        live.wait()


def test_a_symlink_target_is_refused_and_kept(sessions: Workspace, out: Path, tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    out.symlink_to(real)
    for extra in ([], ["--force"]):
        r = _export(sessions, out, *extra)
        assert r.exit_code == 2 and "symbolic link" in r.stderr and r.stderr.count("\n") == 1, r.output
        assert out.is_symlink() and list(real.iterdir()) == [] and _beside(out) == []


def test_force_never_replaces_what_is_not_a_dataset(sessions: Workspace, out: Path) -> None:
    """--force replaces a dataset's partitions; a folder that also holds the user's other files is refused
    before anything is written, and keeps them."""
    before = _old_dataset(sessions, out)
    (out / "notes.txt").write_text("mine\n")
    r = _export(sessions, out, "--force")
    assert r.exit_code == 2 and "'notes.txt'" in r.stderr and r.stderr.count("\n") == 1, r.output
    assert (out / "notes.txt").read_text() == "mine\n" and _beside(out) == []
    assert {k: v for k, v in tree(out).items() if not k.startswith("notes")} == before


@pytest.mark.parametrize("name", [".", "..", "sub/.."])
def test_the_current_directory_is_refused_before_anything_is_written(
        sessions: Workspace, out: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    (out / "sub").mkdir(parents=True)
    monkeypatch.chdir(out / "sub" if name == ".." else out)
    r = _export(sessions, Path(name))
    assert r.exit_code == 2 and "current directory" in r.stderr and r.stderr.count("\n") == 1, r.output
    assert sorted(p.name for p in out.iterdir()) == ["sub"] and _beside(out) == []
