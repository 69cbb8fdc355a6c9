"""A grown transcript re-imported into a workspace with `sessions.url` (docs/importers.md, "Importing again"):
the replacement reaches the bucket whole and sealed, in place of the first import's copy, also when the
import is killed between the move and the upload, when the store is down during the replacement, and when
an upload is cut off after the first import's objects were removed. S3 is moto on 127.0.0.1; "down" is a
closed port of 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.portability.arrivals import Publisher
from dreamcli.sessions.importers.runner import import_transcripts
from dreamcli.store import uploads
from dreamcli.store.base import StoreFilter
from dreamcli.store.objects import ObjectStore
from dreamcli.store.uploads import mark_stale
from dreamcli.workspace.home import Workspace
from tests.sessions.test_import_grown import claude_lines, stored, write
from tests.store.conftest import _free_port, moto_endpoint, s3_env  # noqa: F401 (fixtures)
from tests.store.test_conformance import line, sid


def _init(root: Path, url: str) -> Workspace:
    r = CliRunner().invoke(app, ["init", str(root), "--sessions-url", url], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return Workspace(root=root / ".dreamcli", source="option")


def _remote(url: str) -> dict[str, bytes]:
    """Every sealed session of the bucket, read back from its parts."""
    store = ObjectStore(url, Path(os.devnull))
    return {s.session_id: store.open(s.session_id).read() for s in store.list(StoreFilter(sealed=True))}


def _import(ws: Workspace, src: Path) -> dict[str, Any]:
    r = CliRunner().invoke(app, ["--home", str(ws.root), "sessions", "import", "claude-code", str(src), "--json"],
                           catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return dict(json.loads(r.stdout))


@pytest.fixture
def grown(tmp_path: Path, s3_env: str) -> tuple[Workspace, Path, Path]:  # noqa: F811
    """A workspace whose incomplete session is in the bucket, and its transcript, grown since."""
    ws = _init(tmp_path / "proj", s3_env)
    lines = claude_lines()
    path = write(tmp_path / "src" / "grow-1.jsonl", lines[:2])
    assert _import(ws, tmp_path / "src")["sessions"] == 1
    assert _remote(s3_env) == stored(ws)
    write(path, lines)
    return ws, tmp_path / "src", path


def test_the_replacement_is_uploaded_in_place_of_the_first_copy(grown: tuple[Workspace, Path, Path],
                                                                s3_env: str) -> None:  # noqa: F811
    ws, src, _path = grown
    first = _remote(s3_env)
    data = _import(ws, src)
    assert (data["updated"], data["upload"]["not_uploaded"]) == (1, 0), data
    assert _remote(s3_env) == stored(ws) != first  # whole and sealed: the bucket's copy is the new one
    again = _import(ws, src)  # nothing grew since: nothing sent again
    assert (again["updated"], again["upload"]["sent_waiting"]) == (0, 0)
    assert _remote(s3_env) == stored(ws)


def test_a_kill_between_the_replacement_and_its_upload_is_uploaded_by_the_next_command(
        grown: tuple[Workspace, Path, Path], s3_env: str) -> None:  # noqa: F811
    ws, src, _path = grown
    first = _remote(s3_env)
    cli = [sys.executable, "-m", "dreamcli", "--home", str(ws.root)]
    env = dict(os.environ, DREAMCLI_CRASH_AT="sessions-import.audited")
    killed = subprocess.run([*cli, "sessions", "import", "claude-code", str(src)], env=env, capture_output=True,
                            timeout=120)
    assert killed.returncode == -9
    assert _remote(s3_env) == first != stored(ws)  # replaced here, not yet in the bucket
    env.pop("DREAMCLI_CRASH_AT")
    done = subprocess.run([*cli, "sessions", "list", "--json"], env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert _remote(s3_env) == stored(ws)


def test_a_replacement_the_store_was_down_for_is_sent_whole_later(
        grown: tuple[Workspace, Path, Path], s3_env: str, moto_endpoint: str,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    ws, src, _path = grown
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{_free_port()}")
    data = _import(ws, src)
    assert (data["updated"], data["upload"]["not_uploaded"]) == (1, 1), data
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    later = _import(ws, src)  # sends what waits: the whole new file, never its tail after the old copy's bytes
    assert later["upload"]["sent_waiting"] == 1, later
    assert _remote(s3_env) == stored(ws)


class Killed(BaseException):  # like SIGKILL: no handler catches it
    pass


def test_an_upload_cut_off_after_the_old_copy_was_removed_is_finished_by_the_next_import(
        grown: tuple[Workspace, Path, Path], s3_env: str, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    ws, src, _path = grown

    def die(*_a: Any, **_k: Any) -> None:
        raise Killed()

    with monkeypatch.context() as m:
        m.setattr(ObjectStore, "_put", die)  # the first PUT of the replacement: the old objects are gone
        with pytest.raises(Killed):
            import_transcripts(ws, "claude-code", src, workers=1, on_commit=Publisher(ws))
    assert _remote(s3_env) == {}
    again = import_transcripts(ws, "claude-code", src, workers=1, on_commit=Publisher(ws))
    assert again.updated == 0
    assert _remote(s3_env) == stored(ws)


def test_a_removal_cut_off_part_way_is_started_over_by_the_next_upload(
        ws: Workspace, s3_env: str, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """The store layer alone: an earlier copy in three parts, sealed; the local file replaced by a longer one;
    a resume cut off after removing one object leaves the journal stale, and the next one removes the rest."""
    a = sid(0)
    store = ObjectStore(s3_env, ws.sessions_dir, part_lines=2)
    for n in range(5):
        store.append(a, line(a, n))
    store.seal(a)
    path = store.buffer_path(a)
    assert _parts(s3_env, a) == [f"part-00000{n}.jsonl" for n in range(3)] + ["sealed.json"]
    path.write_bytes(b"".join(line(a, n, "session.start" if n == 0 else "message") for n in range(7))
                     + line(a, 7, "session.end"))
    mark_stale(ws.sessions_dir, a)
    real = uploads.call
    removed: list[str] = []

    def cut(fs: Any, bound: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "rm_file":
            if removed:
                raise Killed()
            removed.append(args[0])
        return real(fs, bound, name, *args, **kwargs)

    with monkeypatch.context() as m:
        m.setattr(uploads, "call", cut)
        with pytest.raises(Killed):
            ObjectStore(s3_env, ws.sessions_dir).resume()
    assert _parts(s3_env, a) == [f"part-00000{n}.jsonl" for n in range(3)]  # the marker went first
    done = ObjectStore(s3_env, ws.sessions_dir).resume()
    assert done.sent == [a] and _parts(s3_env, a) == ["part-000000.jsonl", "sealed.json"]
    assert _remote(s3_env) == {a: path.read_bytes()}


def _parts(url: str, session_id: str) -> list[str]:
    store = ObjectStore(url, Path(os.devnull))
    return sorted(n.rsplit("/", 1)[-1] for n in store.fs.ls(store.key(session_id), refresh=True))
