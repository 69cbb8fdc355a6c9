"""The session index lists exactly what the scan lists, stays fresh without hooks, and is rebuilt by
`sessions reindex`."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.sessions.summary import SessionFilter, list_sessions
from dreamcli.sessions.writer import SessionWriter
from dreamcli.store.index import connect, index_path, list_summaries, rebuild
from dreamcli.store.tree import list_with_children
from dreamcli.testing.synthetic import GenConfig, generate
from dreamcli.workspace.home import Workspace

FILTERS = [SessionFilter(), SessionFilter(status="completed"), SessionFilter(task="contract-review"),
           SessionFilter(include_children=False), SessionFilter(since=datetime(2026, 11, 10, tzinfo=UTC)),
           SessionFilter(source="synthetic", status="error")]


def _ids(rows: object) -> list[str]:
    return [r.session_id for r in rows]  # type: ignore[attr-defined]


def test_the_index_lists_what_the_scan_lists(ws: Workspace) -> None:
    generate(ws, GenConfig(sessions=60, seed=3))
    assert rebuild(ws) == 60
    assert oct(index_path(ws).stat().st_mode & 0o777) == "0o600"
    for flt in FILTERS:
        scanned = [s.to_json() for s in list_sessions(ws, flt)]
        indexed = [s.to_json() for s in list_summaries(ws, flt)]
        assert indexed == scanned, flt
        assert [s.to_json() for s in list_summaries(ws, flt, newest_first=False)] == scanned[::-1]


def test_new_and_finished_sessions_appear_without_a_reindex(ws: Workspace) -> None:
    generate(ws, GenConfig(sessions=10, seed=1))
    rebuild(ws)
    w = SessionWriter(ws)
    w.start(task={"name": "late", "prompt": "p"}, model=None, workdir=None)
    [row] = [s for s in list_summaries(ws, SessionFilter(task="late"))]
    assert row.status == "incomplete"
    w.end("completed", totals={"turns": 3})
    [row] = [s for s in list_summaries(ws, SessionFilter(task="late"))]
    assert (row.status, row.turns) == ("completed", 3)
    os.unlink(w.path)
    assert list(list_summaries(ws, SessionFilter(task="late"))) == []
    assert _ids(list_summaries(ws, SessionFilter())) == _ids(list_sessions(ws, SessionFilter()))


def test_without_an_index_listing_scans(ws: Workspace) -> None:
    generate(ws, GenConfig(sessions=8, seed=2))
    index_path(ws).unlink(missing_ok=True)
    assert connect(ws) is None
    assert _ids(list_with_children(ws, SessionFilter(), 5)) == _ids(
        list_with_children(ws, SessionFilter(), 5))  # the scan path, unchanged
    assert not index_path(ws).exists()


def test_reindex_and_list_through_the_cli(ws: Workspace) -> None:
    generate(ws, GenConfig(sessions=12, seed=4))
    runner = CliRunner()
    scanned = runner.invoke(app, ["--home", str(ws.root), "sessions", "list", "--json", "--limit", "100"])
    result = runner.invoke(app, ["--home", str(ws.root), "sessions", "reindex", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["sessions"] == 12
    indexed = runner.invoke(app, ["--home", str(ws.root), "sessions", "list", "--json", "--limit", "100"])
    assert indexed.exit_code == 0 and json.loads(indexed.output) == json.loads(scanned.output)


def test_init_creates_the_index_and_records_a_sessions_url(tmp_path: object) -> None:
    runner = CliRunner()
    root = f"{tmp_path}/proj"
    os.makedirs(root)
    result = runner.invoke(app, ["init", root, "--sessions-url", "s3://fleet-bucket/sessions", "--json"])
    assert result.exit_code == 0, result.output
    ws = Workspace(root=__import__("pathlib").Path(root) / ".dreamcli", source="local")
    assert index_path(ws).exists()
    from dreamcli.config import load_config

    assert load_config(ws.config_path).sessions.url == "s3://fleet-bucket/sessions"
    bad = runner.invoke(app, ["init", f"{tmp_path}/other", "--sessions-url", "s3://AK:SK@bucket/x"])
    assert bad.exit_code == 2 and "credentials" in bad.output


def test_dream_selection_reads_the_index_and_lists_only_changed_days(ws: Workspace) -> None:
    from dreamcli.sessions.paths import iter_session_files
    from dreamcli.store.index import session_files

    generate(ws, GenConfig(sessions=20, seed=6))
    assert session_files(ws) is None  # no index: the caller scans
    rebuild(ws)
    before = index_path(ws).stat().st_mtime_ns
    assert session_files(ws) == list(iter_session_files(ws))
    w = SessionWriter(ws)  # today: a day directory the index has not seen
    w.start(task={"name": "t", "prompt": "p"}, model=None, workdir=None)
    w.end("completed")
    assert session_files(ws) == list(iter_session_files(ws))
    assert index_path(ws).stat().st_mtime_ns == before  # selection never writes (dry runs leave no trace)


def _age(root: object) -> None:
    """Every file and directory under `root` last modified long ago (the index trusts settled days)."""
    old = datetime(2026, 11, 1, tzinfo=UTC).timestamp()
    for d, dirs, files in os.walk(str(root)):
        for name in [*files, *dirs]:
            os.utime(os.path.join(d, name), (old, old))


def test_a_copied_or_moved_workspace_lists_its_own_files(ws: Workspace, tmp_path: object) -> None:
    """Rows hold absolute paths: a copy kept its original's (and `sessions show` read the original)."""
    import shutil
    from pathlib import Path

    from dreamcli.store.index import session_files

    generate(ws, GenConfig(sessions=4, seed=3))
    _age(ws.sessions_dir)
    rebuild(ws)
    assert {Path(s.path).parent.parent.parent.parent for s in list_summaries(ws, SessionFilter())} == {
        ws.sessions_dir}
    copy = Workspace(root=Path(str(tmp_path)) / "copy", source="option")
    shutil.copytree(ws.root, copy.root)  # file and directory times kept, as cp -a, tar and rsync -a do
    listed = [s.path for s in list_summaries(copy, SessionFilter())]
    assert len(listed) == 4 and all(p.startswith(str(copy.sessions_dir)) for p in listed), listed
    moved = Workspace(root=Path(str(tmp_path)) / "moved", source="option")
    os.rename(copy.root, moved.root)
    files = session_files(moved)  # the dream's selection reads the index without writing it
    assert files is None or all(str(p).startswith(str(moved.sessions_dir)) for p in files)
    listed = [s.path for s in list_summaries(moved, SessionFilter())]
    assert len(listed) == 4 and all(p.startswith(str(moved.sessions_dir)) for p in listed), listed
    files = session_files(moved)
    assert files is not None and len(files) == 4 and all(str(p).startswith(str(moved.sessions_dir)) for p in files)
