"""Issue 19: imported sessions reach the object store (`sessions: {url: s3://…}`, S3 served by moto on
127.0.0.1) and the session index, also when the import is killed between its audit record and the upload."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.sessions.paths import iter_session_files
from dreamcli.store.base import StoreFilter
from dreamcli.store.index import index_path, rebuild
from dreamcli.store.objects import ObjectStore
from dreamcli.workspace.home import Workspace
from tests.portability.support import make_workspace
from tests.store.conftest import moto_endpoint, s3_env  # noqa: F401 (fixtures)
from tests.support.paths import CLAUDE_CODE_SAMPLES


def _init(project: Path, url: str | None = None) -> Workspace:
    args = ["init", str(project)] + (["--sessions-url", url] if url else [])
    r = CliRunner().invoke(app, args, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    ws = Workspace(root=project / ".dreamcli", source="option")
    assert ws.config_path.exists()
    return ws


def _local(ws: Workspace) -> dict[str, bytes]:
    return {p.stem: p.read_bytes() for p in iter_session_files(ws)}


def _remote(url: str, ws: Workspace) -> dict[str, bytes]:
    store = ObjectStore(url, ws.sessions_dir)
    return {s.session_id: store.open(s.session_id).read() for s in store.list(StoreFilter(sealed=True))}


def test_imported_sessions_are_uploaded_sealed_and_indexed(tmp_path: Path, s3_env: str) -> None:  # noqa: F811
    ws = _init(tmp_path / "ws", s3_env)
    rebuild(ws)  # an index exists: imports must keep it current without a refresh
    r = CliRunner().invoke(app, ["--home", str(ws.root), "sessions", "import", "claude-code",
                                 str(CLAUDE_CODE_SAMPLES), "--json"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["sessions"] == 4
    local = _local(ws)
    assert len(local) == 4 and _remote(s3_env, ws) == local  # every file, whole, sealed
    with sqlite3.connect(index_path(ws)) as db:
        rows = {Path(p).stem for (p,) in db.execute("SELECT path FROM sessions WHERE listable = 1")}
    assert rows == set(local)


def test_a_kill_after_the_audit_record_is_uploaded_by_the_next_command(tmp_path: Path,
                                                                       s3_env: str) -> None:  # noqa: F811
    ws = _init(tmp_path / "ws", s3_env)
    env = dict(os.environ, DREAMCLI_CRASH_AT="sessions-import.audited")
    cli = [sys.executable, "-m", "dreamcli", "--home", str(ws.root)]
    killed = subprocess.run([*cli, "sessions", "import", "claude-code", str(CLAUDE_CODE_SAMPLES)], env=env,
                            capture_output=True, timeout=120)
    assert killed.returncode == -9
    local = _local(ws)
    assert len(local) == 4 and _remote(s3_env, ws) == {}  # in the workspace and audited, not uploaded
    env.pop("DREAMCLI_CRASH_AT")
    done = subprocess.run([*cli, "sessions", "list", "--json"], env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert _remote(s3_env, ws) == local
    audit = [json.loads(line) for line in ws.audit_path.read_text().splitlines()]
    assert sum(a.get("sessions", 0) for a in audit if a["action"] == "sessions-import") == 4  # audited once


def test_without_an_object_store_the_index_still_hears_of_imports(tmp_path: Path) -> None:
    ws = _init(tmp_path / "ws")
    rebuild(ws)
    r = CliRunner().invoke(app, ["--home", str(ws.root), "sessions", "import", "claude-code",
                                 str(CLAUDE_CODE_SAMPLES)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    with sqlite3.connect(index_path(ws)) as db:
        n = db.execute("SELECT COUNT(*) FROM sessions WHERE listable = 1").fetchone()[0]
    assert n == 4
    assert not (ws.logs_dir / "store.log").exists()


@pytest.mark.parametrize("workers", ["1", "2"])
def test_workers_option_is_accepted(tmp_path: Path, workers: str) -> None:
    ws = _init(tmp_path / "ws")
    r = CliRunner().invoke(app, ["--home", str(ws.root), "sessions", "import", "claude-code",
                                 str(CLAUDE_CODE_SAMPLES), "--workers", workers, "--json"], catch_exceptions=False)
    assert r.exit_code == 0 and json.loads(r.stdout)["sessions"] == 4


def test_sessions_of_an_imported_bundle_reach_the_store_and_the_index(tmp_path: Path,
                                                                     s3_env: str) -> None:  # noqa: F811
    source = make_workspace(tmp_path / "src")  # two playbooks, two sessions
    bundle = tmp_path / "b.tar.gz"
    r = CliRunner().invoke(app, ["--home", str(source.root), "export", "--include-sessions", "-o", str(bundle)],
                           catch_exceptions=False)
    assert r.exit_code == 0, r.output
    ws = _init(tmp_path / "ws", s3_env)
    rebuild(ws)
    r = CliRunner().invoke(app, ["--home", str(ws.root), "import", str(bundle)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    local = _local(ws)
    assert len(local) == 2 and _remote(s3_env, ws) == local
    with sqlite3.connect(index_path(ws)) as db:
        rows = {Path(p).stem for (p,) in db.execute("SELECT path FROM sessions WHERE listable = 1")}
    assert rows == set(local)
