"""`--html DIR` (an existing directory) is a usage error (exit 2, one line), as `grade --junit DIR` is,
not an internal error; nothing is written, not even the transcript pages beside it."""

from __future__ import annotations

from pathlib import Path

from typer.testing import Result

from dreamcli.sessions.paths import iter_session_files
from dreamcli.workspace.home import Workspace
from tests.support.playbooks import cli
from tests.support.review_html import review_workspace


def _refused(r: Result, target: Path) -> None:
    assert r.exit_code == 2, r.output
    assert r.stderr.strip() == f"error: --html {target}: a directory, not a regular file (give a file name)"


def test_diff_html_into_a_directory_is_refused(ws: Workspace, tmp_path: Path) -> None:
    review_workspace(ws)
    target = tmp_path / "realdir"
    target.mkdir()
    for extra in ([], ["--with-transcripts"]):
        _refused(cli(ws, "playbooks", "diff", "--html", str(target), *extra), target)
    assert list(target.iterdir()) == []
    assert not (tmp_path / f"{target.name}-transcripts").exists()


def test_sessions_show_html_into_a_directory_is_refused(ws: Workspace, tmp_path: Path) -> None:
    review_workspace(ws)
    sid = next(iter(iter_session_files(ws))).stem
    target = tmp_path / "realdir"
    target.mkdir()
    _refused(cli(ws, "sessions", "show", sid, "--html", str(target)), target)
    assert list(target.iterdir()) == []
