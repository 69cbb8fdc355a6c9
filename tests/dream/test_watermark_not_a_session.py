"""A stray object's name ("README.TXT") became a dream's watermark and every later session was skipped:
it sorts after every session id. The watermark only ever takes a session id (a ULID); one that is not
is set aside like any value no dream wrote (every session read again, into empty patterns: none counts
twice). S3 served by moto on 127.0.0.1."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.config import Config
from dreamcli.dream import stages
from dreamcli.dream.options import DreamOptions
from dreamcli.ids import ulid_at
from dreamcli.sessions.writer import SessionWriter
from dreamcli.store.base import StoreFilter, is_session_id
from dreamcli.store.objects import ObjectStore
from dreamcli.workspace.home import Workspace
from tests.store.conftest import moto_endpoint, s3_env  # noqa: F401 (fixtures)

runner = CliRunner()


def _init(root: Path, url: str | None) -> Workspace:
    args = ["--home", str(root), "init"] + (["--sessions-url", url] if url else [])
    r = runner.invoke(app, args, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return Workspace(root=root, source="option")


def _session(ws: Workspace, url: str | None, n: int) -> str:
    sid = ulid_at(int(time.time() * 1000) - 60_000 + n, bytes([n]) * 10)
    w = SessionWriter(ws, session_id=sid)
    w.start(task={"name": "contract", "prompt": "read the contract"}, model=None, workdir="/w")
    w.message("user", [{"type": "text", "text": "read the contract"}])
    w.end("completed", totals={"turns": 1})
    if url:
        ObjectStore(url, ws.sessions_dir).seal(sid)
    return sid


def _dream(root: Path) -> dict[str, Any]:
    r = runner.invoke(app, ["--home", str(root), "dream", "--offline", "--json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def _state(root: Path, name: str) -> dict[str, Any]:
    return json.loads((root / "state" / "dream" / "default" / name).read_text())


def test_a_watermark_that_is_no_session_id_is_set_aside(tmp_path: Path, s3_env: str) -> None:  # noqa: F811
    runner_ws = _init(tmp_path / "runner", s3_env)
    dreamer = tmp_path / "dreamer"
    _init(dreamer, s3_env)
    for n in range(3):
        _session(runner_ws, s3_env, n)
    assert _dream(dreamer)["inputs"]["sessions"] == 3
    seen = _state(dreamer, "aggregates.json")["sessions_seen"]
    path = dreamer / "state" / "dream" / "default" / "watermark.json"
    path.write_text(json.dumps({**_state(dreamer, "watermark.json"), "last_session_id": "README.TXT"}))
    newest = _session(runner_ws, s3_env, 7)
    r = runner.invoke(app, ["--home", str(dreamer), "dream", "--offline", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["inputs"]["sessions"] == 4  # every session again, not "nothing new" forever
    assert "README.TXT" in r.stderr and "is not a session id" in r.stderr  # said, as for any state set aside
    assert _state(dreamer, "aggregates.json")["sessions_seen"] == seen + 1  # into empty patterns: none twice
    assert _state(dreamer, "watermark.json")["last_session_id"] == newest
    assert _dream(dreamer)["status"] == "nothing_new"


def test_a_stray_object_in_the_bucket_never_becomes_the_watermark(tmp_path: Path,
                                                                   s3_env: str) -> None:  # noqa: F811
    runner_ws = _init(tmp_path / "runner", s3_env)
    dreamer = tmp_path / "dreamer"
    _init(dreamer, s3_env)
    first = _session(runner_ws, s3_env, 1)
    store = ObjectStore(s3_env, runner_ws.sessions_dir)
    day = store.key(first).rsplit("/", 1)[0]
    store.fs.pipe_file(f"{day}/README.TXT", b"notes\n")  # a stray object among the sessions of a day
    assert _dream(dreamer)["inputs"]["sessions"] == 1
    assert is_session_id(_state(dreamer, "watermark.json")["last_session_id"])
    _session(runner_ws, s3_env, 2)
    assert _dream(dreamer)["inputs"]["sessions"] == 1
    assert _dream(dreamer)["status"] == "nothing_new"


def test_selection_sets_a_stray_watermark_aside_in_a_local_workspace(tmp_path: Path) -> None:
    ws = _init(tmp_path / "w", None)
    ids = [_session(ws, None, n) for n in range(2)]
    assert _dream(ws.root)["inputs"]["sessions"] == 2
    path = ws.root / "state" / "dream" / "default" / "watermark.json"
    path.write_text(json.dumps({**_state(ws.root, "watermark.json"), "last_session_id": "README.TXT"}))
    sel = stages.select(ws, Config(), DreamOptions(offline=True))
    assert sel.mark.last_session_id is None and "README.TXT" in sel.set_aside[0]
    assert sorted(Path(str(p)).stem for p in sel.paths) == ids and sel.last_id == ids[-1]


def test_a_listing_after_a_watermark_holds_session_ids_only() -> None:
    after = ulid_at(1_700_000_000_000, b"\x01" * 10)
    flt = StoreFilter(after=after)
    assert not flt.accepts_id("README.TXT") and not flt.accepts_id("zzzz")
    assert flt.accepts_id(ulid_at(1_700_000_000_001, b"\x02" * 10))
    assert not is_session_id("README.TXT") and not is_session_id(None) and is_session_id(after.lower())


def test_the_cron_fast_path_leaves_a_stray_watermark_to_the_dream() -> None:
    from dreamcli.dream.state_schema import watermark_problem

    assert watermark_problem({"v": 1, "last_session_id": "README.TXT"}) is not None
    assert watermark_problem({"v": 1, "last_session_id": "01KFN1A0ECF0PSSJBTSAVQP1Y4"}) is None
    assert watermark_problem({"v": 1, "last_session_id": "01kfn1a0ecf0pssjbtsavqp1y4"}) is None
