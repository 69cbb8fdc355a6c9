"""The modules that fsync or write a file themselves (not through fsutil's atomic writes) name that file when the
disk fails under them: fsync(2), write(2) and a buffered file's flush report a full disk with no file name, and
the one line the CLI prints for it (exit 74) must say which file (docs/architecture.md, "Exit codes").

The fsyncs are failed in-process (tests/support/disk.py: a tmpfs never fails an fsync); the writes through a file
object fill a real small tmpfs (tests/support/mounts.py), where one is allowed."""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.errors import EXIT_IOERR
from dreamcli.ids import new_ulid
from dreamcli.workspace.home import Workspace
from tests.support.disk import HAS_PROC_FD
from tests.support.mounts import fill, tmpfs

pytestmark = pytest.mark.skipif(not HAS_PROC_FD, reason="the simulated disk reads /proc/self/fd")

LINE = b'{"type":"session.start"}\n'


def _arrivals(ws: Workspace, sid: str) -> Path:
    from dreamcli.sessions.arrivals import arrivals_path, record_arrivals

    ws.state_dir.mkdir(parents=True, exist_ok=True)
    record_arrivals(ws, [sid], source="test")
    return arrivals_path(ws)


def _audit(ws: Workspace, sid: str) -> Path:
    from dreamcli.audit_chain import append_chained

    append_chained(ws, {"action": "test", "session_id": sid})
    return ws.audit_path


def _session_close(ws: Workspace, sid: str) -> Path:
    from dreamcli.sessions.paths import session_path
    from dreamcli.sessions.writer import SessionWriter

    writer = SessionWriter(ws, session_id=sid)
    writer.write("message", role="user", content="hi")
    writer.close()
    return session_path(ws, sid)


def _local_seal(ws: Workspace, sid: str) -> Path:
    from dreamcli.store.local import LocalStore

    store = LocalStore(ws)
    store.append(sid, LINE)
    store.seal(sid)
    return store.path(sid)


def _object_seal(ws: Workspace, sid: str) -> Path:
    from dreamcli.store.objects import ObjectStore

    bucket = ws.root.parent / "bucket"
    bucket.mkdir(exist_ok=True)
    store = ObjectStore(bucket.as_uri(), ws.sessions_dir)
    store.append(sid, LINE)
    store.seal(sid)
    return store.buffer_path(sid)


def _bundle_put(ws: Workspace, sid: str) -> Path:
    from dreamcli.portability.import_install import put as _put

    src = ws.state_dir / "staged.md"
    src.parent.mkdir(parents=True, exist_ok=True)
    src.write_text("x")
    _put(src, ws.playbooks_dir / "x.md")
    return src


def _import_fsync(ws: Workspace, sid: str) -> Path:
    from dreamcli.sessions.importers.runner import _fsync

    staged = ws.state_dir / "import-staging" / f"{sid}.jsonl"
    staged.parent.mkdir(parents=True, exist_ok=True)
    staged.write_bytes(LINE)
    _fsync(staged)
    return staged


# each site: the call, which returns the file it syncs (what the error must name)
SITES: dict[str, Callable[[Workspace, str], Path]] = {
    "sessions/arrivals": _arrivals, "audit_chain": _audit, "sessions/writer close": _session_close,
    "store/local seal": _local_seal, "store/objects seal": _object_seal, "portability/import_install put": _bundle_put,
    "sessions/importers/runner _fsync": _import_fsync,
}


def _fsync_fails(monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
    """fsync(2) of any file under `root` fails as on a full disk (ENOSPC, no file named); writes still work."""
    real, under = os.fsync, os.path.realpath(root) + os.sep

    def fsync(fd: int) -> None:
        if os.path.realpath(f"/proc/self/fd/{fd}").startswith(under):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)


@pytest.mark.parametrize("site", list(SITES))
def test_an_fsync_that_fails_names_its_file(site: str, ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    call, sid = SITES[site], new_ulid()
    with monkeypatch.context() as m:
        _fsync_fails(m, ws.root)
        with pytest.raises(OSError) as caught:
            call(ws, sid)
    assert caught.value.errno == errno.ENOSPC
    synced = call(ws, sid)  # with a disk that works: the file the failed call was syncing
    assert caught.value.filename == str(synced), f"{site}: the error names {caught.value.filename!r}"


@pytest.mark.parametrize("room", [0, 16 << 10], ids=["full", "room-for-the-watermark-only"])
def test_a_dream_whose_state_folder_is_full_names_the_state_file(demo: Path, tmp_path: Path, no_model: None,
                                                                 room: int) -> None:
    """The dream's aggregates are streamed through a file object: its flush on a full disk named no file, and
    the error was swallowed, so a watermark that still fitted was published without them (exit 0)."""
    home = demo
    assert CliRunner().invoke(app, ["--home", str(home), "dream", "--offline"]).exit_code == 0
    state = home / "state" / "dream" / "default"
    saved = tmp_path / "saved"
    shutil.move(state, saved)  # to be copied onto the tmpfs mounted in its place
    with tmpfs(state, "size=64k") as mnt:
        shutil.copytree(saved, mnt, dirs_exist_ok=True)
        fill(mnt, room)
        r = CliRunner().invoke(app, ["--home", str(home), "dream", "--offline", "--all"], env={"NO_COLOR": "1"})
        leftovers = sorted(p.name for p in mnt.iterdir())
    assert r.exit_code == EXIT_IOERR, r.output
    [line] = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert line.startswith(f"error: no space left on device (writing {state}{os.sep}"), line
    assert f"{os.sep}aggregates.json)" in line, line
    assert leftovers == ["aggregates.json", "filler", "watermark.json"]  # nothing staged is left behind


def test_a_bundle_written_to_a_full_disk_names_it_and_leaves_no_temp(tmp_path: Path) -> None:
    from dreamcli.portability.bundle_io import TarSink

    with tmpfs(tmp_path / "mnt", "size=64k") as mnt:
        fill(mnt, 8 << 10)  # room for the temp file's first pages, not for all
        out = mnt / "bundle.tar.gz"
        sink = TarSink(out)
        with pytest.raises(OSError) as caught:
            try:
                sink.add("sessions/a.jsonl", os.urandom(32 << 10))  # random: gzip cannot shrink it
                sink.close()
            except BaseException:
                sink.abort()
                raise
        left = sorted(p.name for p in mnt.iterdir())
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(out)
    assert left == ["filler"]
