"""`playbooks diff --html FILE --json` (and `--html - --json`; `sessions show` the same) is a usage
error (exit 2, one line), as `export -o - --json` is: before, the --json was silently dropped (nothing
on stdout, or HTML on stdout where JSON was asked for). Nothing is written."""

from __future__ import annotations

from pathlib import Path

from dreamcli.sessions.paths import iter_session_files
from dreamcli.workspace.home import Workspace
from tests.support.playbooks import cli
from tests.support.review_html import DREAM, review_workspace


def test_diff_html_file_with_json_is_refused(ws: Workspace, tmp_path: Path) -> None:
    review_workspace(ws)
    page = tmp_path / "review.html"
    for dream in ([], [DREAM]):
        r = cli(ws, "playbooks", "diff", *dream, "--html", str(page), "--json")
        assert r.exit_code == 2, r.output
        assert r.stdout == "" and r.stderr.count("\n") == 1
        assert "--json" in r.stderr and "--html" in r.stderr and "use one" in r.stderr
        assert not page.exists()


def test_diff_html_to_stdout_with_json_is_refused(ws: Workspace) -> None:
    review_workspace(ws)
    r = cli(ws, "playbooks", "diff", DREAM, "--html", "-", "--json")
    assert r.exit_code == 2, r.output
    assert r.stdout == ""
    assert r.stderr == "error: --json and --html - both want stdout; use one\n"


def test_each_alone_still_works(ws: Workspace, tmp_path: Path) -> None:
    review_workspace(ws)
    assert cli(ws, "playbooks", "diff", DREAM, "--json").stdout.startswith("{")
    r = cli(ws, "playbooks", "diff", DREAM, "--html", str(tmp_path / "p.html"))
    assert r.exit_code == 0 and (tmp_path / "p.html").read_text().startswith("<!DOCTYPE html>")


def test_sessions_show_html_with_json_is_refused_the_same_way(ws: Workspace, tmp_path: Path) -> None:
    review_workspace(ws)
    sid = next(iter(iter_session_files(ws))).stem
    r = cli(ws, "sessions", "show", sid, "--html", "-", "--json")
    assert r.exit_code == 2 and r.stdout == "" and r.stderr == "error: --json and --html - both want stdout; use one\n"
    r = cli(ws, "sessions", "show", sid, "--html", str(tmp_path / "t.html"), "--json")
    assert r.exit_code == 2 and r.stderr.count("\n") == 1 and not (tmp_path / "t.html").exists()
